"""The HTTP face of the fake: aiohttp routes that translate requests to the store and back.

Every request is logged; API requests then pass the fault switches, the rate limiter and the
bearer-token check before a handler runs, and any ``ApiError`` becomes Google's JSON error.
A lost reply (``lose_next_reply``) runs the handler and answers 503 anyway.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.fakes.google import oauth
from tests.fakes.google.channels import Channels
from tests.fakes.google.errors import ApiError, canned
from tests.fakes.google.faults import Faults
from tests.fakes.google.oauth import OAuth
from tests.fakes.google.store import Store

__all__ = ["API_PREFIX", "BATCH_PATH", "RequestLog", "build_app"]

API_PREFIX = "/calendar/v3/"
BATCH_PATH = "/batch/calendar/v3"
RequestLog = list[tuple[str, str, dict[str, str]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON_TYPE = "application/json; charset=UTF-8"


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    text = json.dumps(body, indent=1)
    return web.Response(text=text, status=status, headers={"Content-Type": JSON_TYPE,
                                                           **(headers or {})})  # fmt: skip


def error_answer(error: ApiError) -> web.Response:
    return json_answer(error.body(), error.status, error.headers)


class Api:
    def __init__(
        self, store: Store, auth: OAuth, channels: Channels, faults: Faults, log: RequestLog
    ) -> None:
        self.store, self.auth, self.channels, self.faults, self.log = (
            store, auth, channels, faults, log,
        )  # fmt: skip
        self.api_url = ""  # set once the port is known

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.log.append((request.method, request.path, dict(request.query)))
        if not request.path.startswith((API_PREFIX, BATCH_PATH)):
            return await handler(request)
        rule = self.faults.take(request.method, request.path_qs)
        if rule is not None and rule.kind == "fail":
            return error_answer(canned(rule.status, rule.detail, rule.retry_after))
        try:
            if self.faults.over_limit():
                raise canned(403, "userRateLimitExceeded")
            response = await handler(request)
        except ApiError as error:
            response = error_answer(error)
        if rule is not None:  # applied, but the reply is lost on the way back
            return error_answer(canned(503))
        return response

    def _auth(self, request: web.Request, needed: frozenset[str]) -> None:
        self.auth.check(request.headers.get("Authorization"), needed)

    @staticmethod
    async def _body(request: web.Request) -> Any:
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError.parse_error() from None

    @staticmethod
    def _params(request: web.Request) -> dict[str, list[str]]:
        return {name: request.query.getall(name) for name in set(request.query.keys())}

    @staticmethod
    def _event_answer(request: web.Request, event: dict[str, Any]) -> web.Response:
        etag = str(event.get("etag", ""))
        if request.method == "GET" and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return json_answer(event, headers={"ETag": etag})

    # -- calendars ---------------------------------------------------------------------------

    async def calendar_list(self, request: web.Request) -> web.StreamResponse:
        """Pages of ``maxResults`` (default 100, at most 250) with an opaque nextPageToken."""
        self._auth(request, oauth.LIST_READ)
        items = self.store.calendar_list()
        try:
            limit = min(int(request.query.get("maxResults", "100")), 250)
            offset = int(request.query.get("pageToken", "cl0")[2:] or 0)
        except ValueError:
            raise ApiError.invalid(location="maxResults/pageToken") from None
        if limit < 1 or not 0 <= offset <= len(items):
            raise ApiError.invalid(location="maxResults/pageToken")
        page: dict[str, Any] = {"kind": "calendar#calendarList", "etag": '"fake-list"',
                                "items": items[offset : offset + limit]}  # fmt: skip
        if offset + limit < len(items):
            page["nextPageToken"] = f"cl{offset + limit}"
        else:
            page["nextSyncToken"] = "fake-calendar-list-sync"
        return json_answer(page)

    async def calendar_entry(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.LIST_READ)
        cid = self.store.calendar(request.match_info["cid"]).id
        entry = next(e for e in self.store.calendar_list() if e["id"] == cid)
        return json_answer(entry)

    # -- events ------------------------------------------------------------------------------

    async def list_events(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_READ)
        page = self.store.list_events(request.match_info["cid"], self._params(request))
        return json_answer(page)

    async def insert(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_WRITE)
        self.store.check_writable(request.match_info["cid"])
        body = await self._body(request)
        return json_answer(self.store.insert(request.match_info["cid"], body))

    async def import_event(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_WRITE)
        self.store.check_writable(request.match_info["cid"])
        body = await self._body(request)
        return json_answer(self.store.import_event(request.match_info["cid"], body))

    async def get(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_READ)
        info = request.match_info
        event = self.store.get(info["cid"], info["eid"], request.query.get("timeZone"))
        return self._event_answer(request, event)

    async def write(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_WRITE)
        self.store.check_writable(request.match_info["cid"])
        info, body = request.match_info, await self._body(request)
        event = self.store.update(
            info["cid"], info["eid"], body, request.headers.get("If-Match"),
            patch=request.method == "PATCH",
        )  # fmt: skip
        return self._event_answer(request, event)

    async def delete(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_WRITE)
        self.store.check_writable(request.match_info["cid"])
        info = request.match_info
        self.store.delete(info["cid"], info["eid"], request.headers.get("If-Match"))
        return web.Response(status=204)

    async def instances(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_READ)
        info = request.match_info
        page = self.store.list_instances(info["cid"], info["eid"], self._params(request))
        return json_answer(page)

    # -- channels ----------------------------------------------------------------------------

    async def watch(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_READ)
        asked = request.match_info["cid"]
        cid = self.store.calendar(asked).id
        body = await self._body(request)
        return json_answer(self.channels.open(cid, asked, self.api_url, body))

    async def stop(self, request: web.Request) -> web.StreamResponse:
        self._auth(request, oauth.EVENTS_READ)
        self.channels.stop(await self._body(request))
        return web.Response(status=204)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        raise ApiError.not_found()


def build_app(api: Api, auth: OAuth, batch: Handler | None = None) -> web.Application:
    app = web.Application(middlewares=[api.middleware], client_max_size=8 * 1024 * 1024)
    events = API_PREFIX + "calendars/{cid}/events"
    routes = app.router
    routes.add_get(API_PREFIX + "users/me/calendarList", api.calendar_list)
    routes.add_get(API_PREFIX + "users/me/calendarList/{cid}", api.calendar_entry)
    routes.add_get(events, api.list_events)
    routes.add_post(events, api.insert)
    routes.add_post(events + "/import", api.import_event)
    routes.add_post(events + "/watch", api.watch)
    routes.add_get(events + "/{eid}", api.get)
    routes.add_put(events + "/{eid}", api.write)
    routes.add_patch(events + "/{eid}", api.write)
    routes.add_delete(events + "/{eid}", api.delete)
    routes.add_get(events + "/{eid}/instances", api.instances)
    routes.add_post(API_PREFIX + "channels/stop", api.stop)
    routes.add_route("*", API_PREFIX + "{tail:.*}", api.not_found)
    routes.add_post("/token", auth.token)
    routes.add_get("/o/oauth2/auth", auth.authorize)
    routes.add_post("/revoke", auth.revoke_endpoint)
    if batch is not None:
        routes.add_post(BATCH_PATH, batch)
    return app
