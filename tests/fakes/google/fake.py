"""``GoogleFake``: the server on 127.0.0.1 in its own thread, and the test's handle on it.

The control API acts as the Google user (the web UI or a phone) through the same store code as
the HTTP API, so every change it makes is seen by listings and fires push notifications.
Results are deep copies: a test may change them freely.
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType
from typing import Any, Generic, TypeVar

from aiohttp import web

from tests.fakes.google.batch import Batch
from tests.fakes.google.channels import Channel, Channels, Delivery
from tests.fakes.google.faults import Faults
from tests.fakes.google.oauth import OAuth
from tests.fakes.google.resources import detach
from tests.fakes.google.server import API_PREFIX, BATCH_PATH, Api, RequestLog, build_app
from tests.fakes.google.store import Store

__all__ = ["Clock", "GoogleFake"]

T = TypeVar("T")


class Clock:
    """Wall-clock time that a test can move forward (token and channel expiry)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class _Switch(Generic[T]):
    """A fault switch of ``Faults`` shown as an attribute of the fake."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, fake: Any, owner: Any = None) -> T:
        value: T = getattr(fake.faults, self.name)
        return value

    def __set__(self, fake: Any, value: T) -> None:
        setattr(fake.faults, self.name, value)


class GoogleFake:
    short_pages = _Switch[bool]("short_pages")
    invalid_grant = _Switch[bool]("invalid_grant")
    deny_consent = _Switch[bool]("deny_consent")
    notification_delay = _Switch[float]("notification_delay")
    duplicate_notifications = _Switch[bool]("duplicate_notifications")
    late_notification_after_stop = _Switch[bool]("late_notification_after_stop")
    drop_notifications = _Switch[bool]("drop_notifications")

    def __init__(self, *, user_email: str = "fake.user@example.com", seed: int = 20260301):
        self.clock = Clock()
        self.faults = Faults(seed)
        self.store = Store(self.clock, user_email, self.faults)
        self.oauth = OAuth(self.clock, self.faults)
        self.hub = Channels(self.clock, self.faults)
        self.store.listeners.append(self.hub.changed)
        self.requests: RequestLog = []
        self._api = Api(self.store, self.oauth, self.hub, self.faults, self.requests)
        self._port = 0
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> GoogleFake:
        if self._thread is not None:
            raise RuntimeError("the Google fake runs already")
        self._thread = threading.Thread(target=self._run, name="google-fake", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._failure is not None:
            raise RuntimeError(f"the Google fake did not start: {self._failure!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> GoogleFake:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # surfaced by start()
            self._failure = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.hub.attach(self._loop)
        batch = Batch(self._api)
        runner = web.AppRunner(build_app(self._api, self.oauth, batch.handle), access_log=None,
                               shutdown_timeout=1.0)  # fmt: skip
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._port = runner.addresses[0][1]
        self._api.api_url = self.api_url
        batch.base_url = self.base_url
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await batch.close()
            await self.hub.close()
            await runner.cleanup()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def auth_url(self) -> str:
        return self.base_url + "/o/oauth2/auth"

    @property
    def revoke_url(self) -> str:
        return self.base_url + "/revoke"

    @property
    def batch_url(self) -> str:
        return self.base_url + BATCH_PATH

    # -- sign-in -----------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str | None = None) -> None:
        self.oauth.register_client(client_id, client_secret)

    def issue_refresh_token(self, client_id: str, scope: str | None = None) -> str:
        """A refresh token as if the user had consented (``scope``: space-separated)."""
        return self.oauth.issue_refresh_token(client_id, scope)

    def revoke(self, refresh_token: str) -> None:
        self.oauth.revoke(refresh_token)

    @property
    def user_token(self) -> str:
        """An access token of the Google user that never expires, with every scope."""
        return self.oauth.user_token

    @property
    def access_token_lifetime(self) -> int:
        return self.oauth.access_token_lifetime

    @access_token_lifetime.setter
    def access_token_lifetime(self, seconds: int) -> None:
        self.oauth.access_token_lifetime = seconds

    def expire_access_tokens(self) -> None:
        self.oauth.expire_access_tokens()

    # -- faults ------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        reason: str | None = None,
        retry_after: float | None = None,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        self.faults.fail_next(status, reason, retry_after, count, method, path_contains)

    def lose_next_reply(
        self, count: int = 1, method: str | None = None, path_contains: str | None = None
    ) -> None:
        self.faults.lose_next_reply(count, method, path_contains)

    def rate_limit(self, per_minute: int | None = None) -> None:
        self.faults.rate_limit(per_minute)

    def expire_sync_tokens(self, cid: str | None = None) -> None:
        self.store.expire_sync_tokens(cid)

    def compact(self, cid: str | None = None) -> None:
        self.store.compact(cid)

    def advance_time(self, seconds: float) -> None:
        """Move the fake's clock on (access tokens and channels expire by it)."""
        self.clock.offset += seconds

    # -- the Google user ---------------------------------------------------------------------

    @property
    def user_email(self) -> str:
        return self.store.user_email

    def add_calendar(self, cid: str, summary: str, time_zone: str = "UTC") -> None:
        self.store.add_calendar(cid, summary, time_zone)

    def insert(self, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(detach(self.store.insert(cid, detach(body))))

    def import_event(self, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(detach(self.store.import_event(cid, detach(body))))

    def patch(self, cid: str, eid: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(detach(self.store.update(cid, eid, detach(body), patch=True)))

    def update(self, cid: str, eid: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(detach(self.store.update(cid, eid, detach(body))))

    def delete(self, cid: str, eid: str) -> None:
        self.store.delete(cid, eid)

    def get(self, cid: str, eid: str) -> dict[str, Any]:
        return dict(detach(self.store.get(cid, eid)))

    def events(self, cid: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The stored resources (masters, single events, exceptions), oldest change first."""
        return self.store.stored(cid, include_deleted)

    def instances(self, cid: str, eid: str) -> list[dict[str, Any]]:
        return self.store.instances(cid, eid)

    # -- what happened -----------------------------------------------------------------------

    @property
    def channels(self) -> list[Channel]:
        """The open, unexpired watch channels."""
        return self.hub.active()

    @property
    def notifications_sent(self) -> int:
        return self.hub.sent

    @property
    def notifications_failed(self) -> int:
        return self.hub.failed

    @property
    def notifications_dropped(self) -> int:
        return self.hub.dropped

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.hub.deliveries)
