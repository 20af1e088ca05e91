"""Full Calendar notes <-> iCalendar: each note type, time zones, all-day ends, refusals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalends.bridges.base import Unsupported
from kalends.bridges.obsidian.catalog import derived_uid, parse_note
from kalends.bridges.obsidian.frontmatter import split
from kalends.bridges.obsidian.icalin import event_from_ical
from kalends.bridges.obsidian.icalout import ZoneBlocks, to_ical
from kalends.bridges.obsidian.mapping import ical_to_note, note_to_ical
from kalends.bridges.obsidian.model import EventData, NoteError
from kalends.bridges.obsidian.yamltext import load_mapping
from kalends.ical import normalized, parse

RID = "calendar/note.md"
STAMP = datetime(2026, 1, 1)


def vcal(*lines: str, uid: str = "map@test", extra: str = "") -> str:
    body = "\r\n".join(lines)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{body}\r\nEND:VEVENT\r\n"
        f"{extra}END:VCALENDAR\r\n"
    )


def note(*lines: str, body: str = "") -> str:
    return "---\n" + "".join(f"{line}\n" for line in lines) + "---\n" + body


def props(ical: str) -> dict[str, str]:
    """Property lines of the VEVENT by name (with parameters), e.g. 'DTSTART;TZID=X': value."""
    found: dict[str, str] = {}
    for line in parse(ical).sub("VEVENT")[0].lines:
        name, _, value = line.partition(":")
        found[name] = value
    return found


def fields(text: str) -> dict[str, object]:
    return split(text).mapping()


def round_trip(ical: str, default_zone: str | None = None) -> tuple[str, str]:
    """(note written for ``ical``, the iCalendar read back from that note)."""
    written = ical_to_note(ical, default_zone=default_zone)
    return written, note_to_ical(written, RID)


# -- each kind of event, both directions ---------------------------------------------------------


def test_a_timed_event_keeps_its_time_zone() -> None:
    ical = vcal(
        "DTSTART;TZID=Europe/Paris:20261210T090000",
        "DTEND;TZID=Europe/Paris:20261210T103000",
        "SUMMARY:Dentist",
        "LOCATION:12 rue de la Paix\\; 2nd floor",
    )
    written, back = round_trip(ical)
    assert fields(written) == {
        "title": "Dentist",
        "uid": "map@test",
        "type": "single",
        "allDay": False,
        "date": date(2026, 12, 10),
        "startTime": "09:00",
        "endTime": "10:30",
        "timezone": "Europe/Paris",
        "location": "12 rue de la Paix; 2nd floor",
    }
    assert 'startTime: "09:00"' in written  # times quoted, as YAML 1.1 readers need
    assert normalized(back) == normalized(ical)
    assert "BEGIN:VTIMEZONE" in back and "TZID:Europe/Paris" in back


def test_an_all_day_event_of_one_day_has_no_end_date() -> None:
    ical = vcal("DTSTART;VALUE=DATE:20260514", "DTEND;VALUE=DATE:20260515", "SUMMARY:Birthday")
    written, back = round_trip(ical)
    assert fields(written)["date"] == date(2026, 5, 14)
    assert fields(written)["allDay"] is True
    assert "endDate" not in fields(written)
    assert normalized(back) == normalized(ical)


def test_a_multi_day_all_day_event_keeps_its_exclusive_end() -> None:
    """Full Calendar's endDate is FullCalendar.js' exclusive end, like DTEND: no off-by-one."""
    ical = vcal("DTSTART;VALUE=DATE:20260803", "DTEND;VALUE=DATE:20260808", "SUMMARY:Trip")
    written, back = round_trip(ical)
    assert fields(written)["date"] == date(2026, 8, 3)
    assert fields(written)["endDate"] == date(2026, 8, 8)
    assert props(back)["DTSTART;VALUE=DATE"] == "20260803"
    assert props(back)["DTEND;VALUE=DATE"] == "20260808"


def test_an_all_day_note_reads_without_shifting_a_day() -> None:
    """Dates are calendar dates, never UTC midnights (the Remastered plugin's bug #223)."""
    text = note("title: Holiday", "allDay: true", "date: 2026-12-31", "endDate: 2027-01-02")
    got = props(note_to_ical(text, RID))
    assert got["DTSTART;VALUE=DATE"] == "20261231"
    assert got["DTEND;VALUE=DATE"] == "20270102"
    one_day = props(note_to_ical(note("title: x", "allDay: true", "date: 2026-03-29"), RID))
    assert one_day["DTEND;VALUE=DATE"] == "20260330"


def test_a_floating_time_stays_floating() -> None:
    ical = vcal("DTSTART:20260105T180000", "DTEND:20260105T193000", "SUMMARY:Gym")
    written, back = round_trip(ical, default_zone="Europe/Berlin")
    assert "timezone" not in fields(written)
    assert props(back)["DTSTART"] == "20260105T180000"
    assert normalized(back) == normalized(ical)


def test_utc_times_are_written_in_the_bridge_zone() -> None:
    ical = vcal("DTSTART:20260105T100000Z", "DTEND:20260105T113000Z", "SUMMARY:Call")
    written, back = round_trip(ical, default_zone="Europe/Berlin")
    assert fields(written)["timezone"] == "Europe/Berlin"
    assert (fields(written)["startTime"], fields(written)["endTime"]) == ("11:00", "12:30")
    assert props(back)["DTSTART;TZID=Europe/Berlin"] == "20260105T110000"
    plain = ical_to_note(ical)  # no zone option: the note says UTC and keeps the UTC time
    assert fields(plain)["timezone"] == "UTC" and fields(plain)["startTime"] == "10:00"
    assert props(note_to_ical(plain, RID))["DTSTART"] == "20260105T100000Z"


def test_a_repeating_utc_event_stays_in_utc() -> None:
    """Moving a series to another zone would move its occurrences across DST changes."""
    ical = vcal("DTSTART:20260105T100000Z", "DTEND:20260105T110000Z", "RRULE:FREQ=WEEKLY")
    written = ical_to_note(ical, default_zone="Europe/Berlin")
    assert fields(written)["timezone"] == "UTC"


def test_a_windows_zone_name_becomes_its_iana_name() -> None:
    ical = vcal(
        "DTSTART;TZID=W. Europe Standard Time:20260105T100000",
        "DTEND;TZID=W. Europe Standard Time:20260105T110000",
    )
    written = ical_to_note(ical)
    assert fields(written)["timezone"] == "Europe/Berlin"
    assert fields(written)["startTime"] == "10:00"


def test_rrule_with_skip_dates() -> None:
    ical = vcal(
        "DTSTART;TZID=Europe/Paris:20260105T093000",
        "DTEND;TZID=Europe/Paris:20260105T094500",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "EXDATE;TZID=Europe/Paris:20260119T093000,20260120T093000",
        "SUMMARY:Standup",
    )
    written, back = round_trip(ical)
    got = fields(written)
    assert got["type"] == "rrule" and got["startDate"] == date(2026, 1, 5)
    assert got["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    assert got["skipDates"] == [date(2026, 1, 19), date(2026, 1, 20)]
    assert "skipDates: [2026-01-19,2026-01-20]" in written  # inline, as Full Calendar writes
    assert normalized(back) == normalized(ical)


def test_an_all_day_rrule_skips_dates() -> None:
    ical = vcal(
        "DTSTART;VALUE=DATE:20260101",
        "DTEND;VALUE=DATE:20260102",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=1",
        "EXDATE;VALUE=DATE:20260301",
    )
    written, back = round_trip(ical)
    assert fields(written)["allDay"] is True
    assert normalized(back) == normalized(ical)


def test_days_of_week_read_as_a_weekly_rule() -> None:
    text = note(
        "title: Gym",
        "type: recurring",
        "daysOfWeek: [T,R]",
        "startRecur: 2026-01-01",
        "endRecur: 2026-06-01",
        "startTime: 18:30",
        "endTime: 7:45 pm",
    )
    got = props(note_to_ical(text, RID))
    assert got["DTSTART"] == "20260101T183000"  # 1 January 2026 is a Thursday (R)
    assert got["DTEND"] == "20260101T194500"
    assert got["RRULE"] == "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20260531T235959"  # endRecur exclusive


def test_days_of_week_start_on_the_first_matching_day() -> None:
    text = note("title: Yoga", "type: recurring", "daysOfWeek: [U]", "startRecur: 2026-01-05")
    got = props(note_to_ical(text, RID))
    assert got["DTSTART;VALUE=DATE"] == "20260111"  # the Sunday after Monday 5 January


def test_a_recurring_note_stays_recurring_when_its_title_changes() -> None:
    text = note(
        "title: Gym",
        "type: recurring",
        "daysOfWeek: [M,W]",
        "startRecur: 2026-01-05",
        "endRecur: 2026-03-02",
        "startTime: 18:30",
        "endTime: 19:30",
        "timezone: Europe/Paris",
    )
    ical = note_to_ical(text, RID).replace("SUMMARY:Gym", "SUMMARY:Gym with Sam")
    updated = ical_to_note(ical, note=text, remote_id=RID)
    # Only the title line changes; the note gets its UID (appended) along with that change.
    expected = text.replace("title: Gym\n", "title: Gym with Sam\n")
    assert updated == expected.replace("\n---\n", f"\nuid: {derived_uid(RID)}\n---\n")


def test_a_changed_weekly_rule_is_written_as_rrule() -> None:
    text = note("title: Gym", "type: recurring", "daysOfWeek: [M]", "startRecur: 2026-01-05")
    ical = note_to_ical(text, RID).replace("BYDAY=MO", "BYDAY=MO;INTERVAL=2")
    got = fields(ical_to_note(ical, note=text, remote_id=RID))
    assert got["type"] == "rrule" and got["rrule"] == "FREQ=WEEKLY;BYDAY=MO;INTERVAL=2"
    assert "daysOfWeek" not in got and "startRecur" not in got


def test_times_in_the_forms_full_calendar_accepts() -> None:
    for written, expected in [("9:30", "093000"), ('"09:30"', "093000"), ("9:30 pm", "213000")]:
        text = note("title: t", "date: 2026-01-05", f"startTime: {written}")
        assert props(note_to_ical(text, RID))["DTSTART"] == f"20260105T{expected}"


def test_an_overnight_event_ends_the_next_day() -> None:
    text = note("title: Party", "date: 2026-12-31", "startTime: 22:00", "endTime: 02:00")
    assert props(note_to_ical(text, RID))["DTEND"] == "20270101T020000"
    ical = vcal("DTSTART:20261231T220000", "DTEND:20270101T020000")
    assert fields(ical_to_note(ical))["endDate"] == date(2027, 1, 1)


def test_missing_title_is_the_file_name_and_missing_uid_is_derived_from_the_path() -> None:
    text = note("allDay: true", "date: 2026-01-05")
    event = parse_note("calendar/2026-01-05 Lunch with Ana.md", text.encode()).event
    assert event.summary == "2026-01-05 Lunch with Ana"
    assert event.uid.startswith("obsidian-") and event.uid.endswith("@kalends")
    again = parse_note("calendar/2026-01-05 Lunch with Ana.md", text.encode()).event
    assert again.uid == event.uid
    assert parse_note("calendar/other.md", text.encode()).event.uid != event.uid


def test_text_fields_with_special_characters() -> None:
    ical = vcal(
        "DTSTART;VALUE=DATE:20260105",
        "SUMMARY:Review: Q1 # plans \\; costs",
        'DESCRIPTION:Line one\\nLine "two"\\n\\\\ end',
        "URL:https://example.com/a?b=c&d=e",
    )
    written, back = round_trip(ical)
    got = fields(written)
    assert got["title"] == "Review: Q1 # plans ; costs"
    assert got["description"] == 'Line one\nLine "two"\n\\ end'
    assert all(len(load_mapping(line)) == 1 for line in split(written).lines)  # a key a line
    assert normalized(back) == normalized(
        vcal(
            "DTSTART;VALUE=DATE:20260105",
            "DTEND;VALUE=DATE:20260106",
            "SUMMARY:Review: Q1 # plans \\; costs",
            'DESCRIPTION:Line one\\nLine "two"\\n\\\\ end',
            "URL:https://example.com/a?b=c&d=e",
        )
    )


# -- refusals ------------------------------------------------------------------------------------


OVERRIDE = vcal(
    "DTSTART:20260105T100000",
    "RRULE:FREQ=DAILY",
    uid="o@test",
    extra="BEGIN:VEVENT\r\nUID:o@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID:20260106T100000\r\nDTSTART:20260106T120000\r\nEND:VEVENT\r\n",
)


@pytest.mark.parametrize(
    ("ical", "words"),
    [
        (OVERRIDE, "RECURRENCE-ID"),
        (vcal("DTSTART:20260105T100000", "RRULE:FREQ=DAILY", "RDATE:20260110T100000"), "RDATE"),
        (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t@test\r\nEND:VTODO\r\n"
            "END:VCALENDAR\r\n",
            "VTODO",
        ),
        (
            vcal("DTSTART;VALUE=DATE:20260105", "DTEND;VALUE=DATE:20260108", "RRULE:FREQ=WEEKLY"),
            "longer than one day",
        ),
        (vcal("DTSTART;TZID=Mars/Olympus:20260105T100000"), "time zone"),
    ],
)
def test_what_a_note_cannot_hold_is_refused_with_a_reason(ical: str, words: str) -> None:
    with pytest.raises(Unsupported, match=words):
        ical_to_note(ical)


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        (("title: x", "date: [unclosed"), "not valid YAML"),
        (("title: x",), "date is not a date"),
        (("title: x", "date: 2026-02-30"), "date is not a date"),
        (("title: x", "date: 2026-01-05", "startTime: 25:00"), "startTime"),
        (("title: x", "date: 2026-01-05", "startTime: 10:00", "timezone: Mars/Base"), "zone"),
        (("title: x", "type: weekly", "date: 2026-01-05"), "type must be"),
        (("title: x", "type: recurring", "daysOfWeek: [X]"), "daysOfWeek"),
        (("title: x", "type: rrule", "startDate: 2026-01-05", "rrule: FREQ=SOMETIMES"), "rrule"),
        (("title: a", "title: b", "date: 2026-01-05"), "repeats a key"),
        (("title: x", "allDay: maybe", "date: 2026-01-05"), "allDay"),
    ],
)
def test_notes_that_make_no_sense_are_not_events(lines: tuple[str, ...], words: str) -> None:
    with pytest.raises(NoteError, match=words):
        parse_note(RID, note(*lines).encode())


