"""The storage through the live server, driven by the ``caldav`` client library (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import caldav
import httpx
import pytest

from kalends.server import calendar_query
from tests.harness import PASSWORD, LiveServer, live_server, write_config


def event(uid: str, start: str, end: str, extra: str = "", summary: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        f"SUMMARY:{summary or uid}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


WEEKLY_WITH_EXCEPTIONS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
    "END:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20240101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20240101T090000\r\nDTEND;TZID=Europe/Berlin:20240101T100000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=20\r\nEXDATE;TZID=Europe/Berlin:20240108T090000\r\n"
    "SUMMARY:standup\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20240101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20240115T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20240117T140000\r\nDTEND;TZID=Europe/Berlin:20240117T150000\r\n"
    "SUMMARY:standup (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def server(tmp_path: Path, database_url: str, password_hash: str) -> Iterator[LiveServer]:
    with live_server(write_config(tmp_path, database_url, password_hash)) as running:
        yield running


@pytest.fixture
def client(server: LiveServer) -> caldav.DAVClient:
    return caldav.DAVClient(
        url=server.url + "/", username="alice", password=PASSWORD, require_tls=False
    )


@pytest.fixture
def calendar(client: caldav.DAVClient) -> caldav.Calendar:
    return client.principal().make_calendar(name="Work", cal_id="work")


def query_hrefs(server: LiveServer, path: str, start: str, end: str) -> set[str]:
    body = (
        '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter>'
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter>'
        "</C:filter></C:calendar-query>"
    )
    response = httpx.request(
        "REPORT",
        server.url + path,
        content=body,
        headers={"Depth": "1"},
        auth=("alice", PASSWORD),
    )
    assert response.status_code == 207
    return {
        part.split("</href>")[0].rsplit("/", 1)[-1] for part in response.text.split("<href>")[1:]
    }


def test_discovery_finds_principal_home_and_calendars(client: caldav.DAVClient) -> None:
    principal = client.principal()
    assert str(principal.url).rstrip("/").endswith("/alice")
    home = principal.calendar_home_set
    assert str(home.url).rstrip("/").endswith("/alice")
    names = {cal.get_display_name() for cal in principal.calendars()}
    assert "calendar" in names  # provisioned from the admin file


def test_put_get_update_delete(calendar: caldav.Calendar) -> None:
    created = calendar.save_event(event("e1", "20240105T100000Z", "20240105T110000Z"))
    fetched = calendar.event_by_uid("e1")
    assert "SUMMARY:e1" in fetched.data
    fetched.icalendar_component["SUMMARY"] = "renamed"
    fetched.save()
    assert "SUMMARY:renamed" in calendar.event_by_uid("e1").data
    created.delete()
    with pytest.raises(caldav.lib.error.NotFoundError):
        calendar.event_by_uid("e1")


def test_an_object_is_kept_as_the_client_wrote_it_unless_radicale_would_fix_it(
    server: LiveServer, calendar: caldav.Calendar
) -> None:
    """A plain CRLF object is stored byte for byte (its ETag that of those bytes); one that
    Radicale rewrites (Evolution's EXDATE value types and zones, Thunderbird's DTEND with a zero
    DURATION, bare line feeds, blank lines) as vobject writes it after the fix; either way the
    ETag of a PUT is the one a GET then gives."""
    base = server.url + "/alice/work/"
    auth = ("alice", PASSWORD)
    plain = event("plain", "20240105T100000Z", "20240105T110000Z", "X-CUSTOM;A=b:kept as is\r\n")
    lasting = event("lasting", "20240105T100000Z", "").replace("DTEND:", "DURATION:PT1H")
    exdate = "EXDATE;TZID=Europe/Berlin:20240108T090000"
    evolution = WEEKLY_WITH_EXCEPTIONS.replace(exdate, "EXDATE;VALUE=DATE:20240108").replace(
        "UID:weekly", "UID:evolution"
    )
    floating = WEEKLY_WITH_EXCEPTIONS.replace(exdate, "EXDATE:20240108T090000").replace(
        "UID:weekly", "UID:floating"
    )
    zero = event("zero", "20240105T100000Z", "20240105T110000Z", "DURATION:PT0S\r\n")
    bare = event("bare", "20240106T100000Z", "20240106T110000Z").replace("\r\n", "\n")
    blank = event("blank", "20240107T100000Z", "20240107T110000Z").replace("SUMMARY", "\r\nSUMMARY")
    kept = {"plain": plain, "weekly": WEEKLY_WITH_EXCEPTIONS, "lasting": lasting}
    fixed = {"evolution": evolution, "floating": floating, "zero": zero, "bare": bare,
             "blank": blank}  # fmt: skip
    for name, text in (kept | fixed).items():
        put = httpx.put(f"{base}{name}.ics", content=text, auth=auth,
                        headers={"Content-Type": "text/calendar"})  # fmt: skip
        assert put.status_code == 201, put.text
        got = httpx.get(f"{base}{name}.ics", auth=auth)
        assert got.headers["ETag"] == put.headers["ETag"]
        assert (got.text == text) == (name in kept), name
        assert "\r\n\r\n" not in got.text and got.text.count("\n") == got.text.count("\r\n")
    before = put_etag(base + "plain.ics")
    edited = plain.replace("kept as is", "kept again")
    again = httpx.put(f"{base}plain.ics", content=edited, auth=auth,
                      headers={"Content-Type": "text/calendar", "If-Match": before})  # fmt: skip
    assert again.status_code == 204 and again.headers["ETag"] != before
    assert httpx.get(f"{base}plain.ics", auth=auth).text == edited
    assert put_etag(base + "plain.ics") == again.headers["ETag"]


def put_etag(url: str) -> str:
    return httpx.get(url, auth=("alice", PASSWORD)).headers["ETag"]


def test_time_range_queries_with_recurrence_and_overrides(
    server: LiveServer, calendar: caldav.Calendar
) -> None:
    calendar.save_event(WEEKLY_WITH_EXCEPTIONS)
    calendar.save_event(event("single", "20240110T120000Z", "20240110T130000Z"))

    def week(day: int) -> tuple[str, str]:
        return f"202401{day:02d}T000000Z", f"202401{day + 7:02d}T000000Z"

    assert query_hrefs(server, "/alice/work/", *week(1)) == {"weekly.ics"}
    # The 8th is excluded and the single event is the only hit of the second week.
    assert query_hrefs(server, "/alice/work/", "20240108T000000Z", "20240109T000000Z") == set()
    assert query_hrefs(server, "/alice/work/", *week(8)) == {"single.ics"}
    # The 15th moved to the 17th: the query for the 15th finds nothing, the 17th finds it.
    assert query_hrefs(server, "/alice/work/", "20240115T000000Z", "20240116T000000Z") == set()
    assert query_hrefs(server, "/alice/work/", "20240117T000000Z", "20240118T000000Z") == {
        "weekly.ics"
    }
    # Berlin 09:00 in winter is 08:00 UTC; a window ending exactly there misses it.
    assert query_hrefs(server, "/alice/work/", "20240122T000000Z", "20240122T080000Z") == set()
    assert query_hrefs(server, "/alice/work/", "20240122T000000Z", "20240122T080001Z") == {
        "weekly.ics"
    }
    # Past the last of the 20 occurrences.
    assert query_hrefs(server, "/alice/work/", "20240601T000000Z", "20240701T000000Z") == set()


def test_client_search_expands_recurrences(calendar: caldav.Calendar) -> None:
    calendar.save_event(WEEKLY_WITH_EXCEPTIONS)
    found = calendar.search(
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 1, 29, tzinfo=UTC),
        event=True,
        expand=True,
    )
    starts = sorted(e.icalendar_component["DTSTART"].dt.astimezone(UTC) for e in found)
    assert [s.day for s in starts] == [1, 17, 22]


def test_client_search_without_expansion(
    calendar: caldav.Calendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A time-range search is answered by Kalends' calendar-query path, with the objects whole."""
    written: list[int] = []
    original = calendar_query.multistatus

    def spy(*args: Any) -> Any:
        written.append(1)
        return original(*args)

    monkeypatch.setattr(calendar_query, "multistatus", spy)
    calendar.save_event(WEEKLY_WITH_EXCEPTIONS)
    calendar.save_event(event("single", "20240110T120000Z", "20240110T130000Z", summary="a & b"))
    calendar.save_event(event("later", "20240601T120000Z", "20240601T130000Z"))
    found = calendar.search(
        start=datetime(2024, 1, 9, tzinfo=UTC), end=datetime(2024, 1, 18, tzinfo=UTC), event=True
    )
    assert written  # the fast path answered
    by_uid = {str(e.icalendar_component["UID"]): e for e in found}
    assert set(by_uid) == {"weekly", "single"}
    assert by_uid["single"].icalendar_component["SUMMARY"] == "a & b"
    assert "RRULE:FREQ=WEEKLY;COUNT=20" in by_uid["weekly"].data  # not expanded
    assert "RECURRENCE-ID" in by_uid["weekly"].data
    with pytest.warns(DeprecationWarning):
        dated = calendar.date_search(
            datetime(2024, 5, 25, tzinfo=UTC), datetime(2024, 6, 5, tzinfo=UTC), expand=False
        )
    assert [str(e.icalendar_component["UID"]) for e in dated] == ["later"]


