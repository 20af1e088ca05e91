"""The occurrence index answers time-range queries exactly as Radicale's own filter does.

Radicale skips its (expensive) filter for every item the storage yields with ``True``; these
tests compare, for random recurring events and random windows, what the application would answer
with our pre-filter against Radicale's filter run on every item.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from hypothesis import given
from hypothesis import strategies as st
from radicale import config as radicale_config
from radicale import item as radicale_item
from radicale.app.report import test_filter as radicale_test_filter

from kalends.storage import Collection, Storage
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.storage.occurrences import TIMESTAMP_MAX, index_occurrences

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collection]:
    url = "sqlite:///%s" % (tmp_path_factory.mktemp("index") / "index.db")
    migrate_database(url)
    engine = create_storage_engine(url)
    storage = Storage(radicale_config.load(), engine)
    with storage.acquire_lock("w", "u"):
        storage.create_collection("/u/")
        calendar, _, _ = storage.create_collection("/u/c/", props={"tag": "VCALENDAR"})
    yield calendar
    engine.dispose()


def _format(moment: date, zone: str) -> str:
    if not isinstance(moment, datetime):
        return ";VALUE=DATE:{}".format(moment.strftime("%Y%m%d"))
    if zone == "UTC":
        return ":{}".format(moment.strftime("%Y%m%dT%H%M%SZ"))
    return ";TZID={}:{}".format(zone, moment.strftime("%Y%m%dT%H%M%S"))


@st.composite
def recurring_events(draw: st.DrawFn) -> str:
    all_day = draw(st.booleans())
    zone = draw(st.sampled_from(ZONES))
    day = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 365)))
    if all_day:
        start: date = day
        end: date = day + timedelta(days=draw(st.integers(1, 3)))
    else:
        start = datetime(
            day.year, day.month, day.day, draw(st.integers(0, 23)), draw(st.sampled_from([0, 30]))
        )
        end = start + timedelta(minutes=draw(st.sampled_from([0, 30, 60, 600, 3000, 14400])))
    lines = ["BEGIN:VEVENT", "UID:ev", "DTSTAMP:20240101T000000Z"]
    lines += [f"DTSTART{_format(start, zone)}", f"DTEND{_format(end, zone)}"]
    freq = draw(st.sampled_from([None, "DAILY", "WEEKLY", "MONTHLY"]))
    override = ""
    if freq is not None:
        bound = draw(st.sampled_from(["COUNT", "UNTIL", None]))
        rule = f"FREQ={freq};INTERVAL={draw(st.integers(1, 3))}"
        if bound == "COUNT":
            rule += f";COUNT={draw(st.integers(1, 40))}"
        elif bound == "UNTIL":
            rule += ";UNTIL=" + (
                _format(start + timedelta(days=draw(st.integers(0, 400))), "UTC")[1:]
                if isinstance(start, datetime)
                else (start + timedelta(days=90)).strftime("%Y%m%d")
            )
        lines.append("RRULE:" + rule)
        step = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31}[freq]
        if draw(st.booleans()):
            excluded = start + timedelta(days=step * draw(st.integers(1, 3)))
            lines.append(f"EXDATE{_format(excluded, zone)}")
        if draw(st.booleans()) and freq != "MONTHLY":
            original = start + timedelta(days=step)
            moved = original + timedelta(hours=draw(st.integers(-48, 48)))
            length = end - start
            override = (
                "\r\n".join(
                    [
                        "BEGIN:VEVENT",
                        "UID:ev",
                        "DTSTAMP:20240101T000000Z",
                        f"RECURRENCE-ID{_format(original, zone)}",
                        f"DTSTART{_format(moved, zone)}",
                        f"DTEND{_format(moved + length, zone)}",
                        "END:VEVENT",
                    ]
                )
                + "\r\n"
            )
    lines.append("END:VEVENT")
    body = "\r\n".join(lines) + "\r\n" + override
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n"


def _window_filter(start: datetime, end: datetime) -> ET.Element:
    return ET.fromstring(
        '<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR">'
        '<C:comp-filter name="VEVENT"><C:time-range start="{}" end="{}"/></C:comp-filter>'
        "</C:comp-filter></C:filter>".format(
            start.strftime("%Y%m%dT%H%M%SZ"), end.strftime("%Y%m%dT%H%M%SZ")
        )
    )


def _prepared(text: str, path: str) -> radicale_item.Item:
    item = radicale_item.Item(collection_path=path, vobject_item=vobject.readOne(text))
    item.prepare()
    return item


@given(
    texts=st.lists(recurring_events(), min_size=1, max_size=4),
    window_start=st.datetimes(datetime(2023, 10, 1), datetime(2026, 1, 1)),
    window_hours=st.integers(1, 24 * 60),
)
def test_prefilter_agrees_with_radicales_filter(
    collection: Collection, texts: list[str], window_start: datetime, window_hours: int
) -> None:
    storage = collection._storage
    with storage.acquire_lock("w", "u"):
        for href in [item.href for item in collection.list_items()]:
            collection.delete(href)
        for number, text in enumerate(texts):
            collection.upload(
                f"e{number}.ics", _prepared(text.replace("UID:ev", f"UID:ev{number}"), "u/c")
            )
    start = window_start.replace(tzinfo=UTC)
    filter_ = _window_filter(start, start + timedelta(hours=window_hours))
    truth = {
        item.href
        for item in collection.get_all()
        if radicale_test_filter("VCALENDAR", item, filter_)
    }
    answered = set()
    for item, matched in collection.get_filtered([filter_]):
        if matched:
            assert radicale_test_filter("VCALENDAR", item, filter_), "claimed exact, but wrong"
            answered.add(item.href)
        elif radicale_test_filter("VCALENDAR", item, filter_):
            answered.add(item.href)
    assert answered == truth


@given(text=recurring_events())
def test_the_span_of_a_complete_walk_is_radicales_time_range(text: str) -> None:
    """The storage takes a set's enclosing range from its own walk of the occurrences when the
    walk saw all of them; Radicale's ``time_range`` walks them again for the same answer."""
    calendar = vobject.readOne(text)
    index = index_occurrences(calendar, "VEVENT")
    endless = "COUNT=" not in text and "UNTIL=" not in text and "RRULE" in text
    assert (index.span is None) == endless
    if index.span is not None:
        assert index.span == radicale_item.find_time_range(calendar, "VEVENT")
    assert (
        index_occurrences(calendar, "VEVENT", limit=1).span is None or len(index.occurrences) == 1
    )


