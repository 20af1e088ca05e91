"""The Google bridge against the Google fake: series, expired tokens, retries, faults, push."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kalends.bridges.base import (
    AuthExpired,
    InvalidCursor,
    PreconditionFailed,
    RateLimited,
    RemoteDeletion,
    RemoteEvent,
    Transient,
)
from kalends.bridges.context import Channel
from kalends.bridges.google import GoogleBridge
from kalends.bridges.google.push import PushSettings, open_watch
from kalends.config import load_settings
from kalends.ical import parse
from kalends.server.hooks import HookRouter
from kalends.sync.sources import Shared, stop_channels_of_removed_sources
from tests.contract.google_harness import CLIENT_ID, CLIENT_SECRET, google_bridge, new_calendar
from tests.fakes.google import GoogleFake, running_google_fake
from tests.harness import write_config

T = TypeVar("T")
ZONE = {"timeZone": "Europe/Berlin"}


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def fake() -> Iterator[GoogleFake]:
    with running_google_fake() as made:
        yield made


@pytest.fixture
def calendar_id(fake: GoogleFake) -> str:
    fake.faults.clear()
    return new_calendar(fake, "Europe/Berlin")


@pytest.fixture
def bridge(fake: GoogleFake, calendar_id: str) -> GoogleBridge:
    return google_bridge(fake, calendar_id, page_size=3)


def timed(summary: str, day: int, **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": f"2026-03-{day:02d}T09:00:00+01:00", **ZONE},
        "end": {"dateTime": f"2026-03-{day:02d}T10:00:00+01:00", **ZONE},
        **extra,
    }


async def everything(bridge: GoogleBridge, cursor: str | None) -> tuple[list[Any], str]:
    changes, page = [], await bridge.list_changes(cursor)
    while page.next_page is not None:
        changes.extend(page.changes)
        page = await bridge.list_changes(cursor, page.next_page)
    changes.extend(page.changes)
    assert page.cursor is not None
    return changes, page.cursor


def ical_event(uid: str, summary: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20260302T090000\r\nDTEND;TZID=Europe/Berlin:20260302T100000\r\n"
        f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_a_series_arrives_as_one_object_with_its_moved_and_cancelled_instances(
    fake: GoogleFake, calendar_id: str, bridge: GoogleBridge
) -> None:
    master = fake.insert(calendar_id, timed("Standup", 2, recurrence=["RRULE:FREQ=DAILY;COUNT=5"]))
    for n in range(4):
        fake.insert(calendar_id, timed(f"Single {n}", 10 + n))
    changes, cursor = run(everything(bridge, None))
    assert len({c.remote_id for c in changes}) == 5
    instances = fake.instances(calendar_id, master["id"])
    fake.patch(calendar_id, instances[1]["id"], {"summary": "Standup (late)"})
    fake.delete(calendar_id, instances[3]["id"])
    changes, _ = run(everything(bridge, cursor))
    assert [c.remote_id for c in changes] == [master["id"]], "one object for the series"
    event = changes[0]
    assert isinstance(event, RemoteEvent) and event.uid == master["iCalUID"]
    series, late = parse(event.ical).sub("VEVENT")
    assert series.first("EXDATE") == "20260305T090000"
    assert late.first("RECURRENCE-ID") == "20260303T090000"
    assert late.first("SUMMARY") == "Standup (late)"


def test_an_expired_sync_token_is_an_invalid_cursor(
    fake: GoogleFake, calendar_id: str, bridge: GoogleBridge
) -> None:
    fake.insert(calendar_id, timed("One", 2))
    _, cursor = run(everything(bridge, None))
    fake.expire_sync_tokens()
    with pytest.raises(InvalidCursor):
        run(bridge.list_changes(cursor))


def test_deletions_arrive_as_deletions(
    fake: GoogleFake, calendar_id: str, bridge: GoogleBridge
) -> None:
    made = fake.insert(calendar_id, timed("Gone soon", 2))
    _, cursor = run(everything(bridge, None))
    fake.delete(calendar_id, made["id"])
    changes, _ = run(everything(bridge, cursor))
    assert changes == [RemoteDeletion(made["id"])]


def test_a_retried_insert_after_a_lost_reply_makes_no_duplicate(
    fake: GoogleFake, calendar_id: str, bridge: GoogleBridge
) -> None:
    fake.faults.lose_next_reply(method="POST", path_contains="/events")
    with pytest.raises(Transient):
        run(bridge.create(ical_event("retry@test", "Once"), "retry@test"))
    created = run(bridge.create(ical_event("retry@test", "Once"), "retry@test"))
    live = [e for e in fake.events(calendar_id) if e["iCalUID"] == "retry@test"]
    assert [e["id"] for e in live] == [created.remote_id]


def test_an_event_deleted_and_created_again_comes_back_under_its_uid(
    fake: GoogleFake, calendar_id: str, bridge: GoogleBridge
) -> None:
    first = run(bridge.create(ical_event("again@test", "First life"), "again@test"))
    run(bridge.delete(first.remote_id, first.version))
    second = run(bridge.create(ical_event("again@test", "Second life"), "again@test"))
    assert second.uid == "again@test" and "Second life" in second.ical
    live = [e for e in fake.events(calendar_id) if e["iCalUID"] == "again@test"]
    assert [e["summary"] for e in live] == ["Second life"]


def test_a_stale_etag_is_refused_and_nothing_is_overwritten(
    fake: GoogleFake, calendar_id: str, bridge: GoogleBridge
) -> None:
    created = run(bridge.create(ical_event("etag@test", "Ours"), "etag@test"))
    fake.patch(calendar_id, created.remote_id, {"summary": "Theirs"})
    with pytest.raises(PreconditionFailed):
        run(bridge.update(created.remote_id, ical_event("etag@test", "Mine"), created.version))
    assert fake.get(calendar_id, created.remote_id)["summary"] == "Theirs"


@pytest.mark.parametrize(
    ("status", "reason", "retry_after", "error"),
    [
        (429, "rateLimitExceeded", "7", RateLimited),
        (403, "userRateLimitExceeded", None, RateLimited),
        (403, "rateLimitExceeded", "3", RateLimited),
        (503, "backendError", None, Transient),
    ],
)
def test_throttling_and_outages_are_retryable_with_googles_wait(
    fake: GoogleFake,
    bridge: GoogleBridge,
    status: int,
    reason: str,
    retry_after: str | None,
    error: type[Exception],
) -> None:
    wait = float(retry_after) if retry_after else None
    fake.faults.fail_next(status, reason=reason, retry_after=wait)
    with pytest.raises(error) as caught:
        run(bridge.list_changes(None))
    assert getattr(caught.value, "retryable", False)
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == wait
    run(bridge.list_changes(None))  # the next call goes through


def test_an_expired_access_token_is_renewed_and_a_revoked_grant_needs_re_auth(
    fake: GoogleFake, bridge: GoogleBridge
) -> None:
    run(bridge.list_changes(None))
    fake.expire_access_tokens()
    run(bridge.list_changes(None))  # refreshed behind the scenes
    fake.expire_access_tokens()
    fake.invalid_grant = True
    try:
        with pytest.raises(AuthExpired, match="needs re-auth"):
            run(bridge.list_changes(None))
    finally:
        fake.invalid_grant = False


class _Book:
    def __init__(self) -> None:
        self.rows: dict[str, Channel] = {}

    def save(self, channel: Channel) -> None:
        self.rows[channel.channel_id] = channel

    def forget(self, channel_id: str) -> None:
        self.rows.pop(channel_id, None)

    def of_source(self, source: str) -> list[Channel]:
        return [c for c in self.rows.values() if c.source == source]

    def all(self) -> list[Channel]:
        return list(self.rows.values())


async def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def test_a_watch_channel_wakes_the_source_renews_and_stops(
    fake: GoogleFake, calendar_id: str, bridge: GoogleBridge
) -> None:
    from aiohttp import web

    from kalends.server.hooks import HOOKS, google_hook

    async def scenario() -> None:
        router, book, woken = HookRouter(), _Book(), []
        app = web.Application()
        app[HOOKS] = router
        app.router.add_post("/.kalends/hooks/google", google_hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        settings = PushSettings("team", "team", url, router, book, ttl=3600)
        try:
            watch = await open_watch(bridge.api, settings, lambda: woken.append(1))
            first = watch.channel
            assert first is not None and list(book.rows) == [first.channel_id]
            await asyncio.to_thread(fake.insert, calendar_id, timed("Ping", 4))
            await _wait_for(lambda: bool(woken))
            await watch.renew()
            second = watch.channel
            assert second is not None and list(book.rows) == [second.channel_id]
            assert first.channel_id not in {c.id for c in fake.channels}
            await watch.close()
            assert book.rows == {} and fake.channels == []
            before = len(woken)
            await asyncio.to_thread(fake.insert, calendar_id, timed("After stop", 5))
            await asyncio.sleep(0.3)
            assert len(woken) == before, "a stopped channel wakes nothing"
        finally:
            await runner.cleanup()

    run(scenario())


class _Vault:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, str]] = {}

    def get(self, name: str) -> dict[str, str] | None:
        return self.rows.get(name)

    def put(self, name: str, secrets: Mapping[str, str]) -> None:
        self.rows[name] = dict(secrets)


def test_channels_of_a_source_removed_from_the_admin_file_are_stopped_at_start(
    fake: GoogleFake, calendar_id: str, bridge: GoogleBridge, tmp_path: Path, password_hash: str
) -> None:
    book, vault, router = _Book(), _Vault(), HookRouter()
    vault.put("gone", {"refresh_token": fake.issue_refresh_token(CLIENT_ID),
                       "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                       "token_url": fake.token_url})  # fmt: skip

    async def crash_with_an_open_channel() -> None:
        settings = PushSettings("gone", "gone", "http://127.0.0.1:9", router, book, ttl=3600)
        await open_watch(bridge.api, settings, lambda: None)  # never closed: the process died

    run(crash_with_an_open_channel())
    assert len(fake.channels) == 1 and len(book.rows) == 1
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash)
    shared = Shared(vault=vault, hooks=router, channels=book)
    stopped = run(stop_channels_of_removed_sources(shared, load_settings(config)))
    assert stopped == 1 and book.rows == {} and fake.channels == []