def test_multiget_returns_found_and_missing(server: LiveServer, calendar: caldav.Calendar) -> None:
    for i in range(5):
        calendar.save_event(event(f"m{i}", "20240105T100000Z", "20240105T110000Z"))
    hrefs = "".join(
        f"<D:href>/alice/work/{name}</D:href>" for name in ("m0.ics", "m3.ics", "gone.ics")
    )
    body = (
        '<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>'
        f"{hrefs}</C:calendar-multiget>"
    )
    response = httpx.request(
        "REPORT", server.url + "/alice/work/", content=body, auth=("alice", PASSWORD)
    )
    assert response.status_code == 207
    parts = {p.split("</href>")[0]: p for p in response.text.split("<href>")[1:]}
    assert set(parts) == {"/alice/work/m0.ics", "/alice/work/m3.ics", "/alice/work/gone.ics"}
    assert "UID:m3" in parts["/alice/work/m3.ics"]
    assert "404" in parts["/alice/work/gone.ics"]


def test_sync_collection_deltas(calendar: caldav.Calendar) -> None:
    first = calendar.save_event(event("s1", "20240105T100000Z", "20240105T110000Z"))
    calendar.save_event(event("s2", "20240106T100000Z", "20240106T110000Z"))
    initial = calendar.objects_by_sync_token(load_objects=True)
    assert {o.icalendar_component["UID"] for o in initial} == {"s1", "s2"}
    token = initial.sync_token
    assert calendar.objects_by_sync_token(sync_token=token).objects == []
    calendar.save_event(event("s3", "20240107T100000Z", "20240107T110000Z"))
    first.icalendar_component["SUMMARY"] = "changed"
    first.save()
    changed = calendar.objects_by_sync_token(sync_token=token, load_objects=True)
    assert {o.icalendar_component["UID"] for o in changed} == {"s1", "s3"}
    first.delete()
    deleted = calendar.objects_by_sync_token(sync_token=changed.sync_token)
    assert [str(o.url).rsplit("/", 1)[-1] for o in deleted] == ["s1.ics"]