def test_a_rule_radicale_takes_for_endless_gets_its_span_from_radicale() -> None:
    """Radicale looks for ";UNTIL=" and ";COUNT=": a rule starting with UNTIL ends, but Radicale
    spans it to the end of time, and the stored span must be Radicale's."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T090000Z\r\nDTEND:20240101T100000Z\r\n"
        "RRULE:UNTIL=20240105T090000Z;FREQ=DAILY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    calendar = vobject.readOne(text)
    index = index_occurrences(calendar, "VEVENT")
    assert len(index.occurrences) == 5 and index.span is None
    assert radicale_item.find_time_range(calendar, "VEVENT")[1] == TIMESTAMP_MAX


def test_long_series_are_indexed_up_to_the_cap_then_left_to_radicale() -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:d\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T090000Z\r\nDTEND:20240101T100000Z\r\n"
        "RRULE:FREQ=DAILY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    index = index_occurrences(vobject.readOne(text), "VEVENT", limit=5)
    assert [o.start for o in index.occurrences] == [1704099600 + day * 86400 for day in range(5)]
    assert index.indexed_until == 1704099600 + 5 * 86400
    bounded = text.replace("FREQ=DAILY", "FREQ=DAILY;COUNT=3")
    assert index_occurrences(vobject.readOne(bounded), "VEVENT").indexed_until == TIMESTAMP_MAX


def test_transparent_and_cancelled_events_keep_their_free_busy_type() -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:d\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T090000Z\r\nDTEND:20240101T100000Z\r\n"
        "%sEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    kinds = {
        "": "BUSY",
        "TRANSP:TRANSPARENT\r\n": None,
        "STATUS:CANCELLED\r\n": "FREE",
        "STATUS:TENTATIVE\r\n": "BUSY-TENTATIVE",
    }
    for extra, fbtype in kinds.items():
        (occurrence,) = index_occurrences(vobject.readOne(text % extra), "VEVENT").occurrences
        assert occurrence.fbtype == fbtype


def test_zone_names_in_the_generator_exist() -> None:
    for zone in ZONES:
        ZoneInfo(zone)


def test_streamed_export_equals_radicales_serialization(collection: Collection) -> None:
    from radicale.storage import BaseCollection

    with collection._storage.acquire_lock("w", "u"):
        for href in [item.href for item in collection.list_items()]:
            collection.delete(href)
        for number, zone in enumerate(ZONES * 2):
            start = datetime(2024, 3, 1 + number, 9)
            text = (
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
                f"UID:x{number}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART{_format(start, zone)}\r\n"
                "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n"
                "END:VEVENT\r\nX-WR-TIMEZONE:Europe/Berlin\r\nEND:VCALENDAR\r\n"
            )
            collection.upload(f"x{number}.ics", _prepared(text, "u/c"))
    exported = collection.serialize()
    assert exported == BaseCollection.serialize(collection)
    assert exported.count("BEGIN:VEVENT") == 8
    assert exported.count("BEGIN:VTIMEZONE") >= 1
