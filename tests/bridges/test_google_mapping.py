"""Google Calendar event resources <-> iCalendar: golden lines, round trips both ways, refusals."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalends.bridges.google.lines import field_of, property_for
from kalends.bridges.google.mapping import (
    GoogleDraft,
    GoogleSeries,
    MappingError,
    from_ical,
    instance_key,
    to_ical,
)
from kalends.bridges.icaltext import split_line
from kalends.bridges.privacy import reduce_event
from kalends.ical import normalized, parse
from kalends.ical_zones import ZoneBlocks
from tests.bridges.mapping_checks import (
    alarms,
    escape,
    lines,
    master_lines,
    timed,
    vcal,
    vevents,
)

DATA = Path(__file__).parent.parent / "data" / "google"
ZONES = ZoneBlocks()
ZONE = "Europe/Berlin"
OWNER = "owner@example.com"
READ_ONLY = {
    "kind",
    "etag",
    "id",
    "htmlLink",
    "created",
    "updated",
    "creator",
    "recurringEventId",
}


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text("utf-8"))
    return loaded


def series(name: str) -> GoogleSeries:
    data = fixture(name)
    return GoogleSeries(data["master"], data["exceptions"])


def writable(resource: Mapping[str, Any]) -> dict[str, Any]:
    """What a Google resource says that a client can write."""
    body = {k: copy.deepcopy(v) for k, v in resource.items() if k not in READ_ONLY}
    if "organizer" in body:
        body["organizer"].pop("self", None)
    for attendee in body.get("attendees", []):
        for flag in ("self", "organizer", "id"):
            attendee.pop(flag, None)
    return body


def google_time_of(key: str) -> dict[str, str]:
    if len(key) == 8:
        return {"date": f"{key[:4]}-{key[4:6]}-{key[6:]}"}
    moment = datetime.strptime(key, "%Y%m%dT%H%M%SZ")
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}


def stored(resource: Mapping[str, Any], event_id: str) -> dict[str, Any]:
    """A body as Google keeps it: ids, stamps and the defaults it fills in."""
    kept = {
        "kind": "calendar#event",
        "etag": f'"{abs(hash(event_id))}"',
        "id": event_id,
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "created": "2025-06-01T00:00:00.000Z",
        "updated": "2025-06-02T00:00:00.000Z",
        "creator": {"email": OWNER, "self": True},
        "status": "confirmed",
        "organizer": {"email": OWNER, "self": True},
        "eventType": "default",
        "sequence": 0,
        **copy.deepcopy(dict(resource)),
    }
    for attendee in kept.get("attendees", []):
        attendee.setdefault("responseStatus", "needsAction")
    return kept


def store(draft: GoogleDraft, sid: str = "series0001") -> GoogleSeries:
    """What Google holds after the bridge wrote ``draft``: the master, one exception per
    override, one cancelled exception per removed occurrence."""
    master = stored(draft.master, sid)
    exceptions: list[dict[str, Any]] = []
    for key, body in draft.overrides.items():
        exception = stored(body, f"{sid}_{key}")
        exception["recurringEventId"] = sid
        exceptions.append(exception)
    for key in sorted(draft.cancelled):
        exceptions.append(
            {
                "kind": "calendar#event",
                "id": f"{sid}_{key}",
                "status": "cancelled",
                "recurringEventId": sid,
                "originalStartTime": google_time_of(key),
            }
        )
    return GoogleSeries(master, exceptions)


def ical_round_trip(ical: str) -> str:
    return to_ical(store(from_ical(ical, default_zone=ZONE)), zones=ZONES)


# -- Google -> iCalendar: golden lines -------------------------------------------------------------


def test_a_single_timed_event() -> None:
    ical = to_ical(series("single_timed"), zones=ZONES)
    event = master_lines(ical)
    assert event[:4] == [
        "UID:a1b2c3d4e5f6g7h8@google.com",
        "DTSTAMP:20250203T123456Z",
        "DTSTART;TZID=America/New_York:20250210T123000",
        "DTEND;TZID=America/New_York:20250210T134500",
    ]
    assert "SUMMARY:Lunch\\, with Ana\\; bring \\\\ the notes" in event
    assert (
        "DESCRIPTION:Agenda:\\n1. budget\\, Q1\\n2. hiring\\; maybe\\nC:\\\\share\\\\notes ✓"
        in event
    )
    assert "LOCATION:Café Zürich\\, 5th Ave\\; NYC" in event
    assert "STATUS:CONFIRMED" in event
    assert "SEQUENCE:2" in event
    assert "CREATED:20250201T080000Z" in event
    assert "LAST-MODIFIED:20250203T123456Z" in event
    assert "ORGANIZER;CN=Me Myself:mailto:me@example.com" in event
    assert 'X-GOOGLE-EVENT-TYPE:"default"' in event
    assert not [line for line in event if line.startswith(("TRANSP", "CLASS", "RRULE"))]
    assert alarms(ical) == []
    calendar = parse(ical)
    assert calendar.lines == ("VERSION:2.0", "PRODID:-//Kalends//Google Calendar bridge//EN")
    assert [zone.first("TZID") for zone in calendar.sub("VTIMEZONE")] == ["America/New_York"]


def test_the_recurring_standup_with_a_moved_and_a_cancelled_instance() -> None:
    ical = to_ical(series("recurring_standup"), zones=ZONES)
    master, moved = vevents(ical)
    assert "DTSTART;TZID=Europe/Berlin:20250113T090000" in master
    assert "DTEND;TZID=Europe/Berlin:20250113T091500" in master
    assert "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" in master
    exdates = [line for line in master if line.startswith("EXDATE")]
    assert exdates == [
        "EXDATE;TZID=Europe/Berlin:20250120T090000",  # Google's own line, verbatim
        "EXDATE;TZID=Europe/Berlin:20250115T090000",  # the cancelled exception
    ]
    assert "X-GOOGLE-REMINDERS-USE-DEFAULT:TRUE" in master
    assert 'X-GOOGLE-EXTENDED-PROPERTIES:{"private":{"hubId":"a1b2"}}' in master
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20250114T090000" in moved
    assert "DTSTART;TZID=Europe/Berlin:20250114T100000" in moved
    assert "DTEND;TZID=Europe/Berlin:20250114T101500" in moved
    assert "SUMMARY:Standup (moved)" in moved
    assert "SEQUENCE:1" in moved
    assert not [line for line in moved if line.startswith(("RRULE", "EXDATE"))]
    assert [zone.first("TZID") for zone in parse(ical).sub("VTIMEZONE")] == ["Europe/Berlin"]


def test_an_all_day_event_keeps_its_exclusive_end() -> None:
    ical = to_ical(series("all_day"), zones=ZONES)
    event = master_lines(ical)
    assert "DTSTART;VALUE=DATE:20250301" in event
    assert "DTEND;VALUE=DATE:20250302" in event
    assert "STATUS:TENTATIVE" in event
    assert "TRANSP:TRANSPARENT" in event
    assert "CLASS:PRIVATE" in event
    assert alarms(ical) == [["ACTION:DISPLAY", "TRIGGER:-PT720M", "DESCRIPTION:Reminder"]]
    assert parse(ical).sub("VTIMEZONE") == []


def test_a_rich_event_carries_what_icalendar_has_no_property_for() -> None:
    ical = to_ical(series("rich"), zones=ZONES)
    event = master_lines(ical)
    assert "DTSTART:20250402T140000Z" in event
    assert "DTEND:20250402T150000Z" in event
    assert "CLASS:CONFIDENTIAL" in event
    assert "TRANSP:OPAQUE" in event
    assert 'ORGANIZER;CN="Lead, Team":mailto:lead@example.com' in event
    assert [line for line in event if line.startswith("ATTENDEE")] == [
        'ATTENDEE;CN="Lead, Team";PARTSTAT=ACCEPTED:mailto:lead@example.com',
        "ATTENDEE;PARTSTAT=TENTATIVE;X-RESPONSE-COMMENT=\"May be late; ^'sorry^'^nbye\""
        ":mailto:me@example.com",
        "ATTENDEE;CN=Bob ^'The Builder^';ROLE=OPT-PARTICIPANT;PARTSTAT=DECLINED"
        ":mailto:bob@example.com",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION;X-NUM-GUESTS=2:mailto:carol@example.com",
        'ATTENDEE;CN="Room 4: Big";CUTYPE=RESOURCE;PARTSTAT=ACCEPTED'
        ":mailto:c_188room@resource.calendar.google.com",
    ]
    assert 'X-GOOGLE-COLOR-ID:"11"' in event
    assert "X-GOOGLE-GUESTS-CAN-MODIFY:true" in event
    assert "X-GOOGLE-GUESTS-CAN-SEE-OTHER-GUESTS:false" in event
    assert 'X-GOOGLE-HANGOUT-LINK:"https://meet.google.com/abc-defg-hij"' in event
    assert (
        'X-GOOGLE-EXTENDED-PROPERTIES:{"private":{"hubId":"a1b2"\\,"note":"x\\,y\\;z\\\\\\\\w"}'
        '\\,"shared":{"project":"Apollo"}}' in event
    )
    assert 'X-GOOGLE-FIELD;X-NAME=x-customField:{"nested":[1\\,2\\,{"k":"v"}]}' in event
    conference = next(x for x in event if x.startswith("X-GOOGLE-CONFERENCE-DATA:"))
    assert '"conferenceId":"abc-defg-hij"' in conference
    assert alarms(ical) == [
        ["ACTION:DISPLAY", "TRIGGER:-PT10M", "DESCRIPTION:Reminder"],
        ["ACTION:EMAIL", "TRIGGER:-PT1440M", "DESCRIPTION:Reminder", "SUMMARY:Reminder"],
    ]
    for read_only in ("HTML-LINK", "CREATOR", "ETAG", "KIND", "I-CAL-U-I-D", "ID:"):
        assert not [x for x in event if x.startswith(f"X-GOOGLE-{read_only}")]
    assert parse(ical).sub("VTIMEZONE") == []


def test_an_offset_time_is_converted_into_its_zone() -> None:
    resource = {
        "iCalUID": "z@test",
        "start": {"dateTime": "2025-07-01T06:30:00Z", "timeZone": "Asia/Tokyo"},
        "end": {"dateTime": "2025-07-01T09:30:00+02:00", "timeZone": "Europe/Berlin"},
    }
    event = master_lines(to_ical(GoogleSeries(resource, ()), zones=ZONES))
    assert "DTSTART;TZID=Asia/Tokyo:20250701T153000" in event
    assert "DTEND;TZID=Europe/Berlin:20250701T093000" in event
    assert "DTSTAMP:19700101T000000Z" in event


def test_an_all_day_event_stays_on_its_day_whatever_the_zone() -> None:
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", ZONE):
        draft = from_ical(to_ical(series("all_day"), zones=ZONES), default_zone=zone)
        assert draft.master["start"] == {"date": "2025-03-01"}
        assert draft.master["end"] == {"date": "2025-03-02"}


def test_to_ical_is_a_pure_function_of_its_input() -> None:
    first = to_ical(series("recurring_standup"), zones=ZoneBlocks())
    data = fixture("recurring_standup")
    data["exceptions"].reverse()
    assert to_ical(GoogleSeries(data["master"], data["exceptions"]), zones=ZONES) == first


def test_instances_without_a_visible_master() -> None:
    data = fixture("recurring_standup")
    ical = to_ical(GoogleSeries(None, data["exceptions"]), zones=ZONES)
    (moved,) = vevents(ical)
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20250114T090000" in moved
    with pytest.raises(MappingError, match="without their series"):
        from_ical(ical, default_zone=ZONE)
    with pytest.raises(MappingError, match="nothing to show"):
        to_ical(GoogleSeries(None, data["exceptions"][1:]), zones=ZONES)


# -- Google -> iCalendar -> Google keeps every writable field --------------------------------------


@pytest.mark.parametrize("name", ["single_timed", "all_day", "rich", "recurring_standup"])
def test_google_round_trip_keeps_every_writable_field(name: str) -> None:
    data = fixture(name)
    draft = from_ical(to_ical(series(name), zones=ZONES), default_zone="Asia/Tokyo")
    expected = writable(data["master"])
    if name == "recurring_standup":  # the cancelled instance is now excluded by the master
        expected["recurrence"].append("EXDATE;TZID=Europe/Berlin:20250115T090000")
    assert draft.master == expected
    confirmed = [e for e in data["exceptions"] if e.get("status") != "cancelled"]
    assert draft.overrides == {instance_key(e["originalStartTime"]): writable(e) for e in confirmed}
    cancelled = {
        instance_key(e["originalStartTime"])
        for e in data["exceptions"]
        if e.get("status") == "cancelled"
    }
    assert cancelled <= draft.cancelled


def test_google_ical_google_ical_is_a_fixed_point() -> None:
    first = to_ical(series("recurring_standup"), zones=ZONES)
    second = ical_round_trip(first)
    third = ical_round_trip(second)
    assert normalized(second) == normalized(first)
    assert third == second
    assert [x for x in master_lines(second) if x.startswith("EXDATE")] == [
        "EXDATE;TZID=Europe/Berlin:20250120T090000",
        "EXDATE;TZID=Europe/Berlin:20250115T090000",
    ]


def test_instance_keys_agree_between_google_and_icalendar() -> None:
    draft = from_ical(to_ical(series("recurring_standup"), zones=ZONES), default_zone="UTC")
    assert set(draft.overrides) == {"20250114T080000Z"}
    assert draft.cancelled == {"20250115T080000Z", "20250120T080000Z"}
    assert draft.overrides["20250114T080000Z"]["originalStartTime"] == {
        "dateTime": "2025-01-14T09:00:00+01:00",
        "timeZone": "Europe/Berlin",
    }
    assert instance_key({"dateTime": "2025-01-14T08:00:00Z"}) == "20250114T080000Z"
    assert instance_key({"date": "2025-03-01"}) == "20250301"
    assert instance_key({"dateTime": "2025-01-14T09:00:00", "timeZone": ZONE}) == (
        "20250114T080000Z"
    )


# -- iCalendar -> Google -> iCalendar --------------------------------------------------------------

HAND_WRITTEN = {
    "x-properties, categories and an absolute alarm": vcal(
        lines(
            "UID:hand-1@test",
            "DTSTAMP:20250101T000000Z",
            "DTSTART;TZID=Europe/Berlin:20250505T100000",
            "DTEND;TZID=Europe/Berlin:20250505T110000",
            "SUMMARY:Planning\\, round 2",
            "DESCRIPTION:Line one\\nLine two\\; with \\\\ backslash",
            "CATEGORIES:Work,Planning",
            "URL:https://example.com/plan?x=1",
            "GEO:52.52;13.405",
            "PRIORITY:1",
            "X-FOO;X-BAR=baz:some\\, value",
            "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC",
            'ORGANIZER;CN="Doe, Jane":mailto:jane@example.com',
            "ATTENDEE;CN=Bob;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:bob@example.com",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER:-PT15M",
            "DESCRIPTION:Reminder",
            "END:VALARM",
            "BEGIN:VALARM",
            "ACTION:AUDIO",
            "TRIGGER;VALUE=DATE-TIME:20250505T080000Z",
            "X-WR-ALARMUID:5A3B",
            "END:VALARM",
        )
    ),
    "a floating time with a duration": vcal(
        lines(
            "UID:hand-2@test",
            "DTSTART:20250606T180000",
            "DURATION:PT1H30M",
            "SUMMARY:Floating dinner",
            "TRANSP:TRANSPARENT",
            "CLASS:PRIVATE",
        )
    ),
    "an all-day event without an end": vcal(
        lines("UID:hand-3@test", "DTSTART;VALUE=DATE:20250707", "SUMMARY:Holiday")
    ),
    "an all-day event with a day duration": vcal(
        lines("UID:hand-4@test", "DTSTART;VALUE=DATE:20250707", "DURATION:P3D", "SUMMARY:Trip")
    ),
    "a UTC series with an override and an exclusion": vcal(
        lines(
            "UID:hand-5@test",
            "DTSTART:20250106T160000Z",
            "DTEND:20250106T170000Z",
            "RRULE:FREQ=WEEKLY;COUNT=6",
            "EXDATE:20250120T160000Z",
            "SUMMARY:Sync",
            "STATUS:TENTATIVE",
        ),
        lines(
            "UID:hand-5@test",
            "RECURRENCE-ID:20250113T160000Z",
            "DTSTART:20250113T180000Z",
            "DTEND:20250113T190000Z",
            "SUMMARY:Sync (late)",
            "COMMENT:moved for the demo",
            "BEGIN:VALARM",
            "ACTION:EMAIL",
            "TRIGGER:-PT30M",
            "DESCRIPTION:Reminder",
            "SUMMARY:Reminder",
            "END:VALARM",
        ),
    ),
    "a floating series with an override": vcal(
        lines(
            "UID:hand-6@test",
            "DTSTART:20250310T070000",
            "DTEND:20250310T073000",
            "RRULE:FREQ=DAILY;COUNT=5",
            "EXDATE:20250312T070000",
            "SUMMARY:Run",
            "X-GOOGLE-REMINDERS-USE-DEFAULT:TRUE",
        ),
        lines(
            "UID:hand-6@test",
            "RECURRENCE-ID:20250311T070000",
            "DTSTART:20250311T080000",
            "DTEND:20250311T083000",
            "SUMMARY:Run (late)",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_icalendar_round_trip(name: str) -> None:
    ical = HAND_WRITTEN[name]
    back = ical_round_trip(ical)
    assert normalized(back) == normalized(ical)
    assert ical_round_trip(back) == back


def test_what_google_has_no_field_for_is_kept_in_private_extended_properties() -> None:
    draft = from_ical(
        HAND_WRITTEN["x-properties, categories and an absolute alarm"], default_zone=ZONE
    )
    private = draft.master["extendedProperties"]["private"]
    assert private["kalends-ical-0"] == "CATEGORIES:Work,Planning"
    assert private["kalends-ical-4"] == "X-FOO;X-BAR=baz:some\\, value"
    assert private["kalends-ical-6"].startswith("BEGIN:VALARM\r\nACTION:AUDIO\r\n")
    assert draft.master["reminders"] == {
        "useDefault": False,
        "overrides": [{"method": "popup", "minutes": 15}],
    }
    assert draft.master["organizer"] == {"email": "jane@example.com", "displayName": "Doe, Jane"}
    assert draft.master["attendees"] == [
        {
            "email": "bob@example.com",
            "displayName": "Bob",
            "optional": True,
            "responseStatus": "tentative",
        }
    ]
    assert "kalends-form" in private  # no STATUS and no X-GOOGLE-EVENT-TYPE in the iCalendar
    assert set(draft.master) >= {"iCalUID", "start", "end", "summary", "description"}


def test_times_go_to_google_as_the_api_wants_them() -> None:
    draft = from_ical(
        HAND_WRITTEN["a UTC series with an override and an exclusion"], default_zone=ZONE
    )
    assert draft.master["start"] == {"dateTime": "2025-01-06T16:00:00Z", "timeZone": "UTC"}
    assert draft.master["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=6", "EXDATE:20250120T160000Z"]
    assert draft.cancelled == {"20250120T160000Z"}
    assert set(draft.overrides) == {"20250113T160000Z"}
    floating = from_ical(HAND_WRITTEN["a floating time with a duration"], default_zone=ZONE)
    assert floating.master["start"] == {
        "dateTime": "2025-06-06T18:00:00+02:00",
        "timeZone": "Europe/Berlin",
    }
    assert floating.master["end"]["dateTime"] == "2025-06-06T19:30:00+02:00"
    single = from_ical(vcal(lines("UID:u@t", "DTSTART:20250101T100000Z")), default_zone=ZONE)
    assert single.master["start"] == single.master["end"] == {"dateTime": "2025-01-01T10:00:00Z"}
    day = from_ical(HAND_WRITTEN["an all-day event without an end"], default_zone=ZONE)
    assert (day.master["start"], day.master["end"]) == (
        {"date": "2025-07-07"},
        {"date": "2025-07-08"},
    )


def test_volatile_and_own_lines_do_not_reach_google() -> None:
    ical = vcal(
        lines(
            "UID:v@test",
            "DTSTAMP:20250101T000000Z",
            "CREATED:20240101T000000Z",
            "LAST-MODIFIED:20240102T000000Z",
            "X-KALENDS-ORIGIN:caldav",
            "DTSTART;VALUE=DATE:20250101",
            "DTEND;VALUE=DATE:20250102",
            "STATUS:CONFIRMED",
            'X-GOOGLE-EVENT-TYPE:"default"',
            "ORGANIZER:mailto:me@example.com",
        )
    )
    draft = from_ical(ical, default_zone=ZONE)
    assert "extendedProperties" not in draft.master
    assert draft.master["eventType"] == "default"


def test_a_cancelled_override_becomes_an_exclusion() -> None:
    ical = vcal(
        lines(
            "UID:c@test",
            "DTSTART;TZID=Europe/Berlin:20250106T090000",
            "DTEND;TZID=Europe/Berlin:20250106T100000",
            "RRULE:FREQ=DAILY;COUNT=3",
        ),
        lines(
            "UID:c@test",
            "RECURRENCE-ID:20250107T080000Z",
            "DTSTART;TZID=Europe/Berlin:20250107T090000",
            "DTEND;TZID=Europe/Berlin:20250107T100000",
            "STATUS:CANCELLED",
        ),
    )
    draft = from_ical(ical, default_zone=ZONE)
    assert draft.overrides == {}
    assert draft.cancelled == {"20250107T080000Z"}
    assert draft.master["recurrence"][-1] == "EXDATE;TZID=Europe/Berlin:20250107T090000"


def test_a_useless_duration_marker_gives_way_to_the_new_end() -> None:
    draft = from_ical(HAND_WRITTEN["a floating time with a duration"], default_zone=ZONE)
    draft.master["end"] = {"dateTime": "2025-06-06T21:00:00+02:00", "timeZone": ZONE}
    event = master_lines(to_ical(store(draft), zones=ZONES))
    assert "DTEND:20250606T210000" in event
    assert not [x for x in event if x.startswith("DURATION")]


# -- carried field names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("colorId", "X-GOOGLE-COLOR-ID"),
        ("conferenceData", "X-GOOGLE-CONFERENCE-DATA"),
        ("extendedProperties", "X-GOOGLE-EXTENDED-PROPERTIES"),
        ("guestsCanSeeOtherGuests", "X-GOOGLE-GUESTS-CAN-SEE-OTHER-GUESTS"),
        ("workingLocationProperties", "X-GOOGLE-WORKING-LOCATION-PROPERTIES"),
        ("x-customField", "X-GOOGLE-FIELD;X-NAME=x-customField"),
        ("Upper", "X-GOOGLE-FIELD;X-NAME=Upper"),
        ("field", "X-GOOGLE-FIELD;X-NAME=field"),
        ("remindersUseDefault", "X-GOOGLE-FIELD;X-NAME=remindersUseDefault"),
        ("odd;name", 'X-GOOGLE-FIELD;X-NAME="odd;name"'),
    ],
)
def test_carried_field_names(field: str, name: str) -> None:
    assert property_for(field) == name
    parsed, params, _ = split_line(f"{name}:1")
    assert field_of(parsed, params) == field


# -- busy only -------------------------------------------------------------------------------------


def test_busy_only_keeps_the_timing_and_nothing_else() -> None:
    busy = reduce_event(to_ical(series("recurring_standup"), zones=ZONES), "busy-only")
    bookkeeping = ("SEQUENCE:", "CREATED:", "LAST-MODIFIED:")
    master, moved = vevents(busy)
    assert [line for line in master if not line.startswith(bookkeeping)] == [
        "UID:7kq3v0s1c8k1s9n5h0q2r3t4u5@google.com",
        "DTSTAMP:20250112T101530Z",
        "DTSTART;TZID=Europe/Berlin:20250113T090000",
        "DTEND;TZID=Europe/Berlin:20250113T091500",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "EXDATE;TZID=Europe/Berlin:20250120T090000",
        "EXDATE;TZID=Europe/Berlin:20250115T090000",
        "STATUS:CONFIRMED",
        "SUMMARY:Busy",
    ]
    assert "DTSTART;TZID=Europe/Berlin:20250114T100000" in moved
    assert "SUMMARY:Busy" in moved
    assert parse(busy).sub("VTIMEZONE")
    rich = reduce_event(to_ical(series("rich"), zones=ZONES), "busy-only")
    assert [line for line in vevents(rich)[0] if not line.startswith(bookkeeping)] == [
        "UID:r1chevent00000001@google.com",
        "DTSTAMP:20250330T110000Z",
        "DTSTART:20250402T140000Z",
        "DTEND:20250402T150000Z",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "SUMMARY:Busy",
    ]
    assert alarms(rich) == []
    assert from_ical(rich, default_zone=ZONE).master["summary"] == "Busy"


# -- what Google cannot hold -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("RDATE;VALUE=PERIOD:20250110T090000Z/20250110T100000Z", "PERIOD"),
        ("EXDATE;TZID=Mars/Olympus:20250110T090000", "Mars/Olympus"),
        ("X-LONG:" + "x" * 2000, "X-LONG is 2007 characters"),
        ("STATUS:CANCELLED", "cancelled"),
    ],
)
def test_refused_master_lines(extra: str, reason: str) -> None:
    ical = vcal(lines("UID:r@test", "DTSTART:20250106T090000Z", "RRULE:FREQ=DAILY;COUNT=3", extra))
    with pytest.raises(MappingError, match=reason):
        from_ical(ical, default_zone=ZONE)


def test_an_unknown_tzid_is_refused_by_name() -> None:
    ical = vcal(lines("UID:t@test", "DTSTART;TZID=W. Europe Standard Time:20250106T090000"))
    with pytest.raises(MappingError, match=re.escape("W. Europe Standard Time")):
        from_ical(ical, default_zone=ZONE)
    with pytest.raises(MappingError, match="Nowhere/Land"):
        from_ical(vcal(lines("UID:t@test", "DTSTART:20250106T090000")), default_zone="Nowhere/Land")


def test_this_and_future_is_refused() -> None:
    ical = vcal(
        lines("UID:f@test", "DTSTART:20250106T090000Z", "RRULE:FREQ=DAILY;COUNT=3"),
        lines(
            "UID:f@test",
            "RECURRENCE-ID;RANGE=THISANDFUTURE:20250107T090000Z",
            "DTSTART:20250107T100000Z",
        ),
    )
    with pytest.raises(MappingError, match="THISANDFUTURE"):
        from_ical(ical, default_zone=ZONE)


def test_a_long_alarm_is_refused_by_name() -> None:
    alarm = lines("BEGIN:VALARM", "ACTION:AUDIO", "TRIGGER:PT5M", "X-A:" + "y" * 1100, "END:VALARM")
    with pytest.raises(MappingError, match="VALARM is"):
        from_ical(vcal(lines("UID:a@test", "DTSTART:20250106T090000Z") + alarm), default_zone=ZONE)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not a calendar", "not an iCalendar object"),
        (vcal(lines("UID:n@test", "SUMMARY:x")), "without DTSTART"),
        (vcal(lines("DTSTART:20250106T090000Z")), "one UID"),
        (
            vcal(lines("UID:m@test", "DTSTART;VALUE=DATE:20250106", "DTEND:20250107T000000Z")),
            "both be dates",
        ),
        (vcal(lines("UID:e@test", "DTSTART:20250106T090000Z", "DTEND:20250106T080000Z")), "ends"),
        (
            vcal(
                lines("UID:o@test", "DTSTART:20250106T090000Z"),
                lines("UID:o@test", "RECURRENCE-ID:20250106T090000Z", "DTSTART:20250106T100000Z"),
            ),
            "does not repeat",
        ),
    ],
)
def test_other_refusals(text: str, reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        from_ical(text, default_zone=ZONE)


def test_a_cancelled_master_is_not_an_object() -> None:
    with pytest.raises(MappingError, match="cancelled"):
        to_ical(GoogleSeries({"iCalUID": "x", "status": "cancelled"}, ()), zones=ZONES)


# -- generated events ------------------------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(",;\\\n:\"' "),
        st.characters(blacklist_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=40,
)
_FORMS = ["date", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "floating"]


@st.composite
def generated_events(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from(_FORMS))
    day = date(2025, 1, 6) + timedelta(days=draw(st.integers(0, 400)))
    start: date | datetime
    if form == "date":
        start = day
        length = timedelta(days=draw(st.integers(1, 3)))
    else:
        start = datetime.combine(day, datetime.min.time()).replace(
            hour=draw(st.integers(8, 17)), minute=draw(st.sampled_from([0, 15, 30, 45]))
        )
        length = timedelta(minutes=15 * draw(st.integers(0, 16)))
    master = ["UID:gen@test", "DTSTAMP:20250101T000000Z", timed("DTSTART", start, form)]
    if draw(st.booleans()):
        master.append(timed("DTEND", start + length, form))
    elif form == "date":
        master.append(f"DURATION:P{length.days}D")
    else:
        master.append(f"DURATION:PT{int(length.total_seconds()) // 60}M")
    master.append("SUMMARY:" + escape(draw(_TEXT)))
    if draw(st.booleans()):
        master.append("DESCRIPTION:" + escape(draw(_TEXT)))
    if draw(st.booleans()):
        master.append("LOCATION:" + escape(draw(_TEXT)))
    if draw(st.booleans()):
        master.append("X-FOO;X-P=1:" + escape(draw(_TEXT)))
    if draw(st.booleans()):
        master.append("CATEGORIES:" + draw(st.sampled_from(["Work", "Home,Family"])))
    overrides: list[list[str]] = []
    if draw(st.integers(0, 2)):
        count = draw(st.integers(3, 8))
        master.append(f"RRULE:FREQ=WEEKLY;COUNT={count}")
        weeks = draw(st.lists(st.integers(1, count - 1), unique=True, min_size=1, max_size=3))
        if draw(st.booleans()):
            master.append(timed("EXDATE", start + timedelta(weeks=weeks.pop()), form))
        for week in weeks[:2]:
            original = start + timedelta(weeks=week)
            moved = original + timedelta(days=draw(st.integers(0, 2)))
            override = [
                "UID:gen@test",
                timed("RECURRENCE-ID", original, form),
                timed("DTSTART", moved, form),
                timed("DTEND", moved + length, form),
                "SUMMARY:" + escape(draw(_TEXT)),
            ]
            if draw(st.booleans()):
                override.append("X-BAR:" + escape(draw(_TEXT)))
            overrides.append(override)
    alarm = draw(st.sampled_from(["", "relative", "absolute"]))
    if alarm == "relative":
        minutes = draw(st.integers(0, 2000))
        master += ["BEGIN:VALARM", "ACTION:DISPLAY", f"TRIGGER:-PT{minutes}M"]
        master += ["DESCRIPTION:Reminder", "END:VALARM"]
    elif alarm == "absolute":
        master += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER;VALUE=DATE-TIME:20250101T080000Z"]
        master += ["DESCRIPTION:" + escape(draw(_TEXT)), "END:VALARM"]
    return vcal(lines(*master), *(lines(*override) for override in overrides))


@given(generated_events())
def test_generated_events_survive_icalendar_google_icalendar(ical: str) -> None:
    back = ical_round_trip(ical)
    assert normalized(back) == normalized(ical)
    assert ical_round_trip(back) == back
