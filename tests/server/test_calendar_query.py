"""calendar-query REPORT answered as text (``kalends.server.calendar_query``), on both databases.

Every answer of the fast path is compared byte for byte with Radicale's own answer to the same
request (the fast path switched off), and the hrefs it names with the items Radicale's filter
accepts when run on every item of the calendar.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from radicale.app.report import test_filter as radicale_test_filter

from kalends.config import load_settings
from kalends.server import calendar_query
from kalends.server.provision import provision_calendars
from kalends.server.radicale_app import KalendsApplication
from kalends.server.radicale_config import build_radicale_configuration
from kalends.storage.engine import create_storage_engine, migrate_database
from tests.server.test_propfind_listing import call
from tests.server.test_unified import write_config
from tests.storage.test_caldav_client import WEEKLY_WITH_EXCEPTIONS, event

CALDAV = "urn:ietf:params:xml:ns:caldav"
PATHS = ("/alice/calendar/", "/alice/work/", "/alice/home/", "/alice/all/")
NEW_YORK = (
    "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19701101T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700308T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n"
    "END:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)


def _zoned(uid: str, start: str, end: str) -> str:
    text = event(uid, start, end).replace("DTSTART:", "DTSTART;TZID=America/New_York:")
    text = text.replace("DTEND:", "DTEND;TZID=America/New_York:")
    return text.replace("PRODID:-//test//EN\r\n", "PRODID:-//test//EN\r\n" + NEW_YORK)


def _all_day(uid: str, day: str, next_day: str) -> str:
    text = event(uid, day, next_day).replace("DTSTART:", "DTSTART;VALUE=DATE:")
    return text.replace("DTEND:", "DTEND;VALUE=DATE:")


TODO = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:todo\r\n"
    "DTSTAMP:20240101T000000Z\r\nDTSTART:20240105T090000Z\r\nDUE:20240105T100000Z\r\n"
    "SUMMARY:todo\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
)
# the daily series never ends: its occurrence index stops short of 2030, so a query there gets
# it unvouched for (matched=False) and Radicale's filter decides
DAILY = event("daily", "20240101T070000Z", "20240101T073000Z", "RRULE:FREQ=DAILY\r\n")
ITEMS = {
    "/alice/calendar/single.ics": event(
        "single", "20240105T100000Z", "20240105T110000Z", summary="a & b <c>"
    ),
    "/alice/calendar/allday.ics": _all_day("allday", "20240110", "20240111"),
    "/alice/calendar/weekly.ics": WEEKLY_WITH_EXCEPTIONS,
    "/alice/calendar/floating.ics": event("floating", "20240112T230000", "20240113T010000"),
    "/alice/calendar/zoned.ics": _zoned("zoned", "20240114T210000", "20240114T220000"),
    "/alice/calendar/daily.ics": DAILY,
    "/alice/calendar/todo.ics": TODO,
    "/alice/calendar/b c.ics": event("b c", "20240106T100000Z", "20240106T110000Z"),
    "/alice/work/dup.ics": event("dup", "20240103T100000Z", "20240103T110000Z"),
    "/alice/work/same.ics": event("s-work", "20240104T100000Z", "20240104T110000Z"),
    "/alice/home/dup-home.ics": event("dup", "20240103T100000Z", "20240103T110000Z"),
    "/alice/home/same.ics": event("s-home", "20240104T120000Z", "20240104T130000Z"),
    "/alice/home/ü&.ics": _all_day("umlaut", "20240108", "20240109"),
}


@contextmanager
def application_with(
    tmp_path: Path, database_url: str, password_hash: str, *puts: tuple[str, str, dict[str, str]]
) -> Iterator[KalendsApplication]:
    """Kalends' application over a fresh database (users alice and bob, alice's calendars
    calendar, work and home under the unified all), after the PUTs (path, text, headers)."""
    settings = load_settings(write_config(tmp_path, database_url, password_hash, "home"))
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url)
    application = KalendsApplication(build_radicale_configuration(settings, engine))
    provision_calendars(application._storage, settings)
    for path, text, headers in puts:
        status, answer = call(application, "PUT", path, text.encode(), **headers)
        assert status.startswith("201"), (path, answer)
    try:
        yield application
    finally:
        engine.dispose()


@pytest.fixture
def app(tmp_path: Path, database_url: str, password_hash: str) -> Iterator[KalendsApplication]:
    puts = [(path, text, {}) for path, text in ITEMS.items()]
    with application_with(tmp_path, database_url, password_hash, *puts) as application:
        yield application


class Spy:
    """Counts the calls of a function of ``kalends.server.calendar_query``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls = 0
        original = getattr(calendar_query, name)

        def spy(*args: Any) -> Any:
            self.calls += 1
            return original(*args)

        monkeypatch.setattr(calendar_query, name, spy)


