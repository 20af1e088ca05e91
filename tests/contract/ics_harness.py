"""The ICS feed bridge under the contract suite, and the real feed server it polls.

``FeedServer`` is an aiohttp server on 127.0.0.1 (ephemeral port, own thread and event loop)
that publishes one feed with ETag and Last-Modified, answers conditional GETs with 304, counts
what it was asked, and misbehaves on demand (any status, redirects, an endless body, a slow
drip). ``IcsHarness`` edits the published feed the way the feed's owner would.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from aiohttp import web

from kalends.bridges.base import Bridge
from kalends.bridges.ics import IcsFeedBridge
from kalends.bridges.ics.feed import parse_feed, uid_key
from kalends.ical import Component, parse, serialize, uid_of

FEED_PATH = "/feed.ics"
ENDLESS_CHUNK = 64 * 1024
ENDLESS_LIMIT = 64 * 1024 * 1024  # a safety stop; the client is expected to hang up far sooner


@dataclass
class Reply:
    """A canned answer that replaces the feed (a fault)."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Published:
    body: bytes
    etag: str
    modified: int  # epoch seconds (Last-Modified has a resolution of one second)


class FeedServer:
    """One published feed on a real socket."""

    def __init__(self) -> None:
        self.content_type = "text/calendar; charset=utf-8"
        self.send_etag = True
        self.send_last_modified = True
        self.fault: Reply | None = None
        self.basic_auth: tuple[str, str] | None = None  # required credentials, if any
        self.requests: list[dict[str, str]] = []  # headers of every request, in order
        self.not_modified = 0
        self.endless_sent = 0
        self._published = _Published(b"", '"empty"', int(time.time()))
        self._port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    # -- the feed's owner --------------------------------------------------------------------

    def publish(self, text: str) -> None:
        """Serve ``text`` from now on, with a new ETag and a later Last-Modified."""
        body = text.encode("utf-8")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = max(int(time.time()), self._published.modified + 1)
        self._published = _Published(body, etag, modified)

    def url(self, path: str = FEED_PATH, userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self._port}{path}"

    @property
    def conditional_requests(self) -> int:
        return sum(1 for h in self.requests if "If-None-Match" in h or "If-Modified-Since" in h)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FeedServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the feed server did not start")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_get(FEED_PATH, self._feed)
        app.router.add_get("/redirect/{hops}", self._redirect_chain)
        app.router.add_get("/redirect-to", self._redirect_to)
        app.router.add_get("/endless", self._endless)
        app.router.add_get("/slow", self._slow)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._port = runner.addresses[0][1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    # -- handlers ----------------------------------------------------------------------------

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        if self.basic_auth is not None and not self._authorized(request):
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="feed"'})
        if self.fault is not None:
            fault = self.fault
            return web.Response(status=fault.status, body=fault.body, headers=dict(fault.headers))
        published = self._published
        headers = self._validators(published)
        if self._unchanged(request, published):
            self.not_modified += 1
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = self.content_type
        return web.Response(body=published.body, headers=headers)

    def _authorized(self, request: web.Request) -> bool:
        assert self.basic_auth is not None
        token = base64.b64encode(":".join(self.basic_auth).encode()).decode()
        return request.headers.get("Authorization") == f"Basic {token}"

    def _validators(self, published: _Published) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.send_etag:
            headers["ETag"] = published.etag
        if self.send_last_modified:
            headers["Last-Modified"] = email.utils.formatdate(published.modified, usegmt=True)
        return headers

    def _unchanged(self, request: web.Request, published: _Published) -> bool:
        """RFC 9110 13.2.2: If-None-Match decides when present, else If-Modified-Since."""
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return self.send_etag and published.etag in tags
        since = request.headers.get("If-Modified-Since")
        if since is None or not self.send_last_modified:
            return False
        try:
            return published.modified <= email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False

    async def _redirect_chain(self, request: web.Request) -> web.StreamResponse:
        hops = int(request.match_info["hops"])
        target = FEED_PATH if hops <= 1 else f"/redirect/{hops - 1}"
        raise web.HTTPFound(target)

    async def _redirect_to(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": request.query["location"]})

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        await response.prepare(request)
        chunk = b"BEGIN:VCALENDAR\r\n" + b"X-PAD:" + b"x" * (ENDLESS_CHUNK - 25) + b"\r\n"
        try:
            while self.endless_sent < ENDLESS_LIMIT:
                await response.write(chunk)
                self.endless_sent += len(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, as it should
        return response

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        await response.prepare(request)
        try:
            for _ in range(50):  # a byte every 0.2 s: each read is quick, the whole is not
                await response.write(b" ")
                await asyncio.sleep(0.2)
        except (ConnectionError, RuntimeError):
            pass
        return response


# -- the contract harness ----------------------------------------------------------------------


def feed_text(events: Mapping[str, tuple[Component, ...]]) -> str:
    """A feed holding the components of each UID (its VTIMEZONEs once, then the VEVENTs)."""
    zones: dict[str, Component] = {}
    vevents: list[Component] = []
    for components in events.values():
        for component in components:
            if component.name == "VTIMEZONE":
                zones.setdefault(component.first("TZID") or "", component)
            else:
                vevents.append(component)
    head = ("VERSION:2.0", "PRODID:-//Kalends//feed server//EN", "METHOD:PUBLISH")
    return serialize(Component("VCALENDAR", head, (*zones.values(), *vevents)))


class IcsHarness:
    """The feed's owner editing the published file; the bridge polls it."""

    writable = False

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.bridge: Bridge = IcsFeedBridge(server.url())
        self._events: dict[str, tuple[Component, ...]] = {}
        self._ids: dict[str, str] = {}  # uid_key(uid) -> remote id, as the bridge assigns them
        self._uids: dict[str, str] = {}  # remote id -> uid
        self._publish()

    def add(self, ical: str) -> str:
        uid = uid_of(ical)
        self._events[uid] = parse(ical).children
        self._publish()
        return self._ids[uid_key(uid)]

    def edit(self, remote_id: str, ical: str) -> None:
        self._events[self._uids[remote_id]] = parse(ical).children
        self._publish()

    def remove(self, remote_id: str) -> None:
        del self._events[self._uids[remote_id]]
        self._publish()

    def _publish(self) -> None:
        text = feed_text(self._events)
        self.server.publish(text)
        objects = parse_feed(text, self._ids).objects
        self._ids.update({uid_key(o.uid): o.remote_id for o in objects})
        self._uids = {o.remote_id: o.uid for o in objects}


@contextmanager
def ics_harness(_tmp_path: Path) -> Iterator[IcsHarness]:
    with FeedServer() as server:
        harness = IcsHarness(server)
        try:
            yield harness
        finally:
            asyncio.run(harness.bridge.aclose())
