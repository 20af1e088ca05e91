"""The Outlook bridge against the Graph fake: series, delta resets, retries, faults, sign-in."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kalends.bridges.base import (
    AuthExpired,
    InvalidCursor,
    NotFound,
    PreconditionFailed,
    RateLimited,
    RemoteEvent,
    Transient,
    Unsupported,
)
from kalends.bridges.outlook import OutlookBridge
from kalends.bridges.outlook.api import BATCH_SIZE
from kalends.ical import parse
from tests.contract.outlook_harness import (
    DictVault,
    immutable_id,
    outlook_bridge,
    outlook_options,
    signed_in_vault,
)
from tests.fakes.graph import GraphFake, running_graph_fake
from tests.fakes.graph.store import Change

T = TypeVar("T")
BERLIN = "W. Europe Standard Time"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def fake() -> Iterator[GraphFake]:
    with running_graph_fake() as made:
        yield made


@pytest.fixture(scope="module")
def vault(fake: GraphFake) -> DictVault:
    return signed_in_vault(fake, outlook_options(fake, ""))


@pytest.fixture
def calendar_id(fake: GraphFake) -> str:
    fake.faults.clear()
    return fake.add_calendar("Team")


@pytest.fixture
def bridge(fake: GraphFake, calendar_id: str, vault: DictVault) -> OutlookBridge:
    return outlook_bridge(fake, calendar_id, vault, page_size=3)


def timed(subject: str, day: str, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": f"{day}T09:00:00", "timeZone": BERLIN},
        "end": {"dateTime": f"{day}T10:00:00", "timeZone": BERLIN},
        **extra,
    }


async def everything(bridge: OutlookBridge, cursor: str | None) -> tuple[list[Any], str]:
    changes, page = [], await bridge.list_changes(cursor)
    while page.next_page is not None:
        changes.extend(page.changes)
        page = await bridge.list_changes(cursor, page.next_page)
    changes.extend(page.changes)
    assert page.cursor is not None
    return changes, page.cursor


WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                "firstDayOfWeek": "monday"},
    "range": {"type": "numbered", "startDate": "2026-12-07", "numberOfOccurrences": 5,
              "recurrenceTimeZone": BERLIN},
}  # fmt: skip


def test_a_series_with_a_moved_and_a_deleted_occurrence_is_one_object(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    master = fake.create(calendar_id, timed("Standup", "2026-12-07", recurrence=WEEKLY))
    _, cursor = run(everything(bridge, None))
    occurrences = fake.instances(master["id"], "2026-12-01T00:00:00Z", "2027-02-01T00:00:00Z")
    fake.update(occurrences[1]["id"], {"subject": "Standup (late)",
                                       "start": {"dateTime": "2026-12-14T11:00:00",
                                                 "timeZone": BERLIN},
                                       "end": {"dateTime": "2026-12-14T12:00:00",
                                               "timeZone": BERLIN}})  # fmt: skip
    fake.delete(occurrences[3]["id"])
    changes, _ = run(everything(bridge, cursor))
    events = [c for c in changes if isinstance(c, RemoteEvent)]
    assert [e.remote_id for e in events] == [immutable_id(fake, master["id"])]
    series, late = parse(events[0].ical).sub("VEVENT")
    assert series.first("EXDATE") == "20261228T090000"
    assert late.first("RECURRENCE-ID") == "20261214T090000"
    assert late.first("DTSTART") == "20261214T110000"
    assert late.first("SUMMARY") == "Standup (late)"


def test_an_all_day_series_ending_on_a_date_keeps_its_deleted_day(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    """Its RRULE ends with a DATE UNTIL, which the occurrences it should have are worked out
    from (they used to fail: dateutil takes UNTIL in UTC only)."""
    daily = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "endDate", "startDate": "2026-12-07", "endDate": "2026-12-11"},
    }
    master = fake.create(calendar_id, {
        "subject": "Offsite", "isAllDay": True, "recurrence": daily,
        "start": {"dateTime": "2026-12-07T00:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T00:00:00", "timeZone": "UTC"},
    })  # fmt: skip
    occurrences = fake.instances(master["id"], "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert len(occurrences) == 5
    fake.delete(occurrences[2]["id"])
    changes, _ = run(everything(bridge, None))
    (series,) = parse(changes[0].ical).sub("VEVENT")
    assert series.first("RRULE") == "FREQ=DAILY;UNTIL=20261211"
    assert series.first("EXDATE") == "20261209"


def test_a_series_written_over_caldav_reaches_outlook_with_its_exceptions(
    fake: GraphFake, bridge: OutlookBridge
) -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:series@test\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261207T090000\r\nDTEND;TZID=Europe/Berlin:20261207T093000\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE;TZID=Europe/Berlin:20261221T090000\r\n"
        "SUMMARY:Review\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:series@test\r\n"
        "DTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261214T090000\r\n"
        "DTSTART;TZID=Europe/Berlin:20261214T150000\r\nDTEND;TZID=Europe/Berlin:20261214T153000\r\n"
        "SUMMARY:Review (afternoon)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    created = run(bridge.create(text, "series@test"))
    again = run(bridge.get(created.remote_id))
    series, moved = parse(again.ical).sub("VEVENT")
    assert series.first("UID") == "series@test"
    assert series.first("EXDATE") == "20261221T090000"
    assert moved.first("DTSTART") == "20261214T150000"
    assert again.version == created.version


def _edit_in_outlook_right_after(fake: GraphFake, subject: str) -> None:
    """The Outlook user renames the event the moment a write leaves it titled ``subject``,
    before anything Kalends reads afterwards."""

    def edit(change: Change) -> None:
        if change.record.body.get("subject") == subject and not change.record.deleted:
            fake.store.listeners.remove(edit)
            fake.update(change.record.rid, {"subject": f"{subject} (edited in Outlook)"})

    fake.store.listeners.append(edit)


@pytest.mark.parametrize("recurrence", ["", "RRULE:FREQ=WEEKLY;COUNT=3\r\n"])
def test_an_outlook_edit_made_right_after_a_write_is_not_taken_for_it(
    fake: GraphFake, bridge: OutlookBridge, recurrence: str
) -> None:
    """What a write returns is what it wrote, with that write's version: the edit made in
    between comes with the next listing instead of passing for Kalends' own write."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:raced@test\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20261209T100000Z\r\nDTEND:20261209T110000Z\r\n"
        f"{recurrence}SUMMARY:Draft\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    _, cursor = run(everything(bridge, None))
    _edit_in_outlook_right_after(fake, "Draft")
    created = run(bridge.create(text, "raced@test"))
    assert parse(created.ical).sub("VEVENT")[0].first("SUMMARY") == "Draft"
    changes, cursor = run(everything(bridge, cursor))
    [listed] = [c for c in changes if isinstance(c, RemoteEvent)]
    assert listed.version != created.version
    assert parse(listed.ical).sub("VEVENT")[0].first("SUMMARY") == "Draft (edited in Outlook)"

    _edit_in_outlook_right_after(fake, "Second draft")
    second = text.replace("SUMMARY:Draft", "SUMMARY:Second draft")
    updated = run(bridge.update(listed.remote_id, second, listed.version))
    assert parse(updated.ical).sub("VEVENT")[0].first("SUMMARY") == "Second draft"
    changes, _ = run(everything(bridge, cursor))
    [again] = [c for c in changes if isinstance(c, RemoteEvent)]
    assert again.version != updated.version
    assert parse(again.ical).sub("VEVENT")[0].first("SUMMARY") == "Second draft (edited in Outlook)"


