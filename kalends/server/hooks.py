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

__all__ = ["HOOKS", "HookRouter", "google_hook"]

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
