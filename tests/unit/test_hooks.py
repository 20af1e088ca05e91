"""The webhook endpoint hears only channels it opened, with their tokens."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kalends.server.hooks import HOOKS, HookRouter, google_hook, graph_hook


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


async def _graph(router: HookRouter, posts: list[tuple[str, object]]) -> list[tuple[int, str]]:
    app = web.Application()
    app[HOOKS] = router
    app.router.add_post("/.kalends/hooks/graph", graph_hook)
    async with TestClient(TestServer(app)) as client:
        answers = []
        for query, body in posts:
            response = await client.post(f"/.kalends/hooks/graph{query}", json=body)
            answers.append((response.status, await response.text()))
        return answers


def _change(subscription: str, state: str) -> dict[str, object]:
    return {"subscriptionId": subscription, "clientState": state, "changeType": "updated",
            "resource": "Users/0b1c/Events/AAMk", "resourceData": {"id": "AAMk"}}  # fmt: skip


def test_graph_validation_changes_and_lifecycle_reach_the_right_hands() -> None:
    router, woken, renewed = HookRouter(), [], []
    router.register("graph", "sub-1", "state-1", lambda: woken.append(1))
    router.register("graph-renew", "sub-1", "state-1", lambda: renewed.append(1))
    missed = {"subscriptionId": "sub-1", "clientState": "state-1", "lifecycleEvent": "missed"}
    reauthorize = dict(missed, lifecycleEvent="reauthorizationRequired")
    answers = asyncio.run(_graph(router, [
        ("?validationToken=Validation%3A%20Testing%20client%20application", None),
        ("", {"value": [_change("sub-1", "state-1"), _change("sub-1", "state-1")]}),
        ("", {"value": [missed]}),
        ("", {"value": [reauthorize]}),
    ]))  # fmt: skip
    assert answers[0] == (200, "Validation: Testing client application")
    assert [status for status, _ in answers[1:]] == [202, 202, 202]
    assert len(woken) == 3 and len(renewed) == 1  # a burst of two wakes it twice: harmless


def test_forged_graph_notifications_change_nothing() -> None:
    router, woken = HookRouter(), []
    router.register("graph", "sub-1", "state-1", lambda: woken.append(1))
    answers = asyncio.run(_graph(router, [
        ("", {"value": [_change("sub-1", "guessed")]}),
        ("", {"value": [_change("sub-2", "state-1")]}),
        ("", {"not": "a notification"}),
    ]))  # fmt: skip
    assert [status for status, _ in answers] == [404, 404, 400]
    assert woken == []
