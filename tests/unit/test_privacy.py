"""A source brought in busy-only shows when, never what."""

from __future__ import annotations

from kalends.bridges.privacy import reduce_event
from kalends.ical import parse

SERIES = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:s@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:20260105T093000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=5\r\nEXDATE;TZID=Europe/Berlin:20260112T090000\r\n"
    "SUMMARY:Therapy\r\nLOCATION:Dr. Who\r\nDESCRIPTION:private\r\n"
    "ATTENDEE:mailto:a@example.com\r\nX-SECRET:1\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nDESCRIPTION:x\r\nEND:VALARM\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:s@test\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260119T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20260119T100000\r\nDTEND;TZID=Europe/Berlin:20260119T103000\r\n"
    "SUMMARY:Therapy moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_busy_only_keeps_the_timing_of_every_occurrence_and_nothing_else() -> None:
    reduced = parse(reduce_event(SERIES, "busy-only"))
    master, moved = reduced.sub("VEVENT")
    assert reduced.sub("VTIMEZONE"), "the zone stays, so the times still mean the same"
    assert master.first("RRULE") == "FREQ=WEEKLY;COUNT=5"
    assert master.first("EXDATE") == "20260112T090000"
    assert moved.first("DTSTART") == "20260119T100000"
    text = reduce_event(SERIES, "busy-only")
    for secret in ("Therapy", "Dr. Who", "private", "a@example.com", "X-SECRET", "VALARM"):
        assert secret not in text
    assert master.first("SUMMARY") == moved.first("SUMMARY") == "Busy"


def test_title_only_keeps_the_titles() -> None:
    text = reduce_event(SERIES, "title-only")
    assert "SUMMARY:Therapy\r\n" in text and "SUMMARY:Therapy moved" in text
    assert "Dr. Who" not in text and "private" not in text


def test_full_is_the_event_itself() -> None:
    assert reduce_event(SERIES, "full") == SERIES
