"""The HTTP face of the fake: aiohttp routes for Graph (``/v1.0/...``) and the identity provider
(``/{tenant}/...``), translating requests to the store and back.

Every request is logged; Graph requests then pass the fault switches, the per-mailbox
concurrency limit (4 in flight), the rate limiter and the bearer-token check before a handler
runs, and any ``GraphError`` becomes Graph's JSON error with ``request-id`` headers. A lost reply
(``lose_next_reply``) runs the handler and answers 504 anyway.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.fakes.graph import delta, listing
from tests.fakes.graph.errors import GraphError, canned
from tests.fakes.graph.faults import Faults
from tests.fakes.graph.idp import IdentityProvider
from tests.fakes.graph.listing import Link
from tests.fakes.graph.model import Calendar, Record
from tests.fakes.graph.odata import Prefer, parse_expand, parse_prefer, parse_select
from tests.fakes.graph.render import View, full, occurrence, select
from tests.fakes.graph.store import Store
from tests.fakes.graph.subscriptions import Subscriptions

__all__ = ["GRAPH_PREFIX", "Api", "RequestLog", "build_app"]

GRAPH_PREFIX = "/v1.0"
RequestLog = list[tuple[str, str, dict[str, str]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON_TYPE = (
    "application/json; odata.metadata=minimal; odata.streaming=true; "
    "IEEE754Compatible=false; charset=utf-8"
)


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, headers={"Content-Type": JSON_TYPE, **(headers or {})}
    )


class Api:
    def __init__(
        self,
        store: Store,
        idp: IdentityProvider,
        subs: Subscriptions,
        faults: Faults,
        log: RequestLog,
    ) -> None:
        self.store, self.idp, self.subs, self.faults, self.log = store, idp, subs, faults, log
        self.graph_url = ""  # set once the port is known

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.log.append((request.method, request.path, dict(request.query)))
        if not request.path.startswith(GRAPH_PREFIX + "/"):
            return await handler(request)
        request_id = str(uuid.uuid4())
        client_id = request.headers.get("client-request-id")
        ids = {"request-id": request_id, "client-request-id": client_id or request_id}
        response = await self._guarded(request, handler)
        if isinstance(response, GraphError):
            response = json_answer(
                response.body(request_id, client_id), response.status, response.headers
            )
        response.headers.update(ids)
        return response

    async def _guarded(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse | GraphError:
        rule = self.faults.take(request.method, request.path_qs)
        if rule is not None and rule.kind == "fail":
            return canned(rule.status, rule.detail, rule.retry_after)
        counted = request.path != GRAPH_PREFIX + "/$batch"
        if counted and not self.faults.enter():
            return GraphError.throttled(
                "Application is over its MailboxConcurrency limit.",
                self.faults.throttle_retry_after(),
            )
        try:
            if self.faults.unlucky():
                return canned(503)
            if self.faults.over_rate():
                error = canned(429, retry_after=self.faults.throttle_retry_after())
                error.code = "ApplicationThrottled"
                return error
            if self.faults.response_delay > 0:
                await asyncio.sleep(self.faults.response_delay)
            response: web.StreamResponse | GraphError = await handler(request)
        except GraphError as error:
            response = error
        finally:
            if counted:
                self.faults.leave()
        return canned(rule.status) if rule is not None else response

    # -- helpers -----------------------------------------------------------------------------

    def _auth(self, request: web.Request, *, write: bool = False) -> str | None:
        access = self.idp.tokens.check(request.headers.get("Authorization"), write)
        user = request.match_info.get("user")
        owner = self.store.owner
        if user is not None and user.lower() not in (owner.oid.lower(), owner.address.lower()):
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        return access.client_id

    @staticmethod
    async def _body(request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise GraphError.invalid_body(
                "Invalid JSON. A token was not recognized in the JSON content."
            ) from None

    def _prefer(self, request: web.Request) -> Prefer:
        return parse_prefer(request.headers.getall("Prefer", []))

    def _view(self, request: web.Request, prefer: Prefer) -> View:
        return View(
            self.store.ids,
            self.store.owner.email_address(),
            prefer.where,
            prefer.zone_label,
            prefer.immutable,
            prefer.text_body,
            parse_expand(request.query),
            self.faults.custom_time_zones,
        )

    def _calendar(self, request: web.Request) -> Calendar:
        cid = request.match_info.get("cid")
        return self.store.calendar(cid if cid is not None else self.store.default_calendar_id)

    def _link(self, request: web.Request) -> Link:
        return Link(self.graph_url, request.path.removeprefix(GRAPH_PREFIX), request.query)

    def _answer(
        self, body: Any, prefer: Prefer, status: int = 200, extra: list[str] | None = None
    ) -> web.Response:
        applied = [*prefer.applied, *(extra or [])]
        headers = {"Preference-Applied": ", ".join(applied)} if applied else {}
        return json_answer(body, status, headers)

    def _event(self, request: web.Request) -> tuple[Record, Any]:
        record, original = self.store.locate(request.match_info["eid"])
        cid = request.match_info.get("cid")
        if cid is not None and record.calendar_id != self._calendar(request).id:
            raise GraphError.item_not_found()
        return record, original

    def _render(self, record: Record, original: Any, view: View, context: str) -> dict[str, Any]:
        event = full(record, view) if original is None else occurrence(record, original, view)
        return {
            "@odata.context": f"{self.graph_url}/$metadata#users('{self.store.owner.oid}')"
            f"/{context}/$entity",
            **event,
        }

    # -- the user and calendars --------------------------------------------------------------

    async def me(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        owner = self.store.owner
        return json_answer(
            {
                "@odata.context": f"{self.graph_url}/$metadata#users/$entity",
                "id": owner.oid,
                "displayName": owner.name,
                "mail": owner.address,
                "userPrincipalName": owner.address,
            }
        )

    async def calendars(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        context = f"{self.graph_url}/$metadata#users('{self.store.owner.oid}')/calendars"
        return json_answer({"@odata.context": context, "value": self.store.calendar_list()})

    async def calendar(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        with self.store.lock:
            cal = self._calendar(request)
            owner = self.store.owner
            return json_answer(cal.resource(owner.name, owner.address))

    # -- events ------------------------------------------------------------------------------

    async def list_events(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        prefer = self._prefer(request)
        view = self._view(request, prefer)
        with self.store.lock:
            page = listing.list_events(
                self.store,
                self._calendar(request),
                request.query,
                prefer,
                view,
                self._link(request),
            )
        return self._answer(page, prefer)

    async def create(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, write=True)
        prefer = self._prefer(request)
        body = await self._body(request)
        record, _ = self.store.create(self._calendar(request).id, body)
        with self.store.lock:
            event = self._render(record, None, self._view(request, prefer), "events")
        return self._answer(event, prefer, 201)

    async def get_event(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        prefer = self._prefer(request)
        view = self._view(request, prefer)
        names = parse_select(request.query)
        with self.store.lock:
            record, original = self._event(request)
            event = self._render(record, original, view, "events")
        return self._answer(select(event, names) if names else event, prefer)

    async def update(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, write=True)
        prefer = self._prefer(request)
        body = await self._body(request)
        with self.store.lock:
            self._event(request)
        record, original = self.store.update(
            request.match_info["eid"], body, request.headers.get("If-Match")
        )
        with self.store.lock:
            event = self._render(record, original, self._view(request, prefer), "events")
        return self._answer(event, prefer)

    async def delete(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, write=True)
        with self.store.lock:
            self._event(request)
        self.store.delete(request.match_info["eid"], request.headers.get("If-Match"))
        return web.Response(status=204)

    async def instances(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        prefer = self._prefer(request)
        view = self._view(request, prefer)
        with self.store.lock:
            self._event(request)
            page = listing.instances(
                self.store,
                request.match_info["eid"],
                request.query,
                prefer,
                view,
                self._link(request),
            )
        return self._answer(page, prefer)

    async def calendar_view(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        prefer = self._prefer(request)
        view = self._view(request, prefer)
        with self.store.lock:
            page = listing.calendar_view(
                self.store,
                self._calendar(request),
                request.query,
                prefer,
                view,
                self._link(request),
            )
        return self._answer(page, prefer)

    async def delta(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        prefer = self._prefer(request)
        view = self._view(request, prefer)
        with self.store.lock:
            page = delta.delta(
                self.store,
                self._calendar(request),
                request.query,
                prefer,
                view,
                self._link(request),
            )
        return self._answer(page, prefer, extra=["odata.track-changes"])

    # -- subscriptions -----------------------------------------------------------------------

    def _subscription(self, body: dict[str, Any], status: int = 200) -> web.Response:
        context = f"{self.graph_url}/$metadata#subscriptions/$entity"
        return json_answer({"@odata.context": context, **body}, status)

    async def subscribe(self, request: web.Request) -> web.StreamResponse:
        client_id = self._auth(request)
        prefer = self._prefer(request)
        made = await self.subs.create(await self._body(request), client_id, prefer.immutable)
        return self._subscription(made, 201)

    async def subscriptions(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        found = [s.resource_body(self.store.owner.oid) for s in self.subs.active()]
        context = f"{self.graph_url}/$metadata#subscriptions"
        return json_answer({"@odata.context": context, "value": found})

    async def subscription(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        sid = request.match_info["sid"]
        if request.method == "DELETE":
            self.subs.delete(sid)
            return web.Response(status=204)
        if request.method == "PATCH":
            return self._subscription(self.subs.renew(sid, await self._body(request)))
        return self._subscription(self.subs.get(sid).resource_body(self.store.owner.oid))

    async def reauthorize(self, request: web.Request) -> web.StreamResponse:
        self._auth(request)
        self.subs.get(request.match_info["sid"])
        return web.Response(status=204)

    async def unknown(self, request: web.Request) -> web.StreamResponse:
        segment = request.match_info.get("tail", "").rstrip("/").split("/")[-1]
        raise GraphError.bad_request(f"Resource not found for the segment '{segment}'.")


def build_app(api: Api, idp: IdentityProvider, batch: Handler | None = None) -> web.Application:
    app = web.Application(middlewares=[api.middleware], client_max_size=8 * 1024 * 1024)
    routes = app.router
    for user in ("/me", "/users/{user}"):
        base = GRAPH_PREFIX + user
        routes.add_get(base, api.me)
        routes.add_get(base + "/calendars", api.calendars)
        for cal in ("/calendar", "/calendars/{cid}"):
            routes.add_get(base + cal, api.calendar)
        for cal in ("", "/calendar", "/calendars/{cid}"):
            routes.add_get(base + cal + "/events", api.list_events)
            routes.add_post(base + cal + "/events", api.create)
            routes.add_get(base + cal + "/events/{eid}", api.get_event)
            routes.add_patch(base + cal + "/events/{eid}", api.update)
            routes.add_delete(base + cal + "/events/{eid}", api.delete)
            routes.add_get(base + cal + "/events/{eid}/instances", api.instances)
            routes.add_get(base + cal + "/calendarView", api.calendar_view)
            routes.add_get(base + cal + "/calendarView/delta", api.delta)
    routes.add_get(GRAPH_PREFIX + "/subscriptions", api.subscriptions)
    routes.add_post(GRAPH_PREFIX + "/subscriptions", api.subscribe)
    routes.add_get(GRAPH_PREFIX + "/subscriptions/{sid}", api.subscription)
    routes.add_patch(GRAPH_PREFIX + "/subscriptions/{sid}", api.subscription)
    routes.add_delete(GRAPH_PREFIX + "/subscriptions/{sid}", api.subscription)
    routes.add_post(GRAPH_PREFIX + "/subscriptions/{sid}/reauthorize", api.reauthorize)
    if batch is not None:
        routes.add_post(GRAPH_PREFIX + "/$batch", batch)
    routes.add_route("*", GRAPH_PREFIX + "/{tail:.*}", api.unknown)
    routes.add_get("/devicelogin", idp.device_login)
    routes.add_get("/{tenant}/v2.0/.well-known/openid-configuration", idp.discovery)
    routes.add_post("/{tenant}/oauth2/v2.0/devicecode", idp.device_code)
    routes.add_post("/{tenant}/oauth2/v2.0/token", idp.token)
    return app
