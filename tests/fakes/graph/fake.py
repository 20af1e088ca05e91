"""``GraphFake``: Graph and its identity provider on 127.0.0.1 over TLS, in a thread of their
own, and the test's handle on them.

The control API acts as the Outlook user (Outlook on the web, a phone) through the same store
code as the HTTP API, so every change it makes is seen by listings and delta and fires change
notifications. Results are deep copies: a test may change them freely.
"""

from __future__ import annotations

import ssl
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes.common import Clock, FakeServer, Switch
from tests.fakes.graph.batch import Batch
from tests.fakes.graph.bodies import detach
from tests.fakes.graph.faults import Faults
from tests.fakes.graph.idp import IdentityProvider
from tests.fakes.graph.render import View, full, occurrence
from tests.fakes.graph.server import GRAPH_PREFIX, Api, RequestLog, build_app
from tests.fakes.graph.store import Owner, Store
from tests.fakes.graph.subscriptions import Delivery, Subscription, Subscriptions
from tests.fakes.graph.tls import shared_authority
from tests.fakes.graph.zones import parse_window

__all__ = ["Clock", "GraphFake"]


class GraphFake(FakeServer[Delivery]):
    label = "Graph"
    scheme = "https"

    auto_approve = Switch[bool]("auto_approve")
    slow_down = Switch[bool]("slow_down")
    invalid_grant = Switch[bool]("invalid_grant")
    single_use_refresh_tokens = Switch[bool]("single_use_refresh_tokens")
    empty_pages = Switch[bool]("empty_pages")
    replays = Switch[bool]("replays")
    removed_noise = Switch[bool]("removed_noise")
    custom_time_zones = Switch[bool]("custom_time_zones")
    concurrency_limit = Switch["int | None"]("concurrency_limit")
    omit_retry_after = Switch[bool]("omit_retry_after")
    response_delay = Switch[float]("response_delay")
    error_rate = Switch[float]("error_rate")
    notification_delay = Switch[float]("notification_delay")
    duplicate_notifications = Switch[bool]("duplicate_notifications")
    notification_burst = Switch[int]("notification_burst")
    drop_notifications = Switch[bool]("drop_notifications")

    def __init__(
        self,
        *,
        tenant: str = "common",
        user_name: str = "Fake User",
        user_address: str = "fake.user@example.com",
        seed: int = 20260301,
    ) -> None:
        super().__init__()
        self.faults = Faults(seed)
        self.tenant = tenant
        owner = Owner(user_name, user_address, str(uuid.uuid4()), str(uuid.uuid4()))
        self.store = Store(self.clock, owner, self.faults)
        self.idp = IdentityProvider(self.clock, owner, self.faults)
        self.hub = Subscriptions(self.clock, self.store, self.faults)
        self.store.listeners.append(self.hub.changed)
        self.requests: RequestLog = []
        self._tls = shared_authority()
        self._api = Api(self.store, self.idp, self.hub, self.faults, self.requests)

    def _application(self) -> tuple[web.Application, Batch]:
        self._batch = Batch(self._tls)
        return build_app(self._api, self.idp, self._batch.handle), self._batch

    def _server_tls(self) -> ssl.SSLContext:
        return self._tls.server_context()

    def _listening(self) -> None:
        self._api.graph_url = self._batch.graph_url = self.graph_url
        self.idp.base_url = self.base_url

    # -- addresses ---------------------------------------------------------------------------

    @property
    def graph_url(self) -> str:
        return self.base_url + GRAPH_PREFIX

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant}"

    @property
    def token_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def ca_path(self) -> str:
        """The test CA's certificate (PEM): pass it as ``verify=`` to msal and httpx."""
        return self._tls.ca_path

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting the fake (httpx deprecates ``verify=<path>``)."""
        return self._tls.client_context()

    @property
    def tenant_id(self) -> str:
        return self.store.owner.tid

    @property
    def user_id(self) -> str:
        return self.store.owner.oid

    @property
    def user_address(self) -> str:
        return self.store.owner.address

    # -- sign-in -----------------------------------------------------------------------------

    @property
    def user_token(self) -> str:
        """An access token of the user that never expires, with Calendars.ReadWrite."""
        return self.idp.tokens.user_token

    def approve_device_code(self, user_code: str) -> None:
        self.idp.settle(user_code, "approved")

    def deny_device_code(self, user_code: str) -> None:
        self.idp.settle(user_code, "declined")

    def expire_device_codes(self) -> None:
        self.idp.expire_device_codes()

    def expire_access_tokens(self) -> None:
        self.idp.tokens.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        self.idp.tokens.revoke_refresh_tokens()

    @property
    def access_token_lifetime(self) -> int:
        return self.idp.tokens.access_token_lifetime

    @access_token_lifetime.setter
    def access_token_lifetime(self, seconds: int) -> None:
        self.idp.tokens.access_token_lifetime = seconds

    @property
    def device_code_interval(self) -> int:
        return self.idp.device_code_interval

    @device_code_interval.setter
    def device_code_interval(self, seconds: int) -> None:
        self.idp.device_code_interval = seconds

    # -- faults ------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        code: str | None = None,
        retry_after: float | None = None,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        self.faults.fail_next(status, code, retry_after, count, method, path_contains)

    def lose_next_reply(
        self,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        status: int = 504,
    ) -> None:
        self.faults.lose_next_reply(count, method, path_contains, status)

    def rate_limit(self, limit: int | None = None, per_seconds: float = 600.0) -> None:
        self.faults.rate_limit(limit, per_seconds)

    def expire_delta_tokens(self, cid: str | None = None, mode: str = "gone") -> None:
        """Old delta and skip tokens fail: ``gone`` (410 + Location) or ``not_found`` (400);
        both carry code SyncStateNotFound."""
        self.store.expire_delta_tokens(cid, mode)

    # -- the Outlook user --------------------------------------------------------------------

    @property
    def default_calendar_id(self) -> str:
        return self.store.default_calendar_id

    def add_calendar(self, name: str, *, can_edit: bool = True) -> str:
        return self.store.add_calendar(name, can_edit=can_edit)

    def _view(self, immutable: bool = False) -> View:
        return View(
            self.store.ids,
            self.store.owner.email_address(),
            immutable=immutable,
            expand=("*",),
            custom_zones=self.faults.custom_time_zones,
        )

    def _show(self, eid: str) -> dict[str, Any]:
        with self.store.lock:
            record, original = self.store.locate(eid)
            view = self._view(eid == record.iid)
            made = full(record, view) if original is None else occurrence(record, original, view)
            return dict(detach(made))

    def create(
        self, cid: str, body: dict[str, Any], *, custom_zone: bool = False
    ) -> dict[str, Any]:
        """A new event (``custom_zone``: as if desktop Outlook had set a legacy custom zone)."""
        record, _ = self.store.create(cid, detach(body), custom_zone=custom_zone)
        return self._show(record.rid)

    def update(self, eid: str, body: dict[str, Any]) -> dict[str, Any]:
        self.store.update(eid, detach(body))
        return self._show(eid)

    def delete(self, eid: str) -> None:
        self.store.delete(eid)

    def move(self, eid: str, cid: str) -> dict[str, Any]:
        """The user moves an event to another calendar (its REST id changes)."""
        return self._show(self.store.move(eid, cid).rid)

    def get(self, eid: str) -> dict[str, Any]:
        """The event as Graph would answer it, with all its singleValueExtendedProperties."""
        return self._show(eid)

    def events(self, cid: str) -> list[dict[str, Any]]:
        """The stored events: singles, series masters and their exceptions, oldest first."""
        view = self._view()
        found: list[dict[str, Any]] = []
        with self.store.lock:
            for record in self.store.live(cid):
                found.append(full(record, view))
                found.extend(occurrence(record, o, view) for o in sorted(record.exceptions))
            return list(detach(found))

    def instances(
        self, eid: str, start: datetime | str, end: datetime | str
    ) -> list[dict[str, Any]]:
        """The occurrences and exceptions of a series that overlap ``[start, end)``."""
        low = parse_window(start if isinstance(start, str) else start.isoformat(), "start")
        high = parse_window(end if isinstance(end, str) else end.isoformat(), "end")
        view = self._view()
        with self.store.lock:
            record, _ = self.store.locate(eid)
            if record.series is None:
                return [dict(detach(full(record, view)))] if record.visible(low, high) else []
            return list(detach([occurrence(record, o, view) for o in record.originals(low, high)]))

    # -- what happened -----------------------------------------------------------------------

    @property
    def subscriptions(self) -> list[Subscription]:
        """The live, unexpired subscriptions."""
        return self.hub.active()

    def lifecycle(self, sid: str, event: str) -> None:
        """POST a lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved``,
        ``missed``) to the subscription's lifecycleNotificationUrl."""
        self.hub.lifecycle(sid, event)