def test_unknown_sync_token_is_403_valid_sync_token(
    server: LiveServer, calendar: caldav.Calendar
) -> None:
    body = (
        '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:">'
        "<D:sync-token>urn:kalends:sync:nope:1</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )
    response = httpx.request(
        "REPORT", server.url + "/alice/work/", content=body, auth=("alice", PASSWORD)
    )
    assert response.status_code == 403
    assert "valid-sync-token" in response.text


def test_move_between_calendars(
    server: LiveServer, client: caldav.DAVClient, calendar: caldav.Calendar
) -> None:
    calendar.save_event(event("mv", "20240105T100000Z", "20240105T110000Z"))
    response = httpx.request(
        "MOVE",
        server.url + "/alice/work/mv.ics",
        auth=("alice", PASSWORD),
        headers={"Destination": server.url + "/alice/calendar/mv.ics"},
    )
    assert response.status_code == 201
    assert query_hrefs(server, "/alice/work/", "20240105T000000Z", "20240106T000000Z") == set()
    assert query_hrefs(server, "/alice/calendar/", "20240105T000000Z", "20240106T000000Z") == {
        "mv.ics"
    }


def test_free_busy_from_the_index(calendar: caldav.Calendar) -> None:
    calendar.save_event(event("busy", "20240105T100000Z", "20240105T110000Z"))
    calendar.save_event(
        event("tentative", "20240105T120000Z", "20240105T130000Z", "STATUS:TENTATIVE\r\n")
    )
    calendar.save_event(
        event("free", "20240105T140000Z", "20240105T150000Z", "TRANSP:TRANSPARENT\r\n")
    )
    calendar.save_event(WEEKLY_WITH_EXCEPTIONS)
    answer = calendar.freebusy_request(
        datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC) + timedelta(days=13)
    )
    lines = [line for line in answer.data.splitlines() if line.startswith("FREEBUSY")]
    assert lines == [
        "FREEBUSY;FBTYPE=BUSY:20240105T100000Z/20240105T110000Z",
        "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240105T120000Z/20240105T130000Z",
        "FREEBUSY;FBTYPE=BUSY:20240117T130000Z/20240117T140000Z",
    ]


def test_get_whole_calendar_has_each_timezone_once(
    server: LiveServer, calendar: caldav.Calendar
) -> None:
    calendar.save_event(WEEKLY_WITH_EXCEPTIONS)
    calendar.save_event(WEEKLY_WITH_EXCEPTIONS.replace("UID:weekly", "UID:other"))
    response = httpx.get(server.url + "/alice/work/", auth=("alice", PASSWORD))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    text = response.text
    assert text.count("BEGIN:VTIMEZONE") == 1
    assert text.count("BEGIN:VEVENT") == 4
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
    assert text.endswith("END:VCALENDAR\r\n")


def test_users_only_reach_their_own_collections(
    server: LiveServer, calendar: caldav.Calendar
) -> None:
    calendar.save_event(event("private", "20240105T100000Z", "20240105T110000Z"))
    for method in ("GET", "PROPFIND", "DELETE"):
        response = httpx.request(
            method, server.url + "/alice/work/private.ics", auth=("bob", PASSWORD)
        )
        assert response.status_code in (403, 404), method
        assert "private" not in response.text
    put = httpx.put(
        server.url + "/alice/work/intruder.ics",
        auth=("bob", PASSWORD),
        content=event("intruder", "20240105T100000Z", "20240105T110000Z"),
        headers={"Content-Type": "text/calendar"},
    )
    assert put.status_code in (403, 404)