def test_an_expired_delta_link_is_an_invalid_cursor(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    fake.create(calendar_id, timed("One", "2026-12-08"))
    _, cursor = run(everything(bridge, None))
    for mode in ("gone", "not_found"):
        fake.expire_delta_tokens(mode=mode)
        with pytest.raises(InvalidCursor):
            run(bridge.list_changes(cursor))


def test_a_retried_create_after_a_lost_reply_makes_no_duplicate(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:once@test\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20261209T100000Z\r\nDTEND:20261209T110000Z\r\n"
        "SUMMARY:Once\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    fake.lose_next_reply(method="POST", path_contains="/events")
    with pytest.raises(Exception):  # noqa: B017 - the lost reply, however it surfaces
        run(bridge.create(text, "once@test"))
    created = run(bridge.create(text, "once@test"))
    assert [e["subject"] for e in fake.events(calendar_id)] == ["Once"]
    assert run(bridge.find_by_uid("once@test")) == created


def test_stale_versions_are_refused_and_throttling_carries_retry_after(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    made = fake.create(calendar_id, timed("Theirs", "2026-12-10"))
    remote = run(bridge.get(immutable_id(fake, made["id"])))
    fake.update(made["id"], {"subject": "Changed in Outlook"})
    with pytest.raises(PreconditionFailed):
        run(bridge.update(remote.remote_id, remote.ical, remote.version))
    fake.fail_next(429, code="TooManyRequests", retry_after=7)
    with pytest.raises(RateLimited) as caught:
        run(bridge.get(remote.remote_id))
    assert caught.value.retry_after == 7


def test_what_outlook_cannot_express_is_refused_with_the_reason(bridge: OutlookBridge) -> None:
    hourly = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:hourly@test\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20261209T100000Z\r\nDTEND:20261209T101500Z\r\n"
        "RRULE:FREQ=HOURLY;COUNT=3\r\nSUMMARY:Pill\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with pytest.raises(Unsupported, match="HOURLY"):
        run(bridge.create(hourly, "hourly@test"))


def test_a_revoked_grant_needs_re_auth(fake: GraphFake, calendar_id: str) -> None:
    own_vault = signed_in_vault(fake, outlook_options(fake, calendar_id))
    bridge = outlook_bridge(fake, calendar_id, own_vault)
    run(bridge.list_changes(None))
    fake.expire_access_tokens()
    fake.invalid_grant = True
    try:
        fresh = outlook_bridge(fake, calendar_id, own_vault)  # msal caches the token in memory
        with pytest.raises(AuthExpired, match="needs re-auth"):
            run(fresh.list_changes(None))
    finally:
        fake.invalid_grant = False


def test_a_full_listing_reads_properties_in_bulk_and_says_what_get_says(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    for n in range(5):
        fake.create(calendar_id, timed(f"Native {n}", f"2026-12-1{n}"))
    series = fake.create(calendar_id, timed("Weekly", "2026-12-07", recurrence=WEEKLY))
    occurrences = fake.instances(series["id"], "2026-12-01T00:00:00Z", "2027-02-01T00:00:00Z")
    fake.delete(occurrences[2]["id"])
    mine = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:mine@test\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20261220T100000Z\r\nDTEND:20261220T110000Z\r\n"
        "SUMMARY:Mine\r\nCATEGORIES:kept\r\nX-FOO:bar\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    run(bridge.create(mine, "mine@test"))
    before = len(fake.requests)
    listed, _ = run(everything(bridge, None))
    reads = [r for r in fake.requests[before:] if r[0] == "GET" and "/events/" in r[1]]
    assert all(r[1].endswith("/instances") for r in reads), "no event read one by one"
    for change in listed:
        assert isinstance(change, RemoteEvent)
        again = run(bridge.get(change.remote_id))
        assert (change.ical, change.version, change.uid) == (again.ical, again.version, again.uid)
    assert "mine@test" in {c.uid for c in listed}


def test_the_occurrences_of_many_series_are_read_in_batches_as_one_by_one(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    """Batches of at most 20 calls; a call that failed inside its batch is made again alone."""
    made = [fake.create(calendar_id, timed(f"Weekly {n}", "2026-12-07", recurrence=WEEKLY))
            for n in range(BATCH_SIZE + 3)]  # fmt: skip
    ids = [immutable_id(fake, m["id"]) for m in made]
    occurrences = fake.instances(made[4]["id"], "2026-12-01T00:00:00Z", "2027-02-01T00:00:00Z")
    fake.delete(occurrences[1]["id"])
    start, end = bridge.window.text(bridge.window.start), bridge.window.text(bridge.window.end)

    async def one_by_one() -> list[list[dict[str, Any]]]:
        return [await bridge.api.instances(sid, start, end) for sid in ids]

    alone = run(one_by_one())
    before, failed = len(fake.requests), fake.faults.failed
    fake.fail_next(503, method="GET", path_contains="/instances")  # inside the first batch
    batched = run(bridge.api.instances_of(ids, start, end))
    assert fake.faults.failed == failed + 1
    assert batched == alone and len(batched[4]) == 4
    batches = [r for r in fake.requests[before:] if r[:2] == ("POST", "/v1.0/$batch")]
    assert len(batches) == 2, "20 calls a batch"


def test_a_page_read_ahead_that_failed_is_read_again_when_asked_for(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    for n in range(4):
        fake.create(calendar_id, timed(f"Single {n}", f"2026-12-1{n}"))
    fake.create(calendar_id, timed("Weekly", "2026-12-07", recurrence=WEEKLY))
    expected, _ = run(everything(bridge, None))

    async def with_a_failed_page() -> list[Any]:
        fake.fail_next(503, method="GET", path_contains="skiptoken")  # the second page
        first = await bridge.list_changes(None)
        assert first.next_page is not None
        with pytest.raises(Transient):
            await bridge.list_changes(None, first.next_page)
        changes, page = list(first.changes), await bridge.list_changes(None, first.next_page)
        while page.next_page is not None:
            changes.extend(page.changes)
            page = await bridge.list_changes(None, page.next_page)
        return changes + list(page.changes)

    assert run(with_a_failed_page()) == expected


def test_one_uid_in_two_calendars_of_one_account_makes_two_events(
    fake: GraphFake, vault: DictVault
) -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:twice@test\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20261221T100000Z\r\nDTEND:20261221T110000Z\r\n"
        "SUMMARY:Both\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    home, work = fake.add_calendar("Home"), fake.add_calendar("Work")
    for calendar in (home, work):
        run(outlook_bridge(fake, calendar, vault).create(text, "twice@test"))
    assert [e["subject"] for e in fake.events(home)] == ["Both"]
    assert [e["subject"] for e in fake.events(work)] == ["Both"]


def test_an_event_moved_to_another_calendar_is_no_longer_this_sources(
    fake: GraphFake, calendar_id: str, bridge: OutlookBridge
) -> None:
    made = fake.create(calendar_id, timed("Moving", "2026-12-22"))
    remote_id = immutable_id(fake, made["id"])
    run(bridge.get(remote_id))
    fake.move(made["id"], fake.add_calendar("Elsewhere"))
    with pytest.raises(NotFound):
        run(bridge.get(remote_id))


def test_subscriptions_of_a_source_removed_from_the_admin_file_are_deleted_at_start(
    fake: GraphFake, calendar_id: str, tmp_path: Path, password_hash: str
) -> None:
    from aiohttp import web

    from kalends.bridges.outlook.push import GraphPushSettings, open_watch
    from kalends.config import load_settings
    from kalends.server.hooks import HOOKS, HookRouter, graph_hook
    from kalends.sync.sources import Shared, stop_channels_of_removed_sources
    from tests.bridges.test_google_bridge import _Book
    from tests.harness import write_config

    vault = signed_in_vault(fake, outlook_options(fake, calendar_id))
    vault.rows["gone"] = dict(vault.rows["outlook-test"])  # the removed source's grant
    bridge = outlook_bridge(fake, calendar_id, vault)
    book, router = _Book(), HookRouter()

    async def crash_with_a_subscription() -> None:
        app = web.Application()
        app[HOOKS] = router
        app.router.add_post("/.kalends/hooks/graph", graph_hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        settings = GraphPushSettings("gone", "gone", url, router, book)
        try:
            await open_watch(bridge.api, settings, lambda: None)  # never closed: it died
        finally:
            await runner.cleanup()

    run(crash_with_a_subscription())
    before = len(fake.subscriptions)
    assert before >= 1 and len(book.rows) == 1
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash)
    shared = Shared(vault=vault, hooks=router, channels=book)
    assert run(stop_channels_of_removed_sources(shared, load_settings(config))) == 1
    assert book.rows == {} and len(fake.subscriptions) == before - 1
