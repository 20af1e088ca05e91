"""One conditional GET of a feed, safe against hostile servers.

A whole fetch (redirects and body included) has one deadline, so a server dripping a byte at a
time cannot hold it forever; the body is streamed and dropped as soon as it passes
``max_bytes``; redirects are followed by hand, a few at most and only to http(s), and the URL's
credentials go only to the feed's own origin. Every failure becomes one of the bridge
exceptions, with the feed named by its masked URL.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from dataclasses import dataclass

import httpx

from kalends.bridges.base import AuthExpired, BridgeError, RateLimited, Transient
from kalends.bridges.http import retry_after_seconds
from kalends.bridges.ics.urls import FeedUrl

__all__ = ["FeedFetcher", "Fetched", "Validators"]

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CALENDAR_TYPES = frozenset(
    {"text/calendar", "application/ics", "text/x-vcalendar", "application/x-ics"}
)
# Servers that do not know the type of a .ics file: the body itself has to look like a calendar.
_GENERIC_TYPES = frozenset(
    {"", "text/plain", "application/octet-stream", "binary/octet-stream", "application/download"}
)
_ACCEPT = "text/calendar, application/ics;q=0.9, text/plain;q=0.5, */*;q=0.1"
_USER_AGENT = "Kalends (ICS feed reader)"
_MAX_REASON = 80


@dataclass(frozen=True, slots=True)
class Validators:
    """What makes the next GET conditional (from the last 200 answer)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    text: str | None  # None: not modified since ``validators`` (304)
    validators: Validators


class FeedFetcher:
    def __init__(
        self, url: FeedUrl, client: httpx.AsyncClient, timeout: float, max_bytes: int
    ) -> None:
        self._url = url
        self._client = client
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._auth = httpx.BasicAuth(url.username, url.password or "") if url.username else None
        self._origin = _origin(httpx.URL(url.request_url))

    async def fetch(self, validators: Validators) -> Fetched:
        """The feed, or ``Fetched(None, ...)`` when it did not change since ``validators``."""
        masked = self._url.masked
        try:
            async with asyncio.timeout(self._timeout):
                return await self._follow(validators)
        except (TimeoutError, httpx.TimeoutException):
            raise Transient(f"{masked}: no complete answer within {self._timeout:g} s") from None
        except httpx.TransportError as error:
            raise Transient(f"{masked}: {self._describe(error)}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise BridgeError(f"{masked}: {self._describe(error)}") from None

    def _describe(self, error: Exception) -> str:
        """The error's type and message, with the URL's secrets masked (it may quote the URL)."""
        detail = self._url.scrub(str(error))[:200]
        return f"{type(error).__name__}: {detail}" if detail else type(error).__name__

    async def _follow(self, validators: Validators) -> Fetched:
        url = httpx.URL(self._url.request_url)
        for _ in range(MAX_REDIRECTS + 1):
            request = self._client.build_request("GET", url, headers=_headers(validators))
            response = await self._send(request)
            try:
                if response.status_code in _REDIRECTS and "Location" in response.headers:
                    url = self._redirect_target(response)
                    continue
                return await self._answer(response, validators)
            finally:
                await response.aclose()
        raise BridgeError(f"{self._url.masked}: more than {MAX_REDIRECTS} redirects")

    async def _send(self, request: httpx.Request) -> httpx.Response:
        send = self._client.send
        if _origin(request.url) != self._origin:  # credentials never leave the feed's origin
            return await send(request, stream=True, follow_redirects=False, auth=None)
        if self._auth is not None:
            return await send(request, stream=True, follow_redirects=False, auth=self._auth)
        return await send(request, stream=True, follow_redirects=False)

    def _redirect_target(self, response: httpx.Response) -> httpx.URL:
        target = response.url.join(response.headers["Location"])
        if target.scheme not in ("http", "https") or not target.host:
            shown = f"a {target.scheme}: URL" if target.scheme else "an invalid URL"
            raise BridgeError(f"{self._url.masked}: redirected to {shown}, which is not followed")
        return target.copy_with(fragment=None)

    async def _answer(self, response: httpx.Response, sent: Validators) -> Fetched:
        status = response.status_code
        if status == 304:
            return Fetched(None, sent)
        if status != 200:
            raise self._status_error(response)
        media_type = _media_type(response)
        if media_type not in _CALENDAR_TYPES | _GENERIC_TYPES:
            raise BridgeError(f"{self._url.masked}: answered {media_type}, not a calendar")
        text = _decode(await self._body(response), response.charset_encoding, self._url.masked)
        if media_type in _GENERIC_TYPES and not _looks_like_calendar(text):
            raise BridgeError(
                f"{self._url.masked}: answered {media_type or 'data'}, not a calendar"
            )
        found = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
        return Fetched(text, found)

    async def _body(self, response: httpx.Response) -> bytes:
        too_large = BridgeError(
            f"{self._url.masked}: the feed is larger than {self._max_bytes} bytes"
        )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise too_large
            chunks.append(chunk)
        logger.debug("fetched %s: %d bytes", self._url.masked, size)
        return b"".join(chunks)

    def _status_error(self, response: httpx.Response) -> BridgeError:
        status = response.status_code
        phrase = self._url.scrub(response.reason_phrase)[:_MAX_REASON]
        said = f"{self._url.masked}: answered {status} {phrase}".rstrip()
        if status in (401, 403):
            return AuthExpired(f"{said}; check the credentials in the source's url")
        if status == 429 or (status == 503 and "Retry-After" in response.headers):
            return RateLimited(said, retry_after_seconds(response.headers.get("Retry-After")))
        if status >= 500:
            return Transient(said)
        if status in (404, 410):
            return BridgeError(f"{said}; the feed is gone, check the source's url")
        return BridgeError(f"{said}, not a calendar")


def _headers(validators: Validators) -> dict[str, str]:
    headers = {"Accept": _ACCEPT, "User-Agent": _USER_AGENT}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("Content-Type", "")
    return content_type.partition(";")[0].strip().lower()


def _decode(body: bytes, charset: str | None, masked: str) -> str:
    """The text in the declared charset (UTF-8 by default, as RFC 5545 says); bytes that do
    not decode become U+FFFD with a warning rather than losing the whole feed."""
    try:
        encoding: str = codecs.lookup(charset or "utf-8").name
    except LookupError:
        encoding = "utf-8"
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as error:
        logger.warning("%s: not valid %s at byte %d; replaced", masked, encoding, error.start)
        return body.decode(encoding, errors="replace")


def _looks_like_calendar(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n")[:15].upper() == "BEGIN:VCALENDAR"
