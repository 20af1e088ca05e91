"""The webhook endpoint hears only channels it opened, with their tokens."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kalends.server.hooks import HOOKS, HookRouter, google_hook


def _headers(channel: str, token: str, state: str = "exists") -> dict[str, str]:
    return {
        "X-Goog-Channel-ID": channel,
        "X-Goog-Channel-Token": token,
        "X-Goog-Resource-State": state,
        "X-Goog-Resource-ID": "resource-1",
        "X-Goog-Message-Number": "2",
    }


async def _exchange(router: HookRouter, requests: list[dict[str, str]]) -> list[int]:
    app = web.Application()
    app[HOOKS] = router
    app.router.add_post("/.kalends/hooks/google", google_hook)
    async with TestClient(TestServer(app)) as client:
        statuses = []
        for headers in requests:
            response = await client.post("/.kalends/hooks/google", headers=headers)
            statuses.append(response.status)
        return statuses


def test_a_notification_wakes_its_source_and_nothing_else() -> None:
    router, woken = HookRouter(), []
    router.register("google", "chan-1", "secret-1", lambda: woken.append("one"))
    router.register("google", "chan-2", "secret-2", lambda: woken.append("two"))
    statuses = asyncio.run(_exchange(router, [_headers("chan-1", "secret-1")]))
    assert statuses == [200]
    assert woken == ["one"]


def test_forged_and_stale_notifications_change_nothing() -> None:
    router, woken = HookRouter(), []
    unregister = router.register("google", "chan-1", "secret-1", lambda: woken.append("one"))
    forged = [
        _headers("chan-1", "guessed"),  # right channel, wrong token
        _headers("chan-9", "secret-1"),  # a channel this server never opened
        {"X-Goog-Resource-State": "exists"},  # no channel at all
    ]
    statuses = asyncio.run(_exchange(router, forged))
    assert statuses == [404, 404, 400]
    unregister()  # stopped: a late delivery is refused too
    assert asyncio.run(_exchange(router, [_headers("chan-1", "secret-1")])) == [404]
    assert woken == []


def test_the_sync_greeting_is_answered_without_a_pull() -> None:
    router, woken = HookRouter(), []
    router.register("google", "chan-1", "secret-1", lambda: woken.append("one"))
    greeting = _headers("chan-1", "secret-1", state="sync")
    assert asyncio.run(_exchange(router, [greeting])) == [200]
    assert woken == []
