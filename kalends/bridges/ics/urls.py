"""Feed URLs: which ones are accepted, and how they appear in messages (never with secrets).

Private feed URLs carry their secret in the URL itself: ``https://user:password@host/...`` or
``...?token=...``. The request is made with the credentials as Basic auth (so no client logs
them as part of the URL), and every message names the feed by ``masked``, and passes any text
that might quote the URL (an exception from the HTTP client) through ``scrub``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, unquote_plus, urlsplit, urlunsplit

from kalends.bridges.base import SourceOptionError

__all__ = ["FeedUrl", "feed_url"]

_SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_MASK = "***"
_MIN_SECRET = 4  # shorter fragments would mask ordinary words in messages


@dataclass(frozen=True, slots=True)
class FeedUrl:
    """A validated http(s) feed URL, split into what is requested and what is secret."""

    request_url: str  # without user info: the credentials travel as Basic auth
    username: str | None
    password: str | None
    masked: str  # for messages and logs
    secrets: tuple[str, ...]  # fragments that must never appear in a message

    def scrub(self, text: str) -> str:
        """``text`` with every secret fragment of this URL replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, _MASK)
        return text


def feed_url(value: object, option: str = "url") -> FeedUrl:
    """Parse a source's feed URL; SourceOptionError (naming ``option``) when it is not usable.

    ``webcal://`` (and ``webcals://``) mean https. The message never repeats the URL, which may
    hold a password or a token.
    """
    if not isinstance(value, str) or not value.strip():
        raise SourceOptionError(f"source option {option!r} must be a feed URL (a string)")
    if _UNSAFE.search(value.strip()):
        raise SourceOptionError(f"source option {option!r} contains spaces or control characters")
    parts = urlsplit(value.strip())
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        shown = f"a {parts.scheme}: URL" if parts.scheme else "no scheme"
        raise SourceOptionError(
            f"source option {option!r} must be an http://, https:// or webcal:// URL (got {shown})"
        )
    _check_host(parts, option)
    return _split(parts._replace(scheme=scheme, fragment=""))


def _check_host(parts: SplitResult, option: str) -> None:
    try:
        valid_port = parts.port is None or parts.port > 0
    except ValueError:  # out of range, or not a number
        valid_port = False
    if not valid_port:
        raise SourceOptionError(f"source option {option!r} has an invalid port")
    if not parts.hostname:
        raise SourceOptionError(f"source option {option!r} names no host")


def _split(parts: SplitResult) -> FeedUrl:
    netloc = parts.netloc.rpartition("@")[2]
    masked_netloc = f"{_MASK}@{netloc}" if "@" in parts.netloc else netloc
    pieces = [piece for piece in parts.query.split("&") if piece]
    masked_query = "&".join(_masked_piece(piece) for piece in pieces)
    secrets = {parts.username or "", parts.password or ""}
    secrets |= {unquote(secret) for secret in secrets}
    for piece in pieces:
        name, equals, value = piece.partition("=")
        raw = value if equals else name
        secrets |= {raw, unquote_plus(raw)}
    return FeedUrl(
        request_url=urlunsplit(parts._replace(netloc=netloc)),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        masked=urlunsplit(parts._replace(netloc=masked_netloc, query=masked_query)),
        secrets=tuple(sorted((s for s in secrets if len(s) >= _MIN_SECRET), key=len, reverse=True)),
    )


def _masked_piece(piece: str) -> str:
    """``name=***`` for a query parameter, ``***`` for a bare token."""
    name, equals, _ = piece.partition("=")
    return f"{name}={_MASK}" if equals else _MASK
