"""The ICS feed bridge against a real feed server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kalends.bridges.base import (
    AuthExpired,
    BridgeError,
    Capability,
    ChangePage,
    InvalidCursor,
    NotFound,
    RateLimited,
    RemoteEvent,
    SourceOptionError,
    Transient,
    Unsupported,
)
from kalends.bridges.context import SourceContext
from kalends.bridges.ics import IcsFeedBridge, open_bridge
from kalends.ical import parse, uid_of
from tests.contract.ics_harness import FeedServer, Reply

T = TypeVar("T")

BERLIN = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
    "END:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)
NEW_YORK = (
    "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19701101T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n"
    "END:STANDARD\r\nEND:VTIMEZONE\r\n"
)
TOKYO = (
    "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
    "TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def vevent(
    uid: str | None,
    summary: str,
    start: str = "DTSTART:20260105T100000Z",
    *extra: str,
    stamp: str = "20260101T000000Z",
) -> str:
    lines = [f"UID:{uid}"] if uid is not None else []
    lines += [f"DTSTAMP:{stamp}", start, f"SUMMARY:{summary}", *extra]
    return "BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\n"


def calendar(*parts: str, head: tuple[str, ...] = ()) -> str:
    lines = ["VERSION:2.0", "PRODID:-//Example//Feed//EN", "METHOD:PUBLISH", *head]
    top = "".join(f"{line}\r\n" for line in lines)
    return "BEGIN:VCALENDAR\r\n" + top + "".join(parts) + "END:VCALENDAR\r\n"


def sample_feed(stamp: str = "20260101T000000Z", suffix: str = "") -> str:
    """A weekly Berlin series with an override (apart from it in the file), a UTC event and a
    New York event; Tokyo is defined but unused."""
    series_start = "DTSTART;TZID=Europe/Berlin:20260105T090000"
    return calendar(
        BERLIN,
        NEW_YORK,
        TOKYO,
        vevent(f"series{suffix}@x", "Standup", series_start, "RRULE:FREQ=WEEKLY", stamp=stamp),
        vevent(f"single{suffix}@x", "Dentist", "DTSTART:20260110T080000Z", stamp=stamp),
        vevent(
            f"series{suffix}@x",
            "Standup (moved)",
            "DTSTART;TZID=Europe/Berlin:20260113T100000",
            "RECURRENCE-ID;TZID=Europe/Berlin:20260112T090000",
            stamp=stamp,
        ),
        vevent(
            f"ny{suffix}@x",
            "Call",
            'DTSTART;TZID="America/New_York":20260111T120000',
            "ORGANIZER;CN=Ann:mailto:ann@example.com",
            stamp=stamp,
        ),
    )


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as started:
        started.publish(sample_feed())
        yield started


@pytest.fixture
def bridge(server: FeedServer) -> Iterator[IcsFeedBridge]:
    made = IcsFeedBridge(server.url())
    yield made
    run(made.aclose())


def by_uid(page: ChangePage) -> dict[str, RemoteEvent]:
    return {c.uid: c for c in page.changes if isinstance(c, RemoteEvent)}


def identities(page: ChangePage) -> set[tuple[str, str]]:
    return {(event.remote_id, event.version) for event in by_uid(page).values()}


def error_of(bridge: IcsFeedBridge) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        run(bridge.list_changes(None))
    return caught.value


# -- listings ----------------------------------------------------------------------------------


def test_the_first_fetch_lists_every_object_grouped_by_uid(
    server: FeedServer, bridge: IcsFeedBridge
) -> None:
    page = run(bridge.list_changes(None))
    assert page.complete and page.next_page is None and page.cursor is not None
    events = by_uid(page)
    assert sorted(events) == ["ny@x", "series@x", "single@x"]
    series = parse(events["series@x"].ical)
    assert len(series.sub("VEVENT")) == 2  # the master and its override, in one object
    assert [zone.first("TZID") for zone in series.sub("VTIMEZONE")] == ["Europe/Berlin"]
    assert uid_of(events["series@x"].ical) == "series@x"
    assert parse(events["single@x"].ical).sub("VTIMEZONE") == []
    assert [z.first("TZID") for z in parse(events["ny@x"].ical).sub("VTIMEZONE")] == [
        "America/New_York"
    ]
    for event in events.values():
        assert event.remote_id != event.uid
        assert "METHOD" not in event.ical
        assert run(bridge.get(event.remote_id)) == event
    assert run(bridge.find_by_uid("single@x")) == events["single@x"]
    assert run(bridge.find_by_uid("nobody@x")) is None
    assert len(server.requests) == 1  # get and find_by_uid answer from the fetched feed


def test_an_unchanged_feed_answers_304_and_the_cursor_is_kept(
    server: FeedServer, bridge: IcsFeedBridge
) -> None:
    cursor = run(bridge.list_changes(None)).cursor
    assert cursor is not None
    page = run(bridge.list_changes(cursor))
    assert page == ChangePage([], None, cursor, complete=False)
    last = server.requests[-1]
    assert last["If-None-Match"] and last["If-Modified-Since"]
    assert (server.conditional_requests, server.not_modified) == (1, 1)


def test_last_modified_alone_makes_the_request_conditional(server: FeedServer) -> None:
    server.send_etag = False
    with_dates = IcsFeedBridge(server.url())
    try:
        cursor = run(with_dates.list_changes(None)).cursor
        assert run(with_dates.list_changes(cursor)).changes == []
        assert "If-None-Match" not in server.requests[-1] and server.not_modified == 1
        server.publish(sample_feed().replace("Dentist", "Dentist, rebooked"))
        page = run(with_dates.list_changes(cursor))
        assert page.complete and "Dentist, rebooked" in by_uid(page)["single@x"].ical
    finally:
        run(with_dates.aclose())


def test_an_edit_changes_the_version_and_keeps_the_remote_id(
    server: FeedServer, bridge: IcsFeedBridge
) -> None:
    first = run(bridge.list_changes(None))
    server.publish(sample_feed().replace("SUMMARY:Dentist", "SUMMARY:Dentist (bring x-rays)"))
    second = run(bridge.list_changes(first.cursor))
    before, after = by_uid(first)["single@x"], by_uid(second)["single@x"]
    assert second.complete and second.cursor != first.cursor
    assert after.remote_id == before.remote_id  # same UID: an edit, not a delete and a create
    assert after.version != before.version and "bring x-rays" in after.ical
    unchanged = {uid: e.version for uid, e in by_uid(second).items() if uid != "single@x"}
    assert unchanged == {uid: e.version for uid, e in by_uid(first).items() if uid != "single@x"}


def test_a_removed_event_is_absent_from_the_complete_listing(
    server: FeedServer, bridge: IcsFeedBridge
) -> None:
    first = run(bridge.list_changes(None))
    gone = by_uid(first)["single@x"].remote_id
    server.publish(
        sample_feed().replace(vevent("single@x", "Dentist", "DTSTART:20260110T080000Z"), "")
    )
    second = run(bridge.list_changes(first.cursor))
    assert second.complete and sorted(by_uid(second)) == ["ny@x", "series@x"]
    with pytest.raises(NotFound):
        run(bridge.get(gone))


def test_uid_and_dtstamp_churn_changes_nothing(server: FeedServer, bridge: IcsFeedBridge) -> None:
    first = run(bridge.list_changes(None))
    server.publish(sample_feed(stamp="20260301T121212Z", suffix="-churned-7f3a"))
    second = run(bridge.list_changes(first.cursor))
    assert second.complete  # a new body: the server cannot answer 304
    assert identities(second) == identities(first)
    assert sorted(by_uid(second)) == [
        "ny-churned-7f3a@x",
        "series-churned-7f3a@x",
        "single-churned-7f3a@x",
    ]
    fresh = IcsFeedBridge(server.url())  # no cursor, no memory: the same ids from content alone
    try:
        assert identities(run(fresh.list_changes(None))) == identities(first)
    finally:
        run(fresh.aclose())


def test_events_sharing_a_fingerprint_get_distinct_stable_ids(server: FeedServer) -> None:
    def twins(suffix: str, flipped: bool) -> str:
        one = vevent(f"a{suffix}@x", "Lunch", "DTSTART:20260105T120000Z", "LOCATION:Cafe")
        two = vevent(f"b{suffix}@x", "Lunch", "DTSTART:20260105T120000Z", "LOCATION:Canteen")
        return calendar(*((two, one) if flipped else (one, two)))

    seen: list[dict[str, str]] = []
    for suffix, flipped in (("", False), ("-2", True), ("-3", False)):
        server.publish(twins(suffix, flipped))
        probe = IcsFeedBridge(server.url())
        try:
            page = run(probe.list_changes(None))
        finally:
            run(probe.aclose())
        seen.append({location(e): e.remote_id for e in by_uid(page).values()})
    assert len(set(seen[0].values())) == 2
    assert seen[0] == seen[1] == seen[2]
    assert sorted(seen[0].values())[1] == sorted(seen[0].values())[0] + "-2"


def location(event: RemoteEvent) -> str:
    return parse(event.ical).sub("VEVENT")[0].first("LOCATION") or ""


def test_an_event_without_uid_gets_a_stable_one(server: FeedServer, bridge: IcsFeedBridge) -> None:
    server.publish(calendar(vevent(None, "Anonymous", "DTSTART:20260105T120000Z")))
    first = run(bridge.list_changes(None)).changes[0]
    server.publish(
        calendar(vevent(None, "Anonymous", "DTSTART:20260105T120000Z", stamp="20270101T000000Z"))
    )
    again = run(bridge.list_changes(None)).changes[0]
    assert isinstance(first, RemoteEvent) and isinstance(again, RemoteEvent)
    assert (first.remote_id, first.version, first.uid) == (
        again.remote_id,
        again.version,
        again.uid,
    )
    assert uid_of(first.ical) == first.uid and "DTSTAMP:2027" in again.ical


# -- poll hints --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "seconds"),
    [
        (("REFRESH-INTERVAL;VALUE=DURATION:P1D",), 86400.0),
        (("X-PUBLISHED-TTL:PT1H",), 3600.0),
        (("X-PUBLISHED-TTL:PT1M",), 300.0),  # clamped up to five minutes
        (("REFRESH-INTERVAL;VALUE=DURATION:P2W",), 86400.0),  # clamped down to a day
        (("REFRESH-INTERVAL;VALUE=DURATION:PT6H", "X-PUBLISHED-TTL:PT1H"), 21600.0),
        (("X-PUBLISHED-TTL:-PT1H",), None),
        (("X-PUBLISHED-TTL:soon",), None),
        ((), None),
    ],
)
def test_the_poll_interval_comes_from_the_feed(
    server: FeedServer, head: tuple[str, ...], seconds: float | None
) -> None:
    server.publish(calendar(vevent("a@x", "A"), head=head))
    first = IcsFeedBridge(server.url())
    later = IcsFeedBridge(server.url())  # a restarted process: it only has the cursor
    try:
        assert first.poll_interval is None
        cursor = run(first.list_changes(None)).cursor
        assert first.poll_interval == seconds
        assert run(later.list_changes(cursor)).changes == []
        assert later.poll_interval == seconds
    finally:
        run(first.aclose())
        run(later.aclose())


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(500, Transient), (502, Transient), (504, Transient), (401, AuthExpired), (403, AuthExpired)],
)
def test_error_statuses_map_to_bridge_errors(
    server: FeedServer, bridge: IcsFeedBridge, status: int, kind: type[BridgeError]
) -> None:
    server.fault = Reply(status, b"<html>oops</html>", {"Content-Type": "text/html"})
    error = error_of(bridge)
    assert type(error) is kind and str(status) in str(error)


@pytest.mark.parametrize("status", [404, 410])
def test_a_missing_feed_is_a_clear_error(
    server: FeedServer, bridge: IcsFeedBridge, status: int
) -> None:
    server.fault = Reply(status)
    error = error_of(bridge)
    assert type(error) is BridgeError and not error.retryable
    assert f"answered {status}" in str(error) and "gone" in str(error)


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "120"}, 120.0),
        (503, {"Retry-After": "7"}, 7.0),
        (429, {}, None),
    ],
)
def test_rate_limits_carry_retry_after(
    server: FeedServer,
    bridge: IcsFeedBridge,
    status: int,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    server.fault = Reply(status, headers=headers)
    error = error_of(bridge)
    assert isinstance(error, RateLimited) and error.retryable
    assert error.retry_after == retry_after


def test_a_retry_after_date_becomes_seconds(server: FeedServer, bridge: IcsFeedBridge) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 90))
    server.fault = Reply(429, headers={"Retry-After": when})
    error = error_of(bridge)
    assert isinstance(error, RateLimited) and error.retry_after is not None
    assert 80 <= error.retry_after <= 91


def test_an_oversized_feed_is_refused(server: FeedServer) -> None:
    small = IcsFeedBridge(server.url(), max_bytes=1000)  # the sample feed is larger
    endless = IcsFeedBridge(server.url("/endless"), max_bytes=256 * 1024)
    try:
        assert "larger than 1000 bytes" in str(error_of(small))
        started = time.monotonic()
        assert "larger than 262144 bytes" in str(error_of(endless))
        assert time.monotonic() - started < 5
    finally:
        run(small.aclose())
        run(endless.aclose())
    assert server.endless_sent < 16 * 1024 * 1024  # the body was dropped early, not read whole


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain"])
def test_html_instead_of_a_calendar_is_refused(
    server: FeedServer, bridge: IcsFeedBridge, content_type: str
) -> None:
    server.publish("<!doctype html><html><body>Please sign in</body></html>")
    server.content_type = content_type
    error = error_of(bridge)
    assert type(error) is BridgeError and "not a calendar" in str(error)


def test_a_calendar_served_as_octet_stream_is_read(
    server: FeedServer, bridge: IcsFeedBridge
) -> None:
    server.content_type = "application/octet-stream"
    assert len(run(bridge.list_changes(None)).changes) == 3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (sample_feed().removesuffix("END:VCALENDAR\r\n"), "never closed"),
        ("SUMMARY:loose\r\n" + sample_feed(), "outside of a component"),
        ("BEGIN:VCARD\r\nFN:Ann\r\nEND:VCARD\r\n", "not a VCALENDAR"),
        (calendar("BEGIN:VEVENT\r\n" * 20 + "END:VEVENT\r\n" * 20), "levels deep"),
        ("", "no BEGIN:VCALENDAR"),
    ],
)
def test_a_malformed_calendar_is_refused_with_the_reason(
    server: FeedServer, bridge: IcsFeedBridge, text: str, reason: str
) -> None:
    good = run(bridge.list_changes(None))
    server.publish(text)
    with pytest.raises(BridgeError, match=reason) as caught:
        run(bridge.list_changes(good.cursor))
    assert type(caught.value) is BridgeError  # the engine applies nothing


def test_a_slow_server_times_out(server: FeedServer) -> None:
    slow = IcsFeedBridge(server.url("/slow"), timeout=0.6)
    started = time.monotonic()
    try:
        error = error_of(slow)
    finally:
        run(slow.aclose())
    assert isinstance(error, Transient) and "within 0.6 s" in str(error)
    assert time.monotonic() - started < 3


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    closed = IcsFeedBridge(f"http://127.0.0.1:{port}/feed.ics")
    try:
        assert isinstance(error_of(closed), Transient)
    finally:
        run(closed.aclose())


# -- redirects and credentials -----------------------------------------------------------------


def test_redirects_are_followed_a_bounded_number_of_times(server: FeedServer) -> None:
    near = IcsFeedBridge(server.url("/redirect/3"))
    far = IcsFeedBridge(server.url("/redirect/9"))
    try:
        assert len(run(near.list_changes(None)).changes) == 3
        assert "more than 5 redirects" in str(error_of(far))
    finally:
        run(near.aclose())
        run(far.aclose())


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/feed.ics", "file:///etc/passwd"])
def test_redirects_to_other_schemes_are_refused(server: FeedServer, location: str) -> None:
    redirected = IcsFeedBridge(server.url("/redirect-to?location=" + location))
    try:
        error = error_of(redirected)
    finally:
        run(redirected.aclose())
    scheme = location.partition(":")[0]
    assert f"redirected to a {scheme}: URL" in str(error) and "passwd" not in str(error)


def test_credentials_go_as_basic_auth_to_the_feed_only(server: FeedServer) -> None:
    server.basic_auth = ("ann", "s3cret-pass")
    with FeedServer() as elsewhere:
        elsewhere.publish(sample_feed())
        hop = server.url("/redirect-to?location=" + elsewhere.url())
        feed = IcsFeedBridge(server.url(userinfo="ann:s3cret-pass"))
        away = IcsFeedBridge(hop.replace("http://", "http://ann:s3cret-pass@", 1))
        try:
            assert len(run(feed.list_changes(None)).changes) == 3
            assert server.requests[-1]["Authorization"].startswith("Basic ")
            assert len(run(away.list_changes(None)).changes) == 3
        finally:
            run(feed.aclose())
            run(away.aclose())
        assert "Authorization" not in elsewhere.requests[-1]  # another origin: no credentials


def test_credentials_in_the_url_never_appear_in_errors_or_logs(
    server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = ("s3cret-pass", "t0ken-f00d", "annabel")
    url = server.url("/feed.ics?token=t0ken-f00d&x=1", userinfo="annabel:s3cret-pass")
    caplog.set_level(logging.DEBUG, logger="kalends")
    private = IcsFeedBridge(url)
    messages = [repr(private)]
    try:
        run(private.list_changes(None))
        for reply in (Reply(404), Reply(500), Reply(401), Reply(200, b"<html/>")):
            server.fault = reply
            messages.append(str(error_of(private)))
        with pytest.raises(Unsupported) as refused:
            run(private.create(sample_feed(), "series@x"))
        messages.append(str(refused.value))
    finally:
        run(private.aclose())
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    gone = IcsFeedBridge(f"http://annabel:s3cret-pass@127.0.0.1:{port}/x.ics?token=t0ken-f00d")
    try:
        messages.append(str(error_of(gone)))
    finally:
        run(gone.aclose())
    kalends_logs = [r.getMessage() for r in caplog.records if r.name.startswith("kalends")]
    assert any("***" in message for message in messages)
    for text in messages + kalends_logs:
        assert not any(secret in text for secret in secrets), text


# -- read-only, cursors, options ---------------------------------------------------------------


def test_the_feed_is_read_only(server: FeedServer, bridge: IcsFeedBridge) -> None:
    assert bridge.capabilities == Capability.READ_ONLY
    remote_id = run(bridge.list_changes(None)).changes[0].remote_id
    for call in (
        bridge.create(sample_feed(), "new@x"),
        bridge.update(remote_id, sample_feed(), "v"),
        bridge.delete(remote_id, None),
    ):
        with pytest.raises(Unsupported, match="is a read-only calendar feed"):
            run(call)
    assert run(bridge.watch(lambda: None)) is None


def test_get_fetches_once_when_nothing_was_fetched(
    server: FeedServer, bridge: IcsFeedBridge
) -> None:
    probe = IcsFeedBridge(server.url())
    try:
        remote_id = by_uid(run(probe.list_changes(None)))["ny@x"].remote_id
    finally:
        run(probe.aclose())
    before = len(server.requests)
    assert run(bridge.get(remote_id)).uid == "ny@x"
    with pytest.raises(NotFound):
        run(bridge.get("no-such-id"))
    assert len(server.requests) == before + 1
    assert "If-None-Match" not in server.requests[-1]


@pytest.mark.parametrize(
    "cursor", ["garbage", "{}", '{"v":1,"ids":[]}', '{"v":1,"etag":3,"ids":{}}']
)
def test_a_foreign_cursor_is_invalid(bridge: IcsFeedBridge, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        run(bridge.list_changes(cursor))


def test_there_is_only_ever_one_page(bridge: IcsFeedBridge) -> None:
    with pytest.raises(InvalidCursor):
        run(bridge.list_changes(None, "page-2"))


def test_open_bridge_reads_the_source_options(tmp_path: Path) -> None:
    made = open_bridge(
        {"url": "webcal://ann:pw@calendar.example.com/team.ics", "timeout": 5, "max_bytes": 4096},
        SourceContext("test", tmp_path),
    )
    try:
        assert repr(made) == "IcsFeedBridge('https://***@calendar.example.com/team.ics')"
    finally:
        run(made.aclose())


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"url": "ftp://ann:hunter22@example.com/cal.ics"}, "'url'"),
        ({"url": "file:///etc/calendar.ics"}, "'url'"),
        ({"url": "https://"}, "'url'"),
        ({"url": "https://example.com/a b.ics"}, "'url'"),
        ({}, "'url'"),
        ({"url": 42}, "'url'"),
        ({"url": "https://example.com/c.ics", "timeout": "soon"}, "'timeout'"),
        ({"url": "https://example.com/c.ics", "timeout": 0}, "'timeout'"),
        ({"url": "https://example.com/c.ics", "max_bytes": 1.5}, "'max_bytes'"),
        ({"url": "https://example.com/c.ics", "max_bytes": True}, "'max_bytes'"),
    ],
)
def test_open_bridge_refuses_bad_options(
    tmp_path: Path, options: dict[str, object], named: str
) -> None:
    with pytest.raises(SourceOptionError, match=named) as caught:
        open_bridge(options, SourceContext("test", tmp_path))
    assert "hunter22" not in str(caught.value)