def test_a_note_without_frontmatter_or_not_utf8_is_not_an_event() -> None:
    with pytest.raises(NoteError, match="no frontmatter"):
        parse_note(RID, b"# Just a note\n")
    with pytest.raises(NoteError, match="UTF-8"):
        parse_note(RID, b"---\ntitle: \xff\n---\n")
    with pytest.raises(NoteError, match="never closed"):
        parse_note(RID, b"---\ntitle: x\ndate: 2026-01-05\n")


# -- property: any event a note can hold survives both directions --------------------------------

ZONES = [None, "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
TEXT = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc"),
        exclude_characters="\u2028\u2029",
        include_characters="\n\t",
    ),
    max_size=40,
)
RULES = ["FREQ=DAILY;COUNT=5", "FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=MONTHLY;BYMONTHDAY=1,15"]


@st.composite
def events(draw: st.DrawFn) -> EventData:
    day = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)))
    repeating = draw(st.booleans())
    if draw(st.booleans()):
        days = 1 if repeating else draw(st.integers(1, 20))
        start: date | datetime = day
        end: date | datetime | None = day + timedelta(days=days)
        zone = None
    else:
        start = datetime.combine(day, datetime.min.time()) + timedelta(
            minutes=draw(st.integers(0, 24 * 60 - 1))
        )
        limit = 24 * 60 - 1 if repeating else 5 * 24 * 60
        length = draw(st.none() | st.integers(0, limit))
        end = None if length is None else start + timedelta(minutes=length)
        zone = draw(st.sampled_from(ZONES))
    skipped = draw(st.lists(st.integers(1, 60), max_size=3, unique=True)) if repeating else []
    return EventData(
        uid="prop@test",
        summary=draw(TEXT),
        start=start,
        end=end,
        zone=zone,
        rrule=draw(st.sampled_from(RULES)) if repeating else None,
        exdates=tuple(sorted(day + timedelta(days=n) for n in skipped)),
        location=draw(st.none() | TEXT.filter(bool)),
        url=draw(st.none() | st.sampled_from(["https://example.com/x", "mailto:a@b.example"])),
        description=draw(st.none() | TEXT.filter(bool)),
    )


@given(events())
def test_any_event_a_note_can_hold_round_trips(event: EventData) -> None:
    ical = to_ical(event, stamp=STAMP, zones=ZoneBlocks())
    assert event_from_ical(ical, default_zone=None) == event
    written = ical_to_note(ical)
    assert parse_note(RID, written.encode()).event == event
    assert normalized(note_to_ical(written, RID)) == normalized(ical)
