"""``GoogleFake``: the server on 127.0.0.1 in its own thread, and the test's handle on it.

The control API acts as the Google user (the web UI or a phone) through the same store code as
the HTTP API, so every change it makes is seen by listings and fires push notifications.
Results are deep copies: a test may change them freely.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.common import Clock, FakeServer, Switch
from tests.fakes.google.batch import Batch
from tests.fakes.google.channels import Channel, Channels, Delivery
from tests.fakes.google.faults import Faults
from tests.fakes.google.oauth import OAuth
from tests.fakes.google.resources import detach
from tests.fakes.google.server import API_PREFIX, BATCH_PATH, Api, RequestLog, build_app
from tests.fakes.google.store import Store

__all__ = ["Clock", "GoogleFake"]


class GoogleFake(FakeServer[Delivery]):
    label = "Google"

    short_pages = Switch[bool]("short_pages")
    invalid_grant = Switch[bool]("invalid_grant")
    deny_consent = Switch[bool]("deny_consent")
    notification_delay = Switch[float]("notification_delay")
    duplicate_notifications = Switch[bool]("duplicate_notifications")
    late_notification_after_stop = Switch[bool]("late_notification_after_stop")
    drop_notifications = Switch[bool]("drop_notifications")

    def __init__(self, *, user_email: str = "fake.user@example.com", seed: int = 20260301):
        super().__init__()
        self.faults = Faults(seed)
        self.store = Store(self.clock, user_email, self.faults)
        self.oauth = OAuth(self.clock, self.faults)
        self.hub = Channels(self.clock, self.faults)
        self.store.listeners.append(self.hub.changed)
        self.requests: RequestLog = []
        self._api = Api(self.store, self.oauth, self.hub, self.faults, self.requests)

    def _application(self) -> tuple[web.Application, Batch]:
        self._batch = Batch(self._api)
        return build_app(self._api, self.oauth, self._batch.handle), self._batch

    def _listening(self) -> None:
        self._api.api_url = self.api_url
        self._batch.base_url = self.base_url

    # -- addresses ---------------------------------------------------------------------------

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

    # -- the Google user ---------------------------------------------------------------------

    @property
    def user_email(self) -> str:
        return self.store.user_email

    def add_calendar(
        self, cid: str, summary: str, time_zone: str = "UTC", *, access_role: str = "owner"
    ) -> None:
        self.store.add_calendar(cid, summary, time_zone, access_role=access_role)

    def rename_calendar(self, cid: str, summary: str) -> None:
        self.store.rename_calendar(cid, summary)

    def remove_calendar(self, cid: str) -> None:
        """The calendar leaves the account (deleted, or unsubscribed from)."""
        self.store.remove_calendar(cid)

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
