"""The occurrences an Outlook series' RRULE should have in the synced window (the ones Graph no
longer lists are its deleted occurrences)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kalends.bridges.outlook.series import expected_keys

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)

BERLIN_BLOCK = (
    "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
    "END:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)


def series(start: str, rule: str, zone: str = "", extra: str = "") -> str:
    block = BERLIN_BLOCK.format(tzid=zone) if zone else ""
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{block}BEGIN:VEVENT\r\nUID:s@test\r\n"
        f"DTSTAMP:20260101T000000Z\r\n{start}\r\nRRULE:{rule}\r\n{extra}END:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )


@pytest.mark.parametrize(
    ("text", "first", "count"),
    [
        (series("DTSTART;TZID=Europe/Berlin:20270104T090000", "FREQ=WEEKLY;COUNT=3",
                "Europe/Berlin"), "20270104T080000Z", 3),
        (series("DTSTART;TZID=Europe/Berlin:20270301T090000",
                "FREQ=WEEKLY;UNTIL=20270405T070000Z", "Europe/Berlin"), "20270301T080000Z", 6),
        (series("DTSTART:20270104T090000Z", "FREQ=MONTHLY;BYDAY=1MO;COUNT=4"),
         "20270104T090000Z", 4),
        (series("DTSTART:20270104T090000", "FREQ=DAILY;UNTIL=20270106T235959"),
         "20270104T090000Z", 3),
        (series("DTSTART;VALUE=DATE:20270104", "FREQ=DAILY;UNTIL=20270110"), "20270104", 7),
        (series("DTSTART;TZID=W. Europe Standard Time:20270104T090000", "FREQ=DAILY;COUNT=2",
                "W. Europe Standard Time"), "20270104T080000Z", 2),
    ],
    ids=["zoned", "zoned-until", "utc", "floating-until", "all-day-until", "custom-zone"],
)  # fmt: skip
def test_the_rule_gives_the_keys_instance_keys_are_compared_with(
    text: str, first: str, count: int
) -> None:
    keys = expected_keys(text, START, END)
    assert min(keys) == first and len(keys) == count


def test_exdates_and_overrides_do_not_change_what_the_rule_gives() -> None:
    text = series(
        "DTSTART:20270104T090000Z", "FREQ=DAILY;COUNT=4", extra="EXDATE:20270105T090000Z\r\n"
    ).replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\r\nUID:s@test\r\nRECURRENCE-ID:20270106T090000Z\r\n"
        "DTSTART:20270106T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR",
    )
    assert len(expected_keys(text, START, END)) == 4
    assert expected_keys(series("DTSTART:20270104T090000Z", "X").replace(
        "RRULE:X\r\n", ""), START, END) == set()  # fmt: skip