def query(props: str, filter_: str) -> bytes:
    return (
        f'<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="{CALDAV}">'
        f"<D:prop>{props}</D:prop>{filter_}</C:calendar-query>"
    ).encode()


def events_in(start: str, end: str) -> str:
    return (
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter>'
    )


ALL_EVENTS = (
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/>'
    "</C:comp-filter></C:filter>"
)
ZONED_QUERY = (  # a C:timezone for floating times in the query, which Radicale ignores
    f"<C:timezone>BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{NEW_YORK}"
    f"END:VCALENDAR\r\n</C:timezone>{events_in('20240112T220000Z', '20240113T000000Z')}"
)
TODOS = (
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO">'
    '<C:time-range start="20240105T000000Z" end="20240106T000000Z"/></C:comp-filter>'
    "</C:comp-filter></C:filter>"
)
FILTERS = [
    events_in("20240101T000000Z", "20240108T000000Z"),
    events_in("20240108T000000Z", "20240115T000000Z"),
    events_in("20240115T000000Z", "20240116T000000Z"),  # the moved instance's old day
    events_in("20240113T000000Z", "20240113T003000Z"),  # inside the floating event
    events_in("20240115T015900Z", "20240115T020100Z"),  # New York 21:00 is 02:00 UTC
    events_in("20300101T000000Z", "20300108T000000Z"),  # only the endless daily series
    ALL_EVENTS,
    ZONED_QUERY,
    TODOS,
    "",  # no filter: everything
]
PROPS = [
    "<D:getetag/><C:calendar-data/>",
    "<D:getetag/>",
    "<C:calendar-data/><D:getcontenttype/><D:getetag/>",
    # properties Radicale answers 404 for in a REPORT, as the caldav library asks
    "<C:calendar-data/><D:getetag/><C:schedule-tag/>",
    "<X:a xmlns:X='urn:x'/><D:getlastmodified/><D:getetag/><Y:b xmlns:Y='urn:y'/>"
    "<X:c xmlns:X='urn:x'/>",
]


def radicale_answer(app: KalendsApplication, path: str, body: bytes) -> tuple[str, bytes]:
    """The answer with Kalends' REPORT paths switched off: Radicale's own."""
    app._owner_rights_only = lambda: False  # type: ignore[method-assign]
    try:
        return call(app, "REPORT", path, body, depth="1")
    finally:
        del app._owner_rights_only


def named(answer: bytes) -> dict[str, str]:
    """item name -> its etag, from a multistatus answer."""
    parts = answer.decode().split("<response>")[1:]
    found = {}
    for part in parts:
        href = re.search(r"<href>([^<]*)</href>", part)
        etag = re.search(r"<getetag>([^<]*)</getetag>", part)
        assert href is not None
        found[unquote(href.group(1)).rsplit("/", 1)[1]] = etag.group(1) if etag else ""
    return found


def filtered_by_radicale(app: KalendsApplication, path: str, filter_: str) -> set[str]:
    """The names of the items Radicale's own filter accepts, tried on every item."""
    collection = next(iter(app._storage.discover(path)))
    if not filter_:
        return {item.href for item in collection.get_all()}
    filter_ = filter_[filter_.index("<C:filter>") :]  # without a C:timezone
    parsed = ET.fromstring(filter_.replace("<C:filter>", f'<C:filter xmlns:C="{CALDAV}">', 1))
    return {
        item.href
        for item in collection.get_all()
        if radicale_test_filter("VCALENDAR", item, parsed)
    }


