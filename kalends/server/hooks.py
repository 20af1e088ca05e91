"""``/.kalends/hooks/<provider>``: where providers announce that something changed.

A notification only wakes a source's runner (which then pulls with its cursor), so the worst a
forged one could do is cause a pull; still, only a channel this server opened, carrying the
token it was opened with, is heard. Anything else is refused and changes nothing. Bursts cost
nothing extra: waking a runner that is already awake is a no-op.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

__all__ = ["HOOKS", "HookRouter", "google_hook", "graph_hook"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Route:
    token: str
    notify: Callable[[], None]


class HookRouter:
    """The channels the running sources listen on (a HookRegistry)."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], _Route] = {}
        self._lock = threading.Lock()
        self.refused = 0
        self.heard = 0

    def register(
        self, provider: str, channel_id: str, token: str, notify: Callable[[], None]
    ) -> Callable[[], None]:
        key = (provider, channel_id)
        with self._lock:
            self._routes[key] = _Route(token, notify)

        def unregister() -> None:
            with self._lock:
                self._routes.pop(key, None)

        return unregister

    def _route(self, provider: str, channel_id: str, token: str) -> _Route | None:
        with self._lock:
            route = self._routes.get((provider, channel_id))
        if route is None or not hmac.compare_digest(route.token.encode(), token.encode()):
            self.refused += 1
            return None
        return route

    def knows(self, provider: str, channel_id: str, token: str) -> bool:
        return self._route(provider, channel_id, token) is not None

    def deliver(self, provider: str, channel_id: str, token: str) -> bool:
        """Wake the channel's source; False (and nothing happens) for an unknown channel or a
        wrong token."""
        route = self._route(provider, channel_id, token)
        if route is None:
            return False
        self.heard += 1
        route.notify()
        return True


HOOKS = web.AppKey("hooks", HookRouter)


async def google_hook(request: web.Request) -> web.Response:
    """A Google channel notification: headers only, the body is empty."""
    router = request.app[HOOKS]
    channel = request.headers.get("X-Goog-Channel-ID", "")
    token = request.headers.get("X-Goog-Channel-Token", "")
    state = request.headers.get("X-Goog-Resource-State", "")
    if not channel:
        return web.Response(status=400, text="X-Goog-Channel-ID is missing\n")
    if state == "sync":  # the greeting of a new channel: nothing changed yet
        heard = router.knows("google", channel, token)
    else:
        heard = router.deliver("google", channel, token)
    if not heard:
        logger.info("refused a Google notification for unknown channel %s", channel[:64])
        return web.Response(status=404, text="unknown channel\n")
    return web.Response(status=200)


MAX_GRAPH_BODY = 256 * 1024


async def graph_hook(request: web.Request) -> web.Response:
    """Microsoft Graph change and lifecycle notifications.

    A new subscription is first validated: Graph sends ``?validationToken=...`` and wants it
    back as plain text within ten seconds. Each notification names its subscription and carries
    the clientState the subscription was made with; one that does not match is dropped. Graph
    retries any answer but 2xx, so a batch with some foreign entries still gets 202.
    """
    token = request.query.get("validationToken")
    if token is not None:
        return web.Response(text=token[:1024], content_type="text/plain")
    if request.content_length is not None and request.content_length > MAX_GRAPH_BODY:
        return web.Response(status=413, text="notification too large\n")
    try:
        body = await request.json()
        entries = body["value"]
        assert isinstance(entries, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        return web.Response(status=400, text="expected a Graph notification collection\n")
    router, heard = request.app[HOOKS], 0
    for entry in entries:
        if isinstance(entry, dict) and _graph_entry(router, entry):
            heard += 1
    if not heard:
        logger.info("refused %d Graph notification(s) for unknown subscriptions", len(entries))
        return web.Response(status=404, text="unknown subscription\n")
    return web.Response(status=202)


def _graph_entry(router: HookRouter, entry: dict[str, object]) -> bool:
    subscription = str(entry.get("subscriptionId", ""))
    state = str(entry.get("clientState", ""))
    lifecycle = entry.get("lifecycleEvent")
    if lifecycle in ("reauthorizationRequired", "subscriptionRemoved"):
        return router.deliver("graph-renew", subscription, state)
    return router.deliver("graph", subscription, state)  # a change, or "missed": pull now
