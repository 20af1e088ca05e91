"""The read-only bridge over an iCalendar feed (a "subscribed calendar" URL).

Every listing is one conditional GET: 304 means nothing changed, 200 gives a complete listing of
the feed's calendar objects (see ``feed``). The cursor is a small JSON text holding the
validators of the last answer (ETag, Last-Modified), its poll hint, and the remote id each UID
had, so that ids stay put across restarts. Nothing is kept on disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

import httpx

from kalends.bridges.base import (
    BridgeError,
    Capability,
    ChangePage,
    InvalidCursor,
    NotFound,
    RemoteEvent,
    SourceOptionError,
    Unsupported,
    Watch,
)
from kalends.bridges.context import SourceContext
from kalends.bridges.ics.feed import FeedCalendar, FeedError, parse_feed, uid_key
from kalends.bridges.ics.fetch import FeedFetcher, Validators
from kalends.bridges.ics.urls import feed_url

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIMEOUT", "IcsFeedBridge", "open_bridge"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class _Cursor:
    validators: Validators = field(default_factory=Validators)
    refresh: float | None = None
    ids: Mapping[str, str] = field(default_factory=dict)  # uid_key(uid) -> remote id

    def dump(self) -> str:
        data = {
            "v": _CURSOR_VERSION,
            "etag": self.validators.etag,
            "modified": self.validators.last_modified,
            "refresh": self.refresh,
            "ids": dict(self.ids),
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def load(cls, text: str) -> _Cursor:
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidCursor("not a cursor of an ICS feed") from None
        if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
            raise InvalidCursor("not a cursor of an ICS feed (or of an older version)")
        validators = Validators(_text(data.get("etag")), _text(data.get("modified")))
        return cls(validators, _seconds(data.get("refresh")), _ids(data.get("ids")))


_DAMAGED = "a damaged ICS feed cursor"


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidCursor(_DAMAGED)


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise InvalidCursor(_DAMAGED)


def _ids(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidCursor(_DAMAGED)
    ids: dict[str, str] = {}
    for key, remote_id in value.items():
        if not (isinstance(key, str) and isinstance(remote_id, str)):
            raise InvalidCursor(_DAMAGED)
        ids[key] = remote_id
    return ids


class IcsFeedBridge:
    """A calendar published as an .ics URL: read-only, polled, no push."""

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if timeout <= 0 or max_bytes <= 0:
            raise ValueError("timeout and max_bytes must be positive")
        self._url = feed_url(url)
        self._owns_client = client is None
        self._client = client if client is not None else _new_client(timeout)
        self._fetcher = FeedFetcher(self._url, self._client, timeout, max_bytes)
        self._events: dict[str, RemoteEvent] | None = None
        self._known: Mapping[str, str] = {}
        self._poll_interval: float | None = None

    def __repr__(self) -> str:
        return f"IcsFeedBridge({self._url.masked!r})"

    @property
    def capabilities(self) -> Capability:
        return Capability.READ_ONLY

    @property
    def poll_interval(self) -> float | None:
        """Seconds between polls the last fetched calendar asked for (REFRESH-INTERVAL or
        X-PUBLISHED-TTL, clamped to 5 minutes .. 1 day); None when it said nothing."""
        return self._poll_interval

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        """One conditional GET: no changes and the same cursor when the feed answers 304 (not
        modified), else the complete listing on one page."""
        if page is not None:
            raise InvalidCursor("an ICS feed lists everything on one page")
        state = _Cursor.load(cursor) if cursor is not None else _Cursor()
        self._known = state.ids
        fetched = await self._fetcher.fetch(state.validators)
        if fetched.text is None:
            if cursor is None:
                raise BridgeError(f"{self._url.masked}: answered 304 to an unconditional GET")
            self._poll_interval = state.refresh
            return ChangePage([], None, cursor, complete=False)
        calendar = await self._read(fetched.text)
        new_state = _Cursor(fetched.validators, calendar.poll_interval, self._known)
        return ChangePage(list(self._current().values()), None, new_state.dump(), complete=True)

    async def get(self, remote_id: str) -> RemoteEvent:
        event = (await self._loaded()).get(remote_id)
        if event is None:
            raise NotFound(f"{remote_id} is not in {self._url.masked}")
        return event

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        return next((e for e in (await self._loaded()).values() if e.uid == uid), None)

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        self._refuse()

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        self._refuse()

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        self._refuse()

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        return None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # -- internals ---------------------------------------------------------------------------

    def _refuse(self) -> NoReturn:
        raise Unsupported(f"{self._url.masked} is a read-only calendar feed")

    async def _loaded(self) -> dict[str, RemoteEvent]:
        """The events of the last fetched feed, fetching it once if nothing was fetched yet."""
        if self._events is None:
            fetched = await self._fetcher.fetch(Validators())
            if fetched.text is None:
                raise BridgeError(f"{self._url.masked}: answered 304 to an unconditional GET")
            await self._read(fetched.text)
        return self._current()

    def _current(self) -> dict[str, RemoteEvent]:
        assert self._events is not None
        return self._events

    async def _read(self, text: str) -> FeedCalendar:
        """Parse the feed (in a worker thread: a large feed takes a while) and keep its events."""
        try:
            calendar = await asyncio.to_thread(parse_feed, text, self._known)
        except FeedError as error:
            raise BridgeError(f"{self._url.masked}: {error}") from None
        self._events = {
            o.remote_id: RemoteEvent(o.remote_id, o.version, o.ical, o.uid)
            for o in calendar.objects
        }
        self._known = {uid_key(o.uid): o.remote_id for o in calendar.objects}
        self._poll_interval = calendar.poll_interval
        logger.debug("%s: %d calendar objects", self._url.masked, len(self._events))
        return calendar


def _new_client(timeout: float) -> httpx.AsyncClient:
    # No kept-alive connections: polls are minutes apart, and a pooled connection would tie the
    # client to the event loop that opened it.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_keepalive_connections=0),
        follow_redirects=False,
    )


def open_bridge(options: Mapping[str, object], context: SourceContext) -> IcsFeedBridge:
    """The bridge for a source's options: ``url`` (http, https or webcal), ``timeout``
    (seconds, default 30), ``max_bytes`` (default 20 MiB). A feed keeps no state of its own
    (it all travels in the cursor), so the context is unused."""
    timeout = _positive_number(options, "timeout", DEFAULT_TIMEOUT)
    max_bytes = _positive_integer(options, "max_bytes", DEFAULT_MAX_BYTES)
    url = options.get("url")
    feed_url(url)  # SourceOptionError naming "url"
    assert isinstance(url, str)
    return IcsFeedBridge(url.strip(), timeout=timeout, max_bytes=max_bytes)


def _positive_number(options: Mapping[str, object], name: str, default: float) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceOptionError(f"source option {name!r} must be a number of seconds")
    if not (math.isfinite(value) and value > 0):
        raise SourceOptionError(f"source option {name!r} must be positive")
    return float(value)


def _positive_integer(options: Mapping[str, object], name: str, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SourceOptionError(f"source option {name!r} must be a positive whole number")
    return value