@pytest.mark.parametrize("props", PROPS)
def test_answers_are_radicale_s(
    app: KalendsApplication, props: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = Spy(monkeypatch, "multistatus")
    judged = Spy(monkeypatch, "test_filter")
    seen: set[str] = set()
    for path in PATHS:
        for filter_ in FILTERS:
            body = query(props, filter_)
            fast = call(app, "REPORT", path, body, depth="1")
            assert written.calls == 1, (path, filter_)  # the fast path answered
            written.calls = 0
            assert fast == radicale_answer(app, path, body), (path, filter_)
            assert fast[0].startswith("207")
            assert set(named(fast[1])) == filtered_by_radicale(app, path, filter_)
            seen |= set(named(fast[1]))
    assert judged.calls > 0  # the daily series in 2030: Radicale's filter decided
    assert {"same.ics", "same~home.ics", "ü&.ics", "b c.ics", "daily.ics"} <= seen
    assert "dup-home.ics" not in named(call(app, "REPORT", "/alice/all/", query(props, ""))[1])


def test_calendar_data_is_the_stored_text_escaped(app: KalendsApplication) -> None:
    body = query(
        "<D:getetag/><C:calendar-data/>", events_in("20240105T093000Z", "20240105T120000Z")
    )
    status, answer = call(app, "REPORT", "/alice/calendar/", body)
    assert status.startswith("207")
    root = ET.fromstring(answer)
    data = root.findall(f".//{{{CALDAV}}}calendar-data")
    assert [d.text for d in data] == [ITEMS["/alice/calendar/single.ics"].replace("\r\n", "\n")]
    assert b"SUMMARY:a &amp; b &lt;c&gt;" in answer
    nothing = query("<D:getetag/>", events_in("20250101T000000Z", "20250102T000000Z"))
    empty = call(app, "REPORT", "/alice/work/", nothing)
    assert empty[1].endswith(b'<multistatus xmlns="DAV:" />')
    assert empty == radicale_answer(app, "/alice/work/", nothing)


@pytest.mark.parametrize(
    ("props", "filter_"),
    [
        # no property Radicale finds: only 404s
        ("<D:getlastmodified/>", events_in("20240101T000000Z", "20240108T000000Z")),
        # expansion of recurrences
        (
            '<C:calendar-data><C:expand start="20240101T000000Z" end="20240201T000000Z"/>'
            "</C:calendar-data>",
            events_in("20240101T000000Z", "20240201T000000Z"),
        ),
        # partial retrieval (Radicale ignores it and serves the whole object)
        (
            '<C:calendar-data><C:comp name="VCALENDAR"/></C:calendar-data>',
            events_in("20240101T000000Z", "20240108T000000Z"),
        ),
        ("<D:getetag/><CR:address-data xmlns:CR='urn:ietf:params:xml:ns:carddav'/>", ""),
    ],
)
def test_other_queries_are_left_to_radicale(
    app: KalendsApplication, props: str, filter_: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = Spy(monkeypatch, "multistatus")
    for path in ("/alice/calendar/", "/alice/all/"):
        body = query(props, filter_)
        answer = call(app, "REPORT", path, body)
        assert written.calls == 0
        assert answer == radicale_answer(app, path, body)
        assert answer[0].startswith("207") and b"<response>" in answer[1]


def test_a_filter_the_storage_does_not_vouch_for_is_radicale_s(
    app: KalendsApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text-match: the storage pre-filters on the time range only; Radicale's filter decides."""
    judged = Spy(monkeypatch, "test_filter")
    filter_ = (
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        '<C:time-range start="20240101T000000Z" end="20240201T000000Z"/>'
        '<C:prop-filter name="SUMMARY"><C:text-match>STANDUP</C:text-match></C:prop-filter>'
        "</C:comp-filter></C:comp-filter></C:filter>"
    )
    body = query("<D:getetag/><C:calendar-data/>", filter_)
    for path in ("/alice/calendar/", "/alice/all/"):
        answer = call(app, "REPORT", path, body)
        assert judged.calls > 0
        assert answer == radicale_answer(app, path, body)
        assert set(named(answer[1])) == {"weekly.ics"} == filtered_by_radicale(app, path, filter_)


def test_errors_are_radicale_s(app: KalendsApplication) -> None:
    """A bad time-range and a answer past max_expand_occurrence: Radicale's 400."""
    bad = query("<D:getetag/>", events_in("yesterday", "20240108T000000Z"))
    assert call(app, "REPORT", "/alice/calendar/", bad)[0].startswith("400")
    app.configuration.update({"reporting": {"max_expand_occurrence": "3"}}, "test")
    body = query("<C:calendar-data/>", events_in("20240101T000000Z", "20240108T000000Z"))
    too_many = call(app, "REPORT", "/alice/calendar/", body)
    assert too_many[0].startswith("400") and too_many == radicale_answer(
        app, "/alice/calendar/", body
    )
    few = query("<D:getetag/>", events_in("20240101T000000Z", "20240108T000000Z"))
    assert call(app, "REPORT", "/alice/calendar/", few)[0].startswith("207")  # etags: uncounted


class _Text:
    def __init__(self, text: str) -> None:
        self.text = text

    def serialize(self) -> str:
        return self.text


def test_the_vevent_count_is_radicale_s() -> None:
    """Radicale counts the lines that upper-case to BEGIN:VEVENT; the cheap bound never
    undercounts (a lower-case or dotless-i line) and the exact count decides past it."""
    texts = [
        "BEGIN:VCALENDAR\r\nbegin:vevent\r\nSUMMARY:Visit:v\r\nEND:VEVENT\r\n",
        "BEGIN:VEVENT\nDESCRIPTION:BEGIN:VEVENT\nbeg\u0131n:VeVeNt\rBEGIN:VEVENT\x0bEND:VEVENT",
    ]
    radicale = sum(
        1 for text in texts for line in text.splitlines() if line.upper() == "BEGIN:VEVENT"
    )
    assert radicale == 4
    items: Any = [_Text(text) for text in texts]
    for copies in (1, 2):
        for limit in range(1, 12):
            expected = radicale * copies > limit
            assert calendar_query._too_many_vevents(items, limit, copies) == expected
