"""Microsoft Graph event resources <-> iCalendar: golden lines, round trips both ways, refusals,
the Windows <-> IANA zone table."""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import pytest
from dateutil import rrule
from hypothesis import given
from hypothesis import strategies as st

from kalends.bridges.icaltext import When, split_line, unescape_text
from kalends.bridges.outlook.fields import READ_ONLY_FIELDS, field_of, property_for
from kalends.bridges.outlook.htmltext import plain_text
from kalends.bridges.outlook.locations import normal_location
from kalends.bridges.outlook.mapping import (
    PROPERTIES,
    UID_PROPERTY,
    GraphDraft,
    GraphSeries,
    MappingError,
    carried_id,
    from_ical,
    instance_key,
    to_ical,
    to_ical_with_uid,
)
from kalends.bridges.outlook.recurrence import graph_recurrence, rrule_line
from kalends.bridges.outlook.state import MAX_VALUE
from kalends.bridges.outlook.zones import (
    CUSTOM_ZONE,
    IANA_TO_WINDOWS,
    WINDOWS_TO_IANA,
    event_zone,
    graph_instant,
    graph_zone,
)
from kalends.bridges.privacy import reduce_event
from kalends.ical import normalized, parse, uid_of
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

DATA = Path(__file__).parent.parent / "data" / "outlook"
ZONES = ZoneBlocks()
ZONE = "Europe/Berlin"
OWNER = {"name": "Owner", "address": "owner@example.com"}
NO_TIME = "0001-01-01T00:00:00Z"
FIXTURES = ["standup", "all_day", "html_meeting", "custom_zone"]


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text("utf-8"))
    return loaded


def series(name: str) -> GraphSeries:
    data = fixture(name)
    return GraphSeries(data["master"], data["exceptions"], data["deleted"])


def own(draft_body: Mapping[str, Any]) -> dict[str, str]:
    """Kalends' extended properties of a body, by the name after ``Name ``."""
    return {
        str(e["id"]).rsplit(" ", 1)[1]: str(e["value"])
        for e in draft_body.get("singleValueExtendedProperties", [])
    }


# -- a simulated Graph store -----------------------------------------------------------------------


def html_page(text: str) -> str:
    """A text body as Graph reads it back (unless asked for text): HTML."""
    escaped = "<br>\r\n".join(html.escape(line) for line in text.split("\n"))
    inner = f"<div>{escaped}</div>\r\n" if text else ""
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; '
        f'charset=utf-8">\r\n</head>\r\n<body>\r\n{inner}</body>\r\n</html>\r\n'
    )


def _utc(time: Mapping[str, Any], all_day: bool) -> dict[str, str]:
    if all_day:
        return {"dateTime": str(time["dateTime"])[:10] + "T00:00:00.0000000", "timeZone": "UTC"}
    moment = graph_instant(time, "start").astimezone(UTC)
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _location(given: Any) -> dict[str, Any]:
    given = dict(given) if isinstance(given, dict) else {}
    name = str(given.get("displayName") or "")
    if name:
        base: dict[str, Any] = {
            "displayName": name,
            "locationType": "default",
            "uniqueId": name,
            "uniqueIdType": "private",
        }
    else:
        base = {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    return {**base, **given}


def _recurrence(given: Any, zone: str) -> Any:
    if not isinstance(given, dict):
        return None
    pattern = {
        "type": "daily",
        "interval": 1,
        "month": 0,
        "dayOfMonth": 0,
        "daysOfWeek": [],
        "firstDayOfWeek": "sunday",
        "index": "first",
        **given["pattern"],
    }
    span = {
        "type": "noEnd",
        "startDate": "0001-01-01",
        "endDate": "0001-01-01",
        "recurrenceTimeZone": zone,
        "numberOfOccurrences": 0,
        **given["range"],
    }
    return {"pattern": pattern, "range": span}


def stored(
    body: Mapping[str, Any],
    event_id: str,
    previous: Mapping[str, Any] | None = None,
    *,
    as_html: bool = False,
    kind: str | None = None,
) -> dict[str, Any]:
    """A body as Graph keeps and reads it (PATCHed onto ``previous``): ids and stamps, the
    defaults it fills in, times in UTC with the zone sent as originalStartTimeZone,
    extended properties merged by id, text bodies read as HTML when ``as_html``."""
    given = copy.deepcopy(dict(body))
    assert not set(given) & READ_ONLY_FIELDS, set(given) & READ_ONLY_FIELDS
    base = copy.deepcopy(dict(previous or {}))
    extended = {str(e["id"]).casefold(): e for e in base.pop("singleValueExtendedProperties", [])}
    for entry in given.pop("singleValueExtendedProperties", []):
        extended[str(entry["id"]).casefold()] = entry
    kept = {**base, **given}
    all_day = kept.get("isAllDay") is True
    if "start" in given:
        start_zone, end_zone = given["start"]["timeZone"], given["end"]["timeZone"]
    else:
        start_zone, end_zone = base["originalStartTimeZone"], base["originalEndTimeZone"]
    content = kept.get("body") or {"contentType": "text", "content": ""}
    if as_html and content.get("contentType") == "text":
        content = {"contentType": "html", "content": html_page(content["content"])}
    location = _location(given.get("location", base.get("location")))
    resource: dict[str, Any] = {
        "showAs": "busy",
        "importance": "normal",
        "sensitivity": "normal",
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 15,
        "responseRequested": True,
        "allowNewTimeProposals": True,
        "hideAttendees": False,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "onlineMeeting": None,
        "categories": [],
        "subject": "",
        **kept,
        "@odata.etag": f'W/"{event_id}-etag"',
        "id": event_id,
        "changeKey": f"{event_id}-etag",
        "createdDateTime": "2025-06-01T00:00:00Z",
        "lastModifiedDateTime": "2025-06-02T00:00:00.1234567Z",
        "iCalUId": "040000008200E00074C5B7101A82E008000000000000000000000000STORED",
        "type": kind or ("seriesMaster" if kept.get("recurrence") else "singleInstance"),
        "seriesMasterId": None,
        "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}",
        "bodyPreview": "",
        "hasAttachments": False,
        "isDraft": False,
        "isOrganizer": True,
        "isCancelled": False,
        "onlineMeetingUrl": None,
        "responseStatus": {"response": "organizer", "time": NO_TIME},
        "transactionId": None,
        "isAllDay": all_day,
        "start": _utc(kept["start"], all_day) if "start" in given else base["start"],
        "end": _utc(kept["end"], all_day) if "start" in given else base["end"],
        "originalStartTimeZone": start_zone,
        "originalEndTimeZone": end_zone,
        "body": content,
        "location": location,
        "locations": given.get("locations") or ([location] if location["displayName"] else []),
        "attendees": [
            {"type": "required", **a, "status": {"time": NO_TIME, **a.get("status", {})}}
            if "status" in a
            else {"type": "required", **a, "status": {"response": "none", "time": NO_TIME}}
            for a in kept.get("attendees") or []
        ],
        "organizer": kept.get("organizer") or {"emailAddress": OWNER},
        "recurrence": _recurrence(kept.get("recurrence"), start_zone),
    }
    if extended:
        resource["singleValueExtendedProperties"] = sorted(
            extended.values(), key=lambda e: str(e["id"])
        )
    return resource


def original_start(key: str) -> str:
    if len(key) == 8:
        return f"{key[:4]}-{key[4:6]}-{key[6:]}T00:00:00Z"
    return datetime.strptime(key, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ")


def store(
    draft: GraphDraft, previous: GraphSeries | None = None, *, as_html: bool = False
) -> GraphSeries:
    """What Graph holds after the bridge wrote ``draft``: the master, one exception per
    override (the occurrence PATCHed: the series' values under the override's), the
    cancelled occurrences gone."""
    sid = "AAMkSeries0001="
    before = previous.master if previous is not None else None
    master = stored(draft.master, sid, before, as_html=as_html)
    inherited = {
        k: v
        for k, v in draft.master.items()
        if k not in ("recurrence", "singleValueExtendedProperties")
    }
    old = {instance_key(e, master=before): e for e in previous.exceptions} if previous else {}
    exceptions: list[dict[str, Any]] = []
    for key, body in sorted(draft.overrides.items()):
        exception = stored(
            {**inherited, **body}, f"{sid}_{key}", old.get(key), as_html=as_html, kind="exception"
        )
        exception.update(
            {"seriesMasterId": sid, "originalStart": original_start(key), "recurrence": None}
        )
        exception.pop("singleValueExtendedProperties", None)  # /instances does not expand them
        exceptions.append(exception)
    deleted = sorted(draft.cancelled - set(draft.overrides))
    return GraphSeries(master, exceptions, deleted)


def ical_round_trip(ical: str, *, as_html: bool = False, zone: str = ZONE) -> str:
    return to_ical(store(from_ical(ical, default_zone=zone), as_html=as_html), zones=ZONES)


# -- Graph -> iCalendar: golden lines --------------------------------------------------------------

STANDUP_UID = (
    "040000008200E00074C5B7101A82E00800000000F0B9F727763DD601000000000000000010000000FD67034A"
    "BD1DF54FB31D68570FC7EDEB"
)


def test_the_weekly_standup_with_a_moved_and_a_deleted_occurrence() -> None:
    ical = to_ical(series("standup"), zones=ZONES)
    master, moved = vevents(ical)
    assert master == [
        f"UID:{STANDUP_UID}",
        "DTSTAMP:20250112T101530Z",
        "DTSTART;TZID=Europe/Berlin:20250113T090000",
        "DTEND;TZID=Europe/Berlin:20250113T091500",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;WKST=MO",
        "EXDATE;TZID=Europe/Berlin:20250115T090000",
        "SUMMARY:Standup",
        "DESCRIPTION:Daily sync",
        "LOCATION:Room 1",
        "CATEGORIES:Team",
        "TRANSP:OPAQUE",
        "CLASS:PUBLIC",
        "CREATED:20250110T090000Z",
        "LAST-MODIFIED:20250112T101530Z",
        "ORGANIZER;CN=Ana Example:mailto:ana@example.com",
    ]
    assert moved[:5] == [
        f"UID:{STANDUP_UID}",
        "DTSTAMP:20250113T160000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20250114T090000",
        "DTSTART;TZID=Europe/Berlin:20250114T100000",
        "DTEND;TZID=Europe/Berlin:20250114T101500",
    ]
    assert "SUMMARY:Standup (moved)" in moved
    assert not [line for line in moved if line.startswith(("RRULE", "EXDATE"))]
    assert alarms(ical) == [["ACTION:DISPLAY", "TRIGGER:-PT15M", "DESCRIPTION:Reminder"]] * 2
    calendar = parse(ical)
    assert calendar.lines == ("VERSION:2.0", "PRODID:-//Kalends//Microsoft Outlook bridge//EN")
    assert [zone.first("TZID") for zone in calendar.sub("VTIMEZONE")] == ["Europe/Berlin"]


def test_an_all_day_event_keeps_its_day_and_exclusive_end() -> None:
    ical = to_ical(series("all_day"), zones=ZONES)
    event = master_lines(ical)
    assert event[2:4] == ["DTSTART;VALUE=DATE:20250301", "DTEND;VALUE=DATE:20250302"]
    assert "CATEGORIES:Holiday,Family\\, friends\\; others" in event
    assert "TRANSP:TRANSPARENT" in event
    assert "CLASS:PRIVATE" in event
    assert 'X-MSGRAPH-SENSITIVITY:"personal"' in event
    assert "PRIORITY:9" in event
    assert not [line for line in event if line.startswith(("DESCRIPTION", "LOCATION", "X-ALT"))]
    assert alarms(ical) == [["ACTION:DISPLAY", "TRIGGER:-PT1080M", "DESCRIPTION:Reminder"]]
    assert parse(ical).sub("VTIMEZONE") == []


def test_a_meeting_with_an_html_body_attendees_and_a_reminder() -> None:
    ical = to_ical(series("html_meeting"), zones=ZONES)
    event = master_lines(ical)
    assert event[2:4] == [
        "DTSTART;TZID=America/Los_Angeles:20250402T090000",
        "DTEND;TZID=America/Los_Angeles:20250402T100000",
    ]
    assert "SUMMARY:Design review: Q1\\, budget\\; C:\\\\share ✓" in event
    assert 'DESCRIPTION:Agenda\\nSlides & notes\\nBudget\\, Q1\\; "final"\\nCafé at 5' in event
    markup = next(x for x in event if x.startswith("X-ALT-DESC;FMTTYPE=text/html:<html>\\n"))
    assert '<li>Slides &amp\\; notes</li><li>Budget\\, Q1\\; "final"</li>' in markup
    assert "LOCATION:Room 4: Big" in event
    assert [x for x in event if x.startswith(("TRANSP", "X-MICROSOFT"))] == [
        "TRANSP:OPAQUE",
        "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE",
    ]
    assert "CLASS:PRIVATE" in event
    assert "PRIORITY:1" in event
    assert 'ORGANIZER;CN="Lead, Team":mailto:lead@example.com' in event
    assert [x for x in event if x.startswith("ATTENDEE")] == [
        'ATTENDEE;CN="Lead, Team";PARTSTAT=ACCEPTED:mailto:lead@example.com',
        "ATTENDEE;CN=Me Myself;PARTSTAT=TENTATIVE:mailto:me@example.com",
        "ATTENDEE;CN=Bob ^'The Builder^';ROLE=OPT-PARTICIPANT;PARTSTAT=DECLINED"
        ":mailto:bob@example.com",
        "ATTENDEE;CN=carol@example.com;PARTSTAT=NEEDS-ACTION:mailto:carol@example.com",
        "ATTENDEE;CN=Dan;ROLE=OPT-PARTICIPANT:mailto:dan@example.com",
        'ATTENDEE;CN="Room 4: Big";CUTYPE=RESOURCE;PARTSTAT=ACCEPTED:mailto:room4@example.com',
    ]
    carried = [x for x in event if x.startswith("X-MSGRAPH-")]
    assert carried == [
        "X-MSGRAPH-ALLOW-NEW-TIME-PROPOSALS:false",
        "X-MSGRAPH-IS-ONLINE-MEETING:true",
        'X-MSGRAPH-LOCATION:{"address":{"city":"Seattle"\\,"countryOrRegion":"US"\\,'
        '"postalCode":"98101"\\,"state":"WA"\\,"street":"1 Main St"}\\,'
        '"locationEmailAddress":"room4@example.com"\\,"locationType":"conferenceRoom"\\,'
        '"uniqueId":"room4@example.com"\\,"uniqueIdType":"directory"}',
        'X-MSGRAPH-ONLINE-MEETING:{"joinUrl":"https://teams.microsoft.com/l/meetup-join/'
        '19%3ameeting_abc%40thread.v2/0?context=%7b%7d"}',
        'X-MSGRAPH-ONLINE-MEETING-PROVIDER:"teamsForBusiness"',
        "X-MSGRAPH-RESPONSE-REQUESTED:false",
    ]
    assert alarms(ical) == [["ACTION:DISPLAY", "TRIGGER:-PT10M", "DESCRIPTION:Reminder"]]
    assert [zone.first("TZID") for zone in parse(ical).sub("VTIMEZONE")] == ["America/Los_Angeles"]


def test_a_custom_zone_is_written_in_utc_and_its_name_kept() -> None:
    ical = to_ical(series("custom_zone"), zones=ZONES)
    event = master_lines(ical)
    assert event[2:6] == [
        "DTSTART:20250506T073000Z",
        "DTEND:20250506T150000Z",
        'X-MSGRAPH-ORIGINAL-START-TIME-ZONE:"tzone://Microsoft/Custom"',
        'X-MSGRAPH-ORIGINAL-END-TIME-ZONE:"tzone://Microsoft/Custom"',
    ]
    assert [x for x in event if x.startswith(("TRANSP", "X-MICROSOFT"))] == [
        "TRANSP:OPAQUE",
        "X-MICROSOFT-CDO-BUSYSTATUS:OOF",
    ]
    assert "CLASS:CONFIDENTIAL" in event
    assert alarms(ical) == []  # isReminderOn false
    assert parse(ical).sub("VTIMEZONE") == []


@pytest.mark.parametrize(
    ("zone", "start", "note"),
    [
        ("Mars Standard Time", "DTSTART:20250506T073000Z", '"Mars Standard Time"'),
        ("tzone://Microsoft/Utc", "DTSTART:20250506T073000Z", None),
        ("UTC", "DTSTART:20250506T073000Z", None),
        ("India Standard Time", "DTSTART;TZID=Asia/Kolkata:20250506T130000", None),
        ("Asia/Tokyo", "DTSTART;TZID=Asia/Tokyo:20250506T163000", None),
        ("e. south america standard time", "DTSTART;TZID=America/Sao_Paulo:20250506T043000", None),
    ],
)
def test_the_original_zone_decides_how_times_are_written(
    zone: str, start: str, note: str | None
) -> None:
    master = {**fixture("custom_zone")["master"], "originalStartTimeZone": zone}
    event = master_lines(to_ical(GraphSeries(master, ()), zones=ZONES))
    assert event[2] == start
    notes = [x.split(":", 1)[1] for x in event if x.startswith("X-MSGRAPH-ORIGINAL-START")]
    assert notes == ([note] if note else [])


def test_times_read_in_any_preferred_zone_are_the_same() -> None:
    master = fixture("standup")["master"]
    expected = to_ical(GraphSeries(master, ()), zones=ZONES)
    for start, end in (
        ({"dateTime": "2025-01-13T00:00:00.0000000", "timeZone": "Pacific Standard Time"},
         {"dateTime": "2025-01-13T00:15:00.0000000", "timeZone": "Pacific Standard Time"}),
        ({"dateTime": "2025-01-13T17:00:00", "timeZone": "Asia/Tokyo"},
         {"dateTime": "2025-01-13T17:15:00", "timeZone": "Asia/Tokyo"}),
    ):  # fmt: skip
        assert to_ical(GraphSeries({**master, "start": start, "end": end}, ()), zones=ZONES) == (
            expected
        )


def test_to_ical_is_a_pure_function_of_its_input() -> None:
    first = to_ical(series("standup"), zones=ZoneBlocks())
    data = fixture("standup")
    other = copy.deepcopy(data["exceptions"][0])
    other.update({"id": "x2", "originalStart": "2025-01-16T08:00:00Z", "subject": "Thu"})
    second = to_ical(
        GraphSeries(data["master"], [other, data["exceptions"][0]], data["deleted"]), zones=ZONES
    )
    assert (
        to_ical(
            GraphSeries(data["master"], [data["exceptions"][0], other], data["deleted"]),
            zones=ZONES,
        )
        == second
    )
    assert first != second
    assert [x for x in vevents(second)[2] if x.startswith("RECURRENCE-ID")] == [
        "RECURRENCE-ID;TZID=Europe/Berlin:20250116T090000"
    ]


def test_dtstamp_falls_back_to_created_then_the_epoch() -> None:
    master = dict(fixture("custom_zone")["master"])
    del master["lastModifiedDateTime"]
    assert master_lines(to_ical(GraphSeries(master, ()), zones=ZONES))[1] == (
        "DTSTAMP:20250501T080000Z"
    )
    del master["createdDateTime"]
    assert master_lines(to_ical(GraphSeries(master, ()), zones=ZONES))[1] == (
        "DTSTAMP:19700101T000000Z"
    )


def test_the_uid_property_wins_over_the_icaluid() -> None:
    master = {
        **fixture("all_day")["master"],
        "singleValueExtendedProperties": [
            {"id": UID_PROPERTY.replace("{66F5", "{66f5").upper(), "value": "hub-uid@example.com"}
        ],
    }
    assert master_lines(to_ical(GraphSeries(master, ()), zones=ZONES))[0] == (
        "UID:hub-uid@example.com"
    )


@pytest.mark.parametrize("name", FIXTURES)
def test_the_uid_handed_out_with_the_text_is_the_one_it_holds(name: str) -> None:
    data = fixture(name)
    whole = GraphSeries(data["master"], data.get("exceptions", []), data.get("deleted", []))
    text, uid = to_ical_with_uid(whole, zones=ZONES)
    assert text == to_ical(whole, zones=ZONES) and uid == uid_of(text)
    if data.get("exceptions"):  # an exception whose master is not visible
        alone = to_ical_with_uid(GraphSeries(None, data["exceptions"][:1]), zones=ZONES)
        assert alone[1] == uid_of(alone[0])


def test_a_cancelled_exception_is_an_exclusion_and_a_cancelled_master_says_so() -> None:
    data = fixture("standup")
    cancelled = {**data["exceptions"][0], "isCancelled": True}
    master = vevents(to_ical(GraphSeries(data["master"], [cancelled], ()), zones=ZONES))
    assert len(master) == 1
    assert "EXDATE;TZID=Europe/Berlin:20250114T090000" in master[0]
    single = {**fixture("custom_zone")["master"], "isCancelled": True}
    assert "STATUS:CANCELLED" in master_lines(to_ical(GraphSeries(single, ()), zones=ZONES))


def test_exceptions_without_a_visible_master() -> None:
    data = fixture("standup")
    ical = to_ical(GraphSeries(None, data["exceptions"]), zones=ZONES)
    (moved,) = vevents(ical)
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20250114T090000" in moved
    assert moved[0] == f"UID:{STANDUP_UID}"
    with pytest.raises(MappingError, match="without their series"):
        from_ical(ical, default_zone=ZONE)
    gone = {**data["exceptions"][0], "isCancelled": True}
    with pytest.raises(MappingError, match="nothing to show"):
        to_ical(GraphSeries(None, [gone]), zones=ZONES)
    with pytest.raises(MappingError, match="originalStart"):
        to_ical(GraphSeries(data["master"], [{"id": "x", "subject": "?"}]), zones=ZONES)


# -- Graph -> iCalendar -> Graph keeps every writable field ----------------------------------------


def graph_view(resource: Mapping[str, Any]) -> dict[str, Any]:
    """What a resource says that a client can write, in one comparable form."""
    on = resource.get("isReminderOn") is True
    view: dict[str, Any] = {
        field: resource.get(field)
        for field in (
            "subject", "categories", "showAs", "sensitivity", "importance", "isAllDay",
            "isReminderOn", "responseRequested", "allowNewTimeProposals", "hideAttendees",
            "isOnlineMeeting", "onlineMeetingProvider",
        )
    }  # fmt: skip
    view["reminderMinutesBeforeStart"] = resource.get("reminderMinutesBeforeStart") if on else None
    body = resource["body"]
    view["body"] = (body["contentType"], body["content"].replace("\r\n", "\n"))
    for which in ("start", "end"):  # an all-day event has a day, in no zone (sent as UTC)
        view[which] = graph_instant(resource[which], which).astimezone(UTC)
        original = resource.get(f"original{which.title()}TimeZone")
        view[f"{which}Zone"] = None if resource["isAllDay"] else event_zone(original) or original
    view["location"] = normal_location(resource.get("location"))
    view["locations"] = [normal_location(place) for place in resource.get("locations") or []]
    view["attendees"] = [
        (a["emailAddress"]["address"], a["emailAddress"].get("name"), a["type"],
         a["status"]["response"])
        for a in resource.get("attendees") or []
    ]  # fmt: skip
    view["organizer"] = resource.get("organizer")
    recurrence = resource.get("recurrence")
    if recurrence:
        pattern, span = recurrence["pattern"], recurrence["range"]
        relevant = {
            "daily": (), "weekly": ("daysOfWeek", "firstDayOfWeek"),
            "absoluteMonthly": ("dayOfMonth",), "relativeMonthly": ("daysOfWeek", "index"),
            "absoluteYearly": ("dayOfMonth", "month"),
            "relativeYearly": ("daysOfWeek", "month", "index"),
        }[pattern["type"]]  # fmt: skip
        kept = {"endDate": ("endDate",), "numbered": ("numberOfOccurrences",)}
        view["recurrence"] = (
            {k: pattern[k] for k in ("type", "interval", *relevant)},
            {k: span[k] for k in ("type", "startDate", *kept.get(span["type"], ()))},
            event_zone(span.get("recurrenceTimeZone")),
        )
    return view


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("as_html", [False, True])
def test_graph_round_trip_keeps_every_writable_field(name: str, as_html: bool) -> None:
    data = series(name)
    draft = from_ical(to_ical(data, zones=ZONES), default_zone="Asia/Tokyo")
    assert not set(draft.master) & READ_ONLY_FIELDS
    back = store(draft, as_html=as_html)
    assert data.master is not None and back.master is not None
    pairs = [(back.master, data.master), *zip(back.exceptions, data.exceptions, strict=True)]
    for written, held in pairs:
        expected, got = graph_view(held), graph_view(written)
        if name == "custom_zone":  # no zone Graph could be sent: the times stay, in UTC
            assert (got["startZone"], got["endZone"]) == ("Z", "Z")
            got["startZone"] = got["endZone"] = CUSTOM_ZONE
        if as_html and expected["body"][0] == "text":  # Graph shows a text body as HTML
            assert plain_text(got["body"][1]) == expected["body"][1]
            got["body"] = expected["body"]
        assert got == expected
    assert sorted(back.deleted) == sorted(data.deleted)


def test_what_a_draft_says_for_the_standup() -> None:
    draft = from_ical(to_ical(series("standup"), zones=ZONES), default_zone="UTC")
    master = draft.master
    assert master["start"] == {
        "dateTime": "2025-01-13T09:00:00",
        "timeZone": "W. Europe Standard Time",
    }
    assert master["recurrence"] == {
        "pattern": {
            "type": "weekly",
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "interval": 1,
            "firstDayOfWeek": "monday",
        },
        "range": {
            "type": "noEnd",
            "startDate": "2025-01-13",
            "recurrenceTimeZone": "W. Europe Standard Time",
        },
    }
    assert own(master)["KalendsUid"] == STANDUP_UID
    assert json.loads(own(master)["KalendsForm"])["carried"] == 0
    assert set(draft.overrides) == {"20250114T080000Z"}
    assert draft.overrides["20250114T080000Z"]["start"] == {
        "dateTime": "2025-01-14T10:00:00",
        "timeZone": "W. Europe Standard Time",
    }
    assert "recurrence" not in draft.overrides["20250114T080000Z"]
    assert "singleValueExtendedProperties" not in draft.overrides["20250114T080000Z"]
    assert draft.cancelled == {"20250115T080000Z"}


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("as_html", [False, True])
def test_graph_ical_graph_ical_is_a_fixed_point(name: str, as_html: bool) -> None:
    data = series(name)
    first = to_ical(data, zones=ZONES)
    second = to_ical(store(from_ical(first, default_zone=ZONE), data, as_html=as_html), zones=ZONES)
    third = to_ical(store(from_ical(second, default_zone=ZONE), data, as_html=as_html), zones=ZONES)
    assert normalized(second) == normalized(first)
    assert third == second


# -- occurrence keys -------------------------------------------------------------------------------


def test_instance_keys_agree_between_graph_and_icalendar() -> None:
    data = series("standup")
    draft = from_ical(to_ical(data, zones=ZONES), default_zone="UTC")
    assert set(draft.overrides) == {instance_key(e) for e in data.exceptions}
    assert instance_key("2025-01-14T08:00:00Z") == "20250114T080000Z"
    assert instance_key("2025-01-14T08:00:00.0000000") == "20250114T080000Z"
    assert instance_key("2025-01-14T09:00:00+01:00") == "20250114T080000Z"
    assert instance_key(datetime(2025, 1, 14, 9, tzinfo=ZoneInfo(ZONE))) == "20250114T080000Z"
    assert instance_key(datetime(2025, 1, 14, 8)) == "20250114T080000Z"
    assert instance_key(date(2025, 3, 1)) == "20250301"
    assert instance_key("2025-03-01") == "20250301"


def test_an_all_day_occurrence_is_keyed_by_its_day_in_the_series_zone() -> None:
    master = {
        "isAllDay": True,
        "originalStartTimeZone": "W. Europe Standard Time",
        "recurrence": {"range": {"recurrenceTimeZone": "Tokyo Standard Time"}},
    }
    occurrence = {"originalStart": "2025-02-28T15:00:00Z", "isAllDay": True}  # Tokyo midnight
    assert instance_key(occurrence, master=master) == "20250301"
    berlin = {"originalStart": "2025-02-28T23:00:00Z", "isAllDay": True,
              "originalStartTimeZone": "W. Europe Standard Time"}  # fmt: skip
    assert instance_key(berlin) == "20250301"
    assert instance_key({"originalStart": "2025-03-01T00:00:00Z", "isAllDay": True}) == "20250301"
    with pytest.raises(MappingError, match="originalStart"):
        instance_key({"id": "AAMk"})


def test_an_all_day_series_round_trips_with_day_keys() -> None:
    ical = vcal(
        lines(
            "UID:days@test",
            "DTSTART;VALUE=DATE:20250303",
            "DTEND;VALUE=DATE:20250304",
            "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20250331",
            "EXDATE;VALUE=DATE:20250317",
            "SUMMARY:Gym",
        ),
        lines(
            "UID:days@test",
            "RECURRENCE-ID;VALUE=DATE:20250310",
            "DTSTART;VALUE=DATE:20250311",
            "DTEND;VALUE=DATE:20250312",
            "SUMMARY:Gym (Tuesday)",
        ),
    )
    draft = from_ical(ical, default_zone=ZONE)
    assert set(draft.overrides) == {"20250310"}
    assert draft.cancelled == {"20250317"}
    assert draft.master["start"] == {"dateTime": "2025-03-03T00:00:00", "timeZone": "UTC"}
    assert draft.master["recurrence"]["range"] == {
        "type": "endDate",
        "startDate": "2025-03-03",
        "recurrenceTimeZone": "UTC",
        "endDate": "2025-03-31",
    }
    back = ical_round_trip(ical)
    assert normalized(back) == normalized(ical)


# -- iCalendar -> Graph -> iCalendar ---------------------------------------------------------------

HAND_WRITTEN = {
    "x-properties, categories, an absolute alarm, odd priority and attendee parameters": vcal(
        lines(
            "UID:hand-1@test",
            "DTSTAMP:20250101T000000Z",
            "DTSTART;TZID=Europe/Berlin:20250505T100000",
            "DTEND;TZID=Europe/Berlin:20250505T110000",
            "SUMMARY;LANGUAGE=en:Planning\\, round 2",
            "DESCRIPTION:Line one\\nLine two\\; with \\\\ backslash",
            "CATEGORIES:Work",
            "CATEGORIES:Planning,Q\\,2",
            "URL:https://example.com/plan?x=1",
            "GEO:52.52;13.405",
            "PRIORITY:3",
            "STATUS:TENTATIVE",
            "X-FOO;X-BAR=baz:some\\, value",
            'ORGANIZER;CN="Doe, Jane";SENT-BY="mailto:a@example.com":mailto:jane@example.com',
            "ATTENDEE;CN=Bob;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE;RSVP=TRUE:mailto:bob@example.com",
            "ATTENDEE;ROLE=REQ-PARTICIPANT;CUTYPE=INDIVIDUAL:mailto:eve@example.com",
            "ATTENDEE;CUTYPE=ROOM:mailto:room@example.com",
            "ATTENDEE:urn:uuid:00000000-0000-0000-0000-000000000001",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER;RELATED=START:-PT1H",
            "DESCRIPTION:Soon",
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
            "ORGANIZER:mailto:me@example.com",
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
    "a floating series with an override and a local UNTIL": vcal(
        lines(
            "UID:hand-6@test",
            "DTSTART:20250310T070000",
            "DTEND:20250310T073000",
            "RRULE:FREQ=DAILY;UNTIL=20250314T070000",
            "EXDATE:20250312T070000",
            "SUMMARY:Run",
        ),
        lines(
            "UID:hand-6@test",
            "RECURRENCE-ID:20250311T070000",
            "DTSTART:20250311T080000",
            "DTEND:20250311T083000",
            "SUMMARY:Run (late)",
        ),
    ),
    "rules written otherwise than Kalends writes them": vcal(
        lines(
            "UID:hand-7@test",
            "DTSTART;TZID=America/New_York:20250114T093000",
            "DTEND;TZID=America/New_York:20250114T103000",
            "RRULE:BYDAY=2TU;FREQ=MONTHLY;UNTIL=20251014T133000Z",
            "EXDATE:20250311T133000Z",
            "SUMMARY:Board",
        )
    ),
    "the last day of the month, in a CLDR spelling of a zone": vcal(
        lines(
            "UID:hand-8@test",
            "DTSTART;TZID=Asia/Calcutta:20250131T170000",
            "DTEND;TZID=Asia/Calcutta:20250131T173000",
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=12",
            "SUMMARY:Close the books",
        )
    ),
    "every weekday, yearly and monthly without BY parts, TZID=UTC": vcal(
        lines(
            "UID:hand-9@test",
            "DTSTART;TZID=UTC:20250102T120000",
            "DTEND;TZID=UTC:20250102T121500",
            "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;WKST=SU;COUNT=20",
            "SUMMARY:Lunch",
        ),
    ),
    "an HTML description, a busy status, a contradicting TRANSP": vcal(
        lines(
            "UID:hand-10@test",
            "DTSTART:20250401T090000Z",
            "DTEND:20250401T100000Z",
            "DESCRIPTION:Hello\\nWorld",
            "X-ALT-DESC;FMTTYPE=text/html:<p>Hello</p><p>World</p>",
            "TRANSP:TRANSPARENT",
            "X-MICROSOFT-CDO-BUSYSTATUS:OOF",
            "X-MSGRAPH-HIDE-ATTENDEES:true",
            "X-MSGRAPH-IS-ONLINE-MEETING:false",
        )
    ),
    "a stale X-ALT-DESC and an Outlook note on a UTC time": vcal(
        lines(
            "UID:hand-11@test",
            "DTSTART:20250401T090000Z",
            "DTEND:20250401T100000Z",
            "DESCRIPTION:Edited in a CalDAV client",
            "X-ALT-DESC;FMTTYPE=text/html:<p>Old</p>",
            'X-MSGRAPH-ORIGINAL-START-TIME-ZONE:"tzone://Microsoft/Custom"',
            "X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE",
        )
    ),
    "a yearly relative rule and an absolute yearly one": vcal(
        lines(
            "UID:hand-12@test",
            "DTSTART;TZID=Europe/Amsterdam:20251128T180000",
            "DTEND;TZID=Europe/Amsterdam:20251128T200000",
            "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=-1FR",
            "SUMMARY:Party",
        )
    ),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
@pytest.mark.parametrize("as_html", [False, True])
def test_icalendar_round_trip(name: str, as_html: bool) -> None:
    ical = HAND_WRITTEN[name]
    back = ical_round_trip(ical, as_html=as_html)
    assert normalized(back) == normalized(ical)
    assert ical_round_trip(back, as_html=as_html) == back


def test_what_graph_has_no_field_for_is_kept_in_extended_properties() -> None:
    name = "x-properties, categories, an absolute alarm, odd priority and attendee parameters"
    draft = from_ical(HAND_WRITTEN[name], default_zone=ZONE)
    master = draft.master
    kept = own(master)
    assert kept["KalendsUid"] == "hand-1@test"
    assert kept["KalendsIcal0"] == "URL:https://example.com/plan?x=1"
    assert kept["KalendsIcal1"] == "GEO:52.52;13.405"
    assert kept["KalendsIcal2"] == "STATUS:TENTATIVE"
    assert kept["KalendsIcal3"] == "X-FOO;X-BAR=baz:some\\, value"
    assert kept["KalendsIcal4"] == "ATTENDEE:urn:uuid:00000000-0000-0000-0000-000000000001"
    assert kept["KalendsIcal5"].startswith("BEGIN:VALARM\r\nACTION:AUDIO\r\n")
    form = json.loads(kept["KalendsForm"])
    assert form["carried"] == 6
    assert form["kept"]["importance"] == ["PRIORITY:3"]
    assert form["kept"]["reminder"].startswith("BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;")
    assert master["subject"] == "Planning, round 2"
    assert master["categories"] == ["Work", "Planning", "Q,2"]
    assert master["importance"] == "high"
    assert (master["isReminderOn"], master["reminderMinutesBeforeStart"]) == (True, 60)
    assert master["organizer"] == {
        "emailAddress": {"address": "jane@example.com", "name": "Doe, Jane"}
    }
    assert master["attendees"] == [
        {
            "type": "optional",
            "emailAddress": {"address": "bob@example.com", "name": "Bob"},
            "status": {"response": "tentativelyAccepted"},
        },
        {"type": "required", "emailAddress": {"address": "eve@example.com"}},
        {"type": "resource", "emailAddress": {"address": "room@example.com"}},
    ]
    assert master["showAs"] == "busy"
    assert master["sensitivity"] == "normal"


def test_times_go_to_graph_as_the_api_wants_them() -> None:
    utc = from_ical(
        HAND_WRITTEN["a UTC series with an override and an exclusion"], default_zone=ZONE
    )
    assert utc.master["start"] == {"dateTime": "2025-01-06T16:00:00", "timeZone": "UTC"}
    assert utc.master["recurrence"]["range"] == {
        "type": "numbered",
        "startDate": "2025-01-06",
        "recurrenceTimeZone": "UTC",
        "numberOfOccurrences": 6,
    }
    assert utc.cancelled == {"20250120T160000Z"}
    floating = from_ical(HAND_WRITTEN["a floating time with a duration"], default_zone=ZONE)
    assert floating.master["start"] == {
        "dateTime": "2025-06-06T18:00:00",
        "timeZone": "W. Europe Standard Time",
    }
    assert floating.master["end"]["dateTime"] == "2025-06-06T19:30:00"
    assert floating.master["isAllDay"] is False
    amsterdam = from_ical(HAND_WRITTEN["a yearly relative rule and an absolute yearly one"],
                          default_zone=ZONE)  # fmt: skip
    assert amsterdam.master["start"]["timeZone"] == "Europe/Amsterdam"  # no Windows golden zone
    kolkata = from_ical(
        HAND_WRITTEN["the last day of the month, in a CLDR spelling of a zone"], default_zone=ZONE
    )
    assert kolkata.master["start"]["timeZone"] == "India Standard Time"
    day = from_ical(HAND_WRITTEN["an all-day event without an end"], default_zone=ZONE)
    assert (day.master["start"], day.master["end"], day.master["isAllDay"]) == (
        {"dateTime": "2025-07-07T00:00:00", "timeZone": "UTC"},
        {"dateTime": "2025-07-08T00:00:00", "timeZone": "UTC"},
        True,
    )


def test_an_untouched_html_body_goes_back_as_html_and_an_edited_one_as_text() -> None:
    kept = from_ical(
        HAND_WRITTEN["an HTML description, a busy status, a contradicting TRANSP"],
        default_zone=ZONE,
    )
    assert kept.master["body"] == {
        "contentType": "html",
        "content": "<p>Hello</p><p>World</p>",
    }
    assert kept.master["showAs"] == "free"  # TRANSPARENT contradicts OOF: TRANSP was edited
    assert kept.master["hideAttendees"] is True
    assert kept.master["isOnlineMeeting"] is False
    edited = from_ical(
        HAND_WRITTEN["a stale X-ALT-DESC and an Outlook note on a UTC time"], default_zone=ZONE
    )
    assert edited.master["body"] == {"contentType": "text", "content": "Edited in a CalDAV client"}
    assert edited.master["showAs"] == "workingElsewhere"


def test_volatile_and_own_lines_do_not_reach_graph() -> None:
    ical = vcal(
        lines(
            "UID:v@test",
            "DTSTAMP:20250101T000000Z",
            "CREATED:20240101T000000Z",
            "LAST-MODIFIED:20240102T000000Z",
            "SEQUENCE:4",
            "X-KALENDS-ORIGIN:caldav",
            "DTSTART;VALUE=DATE:20250101",
            "DTEND;VALUE=DATE:20250102",
            "TRANSP:OPAQUE",
            "CLASS:PUBLIC",
            'X-MSGRAPH-ID:"AAMk"',
            'X-MSGRAPH-WEB-LINK:"https://outlook.office365.com/"',
            'X-MSGRAPH-ONLINE-MEETING:{"joinUrl":"https://teams.microsoft.com/x"}',
            "X-MSGRAPH-HIDE-ATTENDEES:not json",
        )
    )
    draft = from_ical(ical, default_zone=ZONE)
    assert not set(draft.master) & (READ_ONLY_FIELDS | {"onlineMeeting", "hideAttendees"})
    form = json.loads(own(draft.master)["KalendsForm"])
    assert own(draft.master)["KalendsIcal0"] == "X-MSGRAPH-HIDE-ATTENDEES:not json"
    assert form["kept"] == {"organizer": []}


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
    assert "EXDATE;TZID=Europe/Berlin:20250107T090000" in master_lines(ical_round_trip(ical))


def test_an_excluded_occurrence_is_not_overridden_too() -> None:
    ical = vcal(
        lines(
            "UID:x@test",
            "DTSTART:20250106T090000Z",
            "RRULE:FREQ=DAILY;COUNT=3",
            "EXDATE:20250107T090000Z",
        ),
        lines("UID:x@test", "RECURRENCE-ID:20250107T090000Z", "DTSTART:20250107T100000Z"),
    )
    draft = from_ical(ical, default_zone=ZONE)
    assert draft.overrides == {}
    assert draft.cancelled == {"20250107T090000Z"}


def test_a_text_body_graph_shows_as_html_still_reads_as_the_text() -> None:
    ical = vcal(lines("UID:t@test", "DTSTART:20250401T090000Z", "DESCRIPTION:a\\n\\nb  c <d>"))
    back = ical_round_trip(ical, as_html=True)
    assert "DESCRIPTION:a\\n\\nb  c <d>" in master_lines(back)
    assert not [x for x in master_lines(back) if x.startswith("X-ALT-DESC")]
    # once Outlook edits the body, the HTML is what it is
    series_ = store(from_ical(ical, default_zone=ZONE), as_html=True)
    assert series_.master is not None
    edited = {**series_.master, "body": {"contentType": "html", "content": "<b>a</b> b"}}
    event = master_lines(to_ical(GraphSeries(edited, ()), zones=ZONES))
    assert "DESCRIPTION:a b" in event
    assert "X-ALT-DESC;FMTTYPE=text/html:<b>a</b> b" in event


def test_what_changed_in_outlook_wins_over_how_the_icalendar_wrote_it() -> None:
    name = "x-properties, categories, an absolute alarm, odd priority and attendee parameters"
    held = store(from_ical(HAND_WRITTEN[name], default_zone=ZONE))
    assert held.master is not None
    changed = {
        **held.master,
        "importance": "low",
        "reminderMinutesBeforeStart": 5,
        "categories": ["Other"],
        "showAs": "oof",
    }
    event = master_lines(to_ical(GraphSeries(changed, ()), zones=ZONES))
    assert "PRIORITY:9" in event
    assert "CATEGORIES:Other" in event
    assert [x for x in event if x.startswith(("TRANSP", "X-MICROSOFT"))] == [
        "TRANSP:OPAQUE",
        "X-MICROSOFT-CDO-BUSYSTATUS:OOF",
    ]
    reminder = next(a for a in alarms(to_ical(GraphSeries(changed, ()), zones=ZONES)))
    assert reminder == ["ACTION:DISPLAY", "TRIGGER:-PT5M", "DESCRIPTION:Reminder"]
    moved = {
        **held.master,
        "originalStartTimeZone": "Pacific Standard Time",
        "originalEndTimeZone": "Pacific Standard Time",
    }
    assert master_lines(to_ical(GraphSeries(moved, ()), zones=ZONES))[2] == (
        "DTSTART;TZID=America/Los_Angeles:20250505T010000"
    )


def test_many_carried_lines_share_the_last_slot() -> None:
    extra = [f"X-N{n}:{n}" for n in range(12)]
    ical = vcal(lines("UID:many@test", "DTSTART:20250401T090000Z", *extra))
    draft = from_ical(ical, default_zone=ZONE)
    kept = own(draft.master)
    assert [kept[f"KalendsIcal{n}"] for n in range(7)] == extra[:7]
    assert kept["KalendsIcal7"] == "\r\n".join(extra[7:])
    assert len(PROPERTIES) == 10 and carried_id(7) in PROPERTIES
    back = ical_round_trip(ical)
    assert normalized(back) == normalized(ical)


def test_overlong_notes_are_dropped_and_overlong_lines_refused() -> None:
    long_title = "t" * (MAX_VALUE + 10)
    ical = vcal(
        lines("UID:l@test", "DTSTART:20250401T090000Z", f"SUMMARY;LANGUAGE=en:{long_title}")
    )
    draft = from_ical(ical, default_zone=ZONE)
    assert draft.master["subject"] == long_title
    assert "subject" not in json.loads(own(draft.master)["KalendsForm"])["kept"]
    ical = vcal(lines("UID:l@test", "DTSTART:20250401T090000Z", "X-LONG:" + "x" * MAX_VALUE))
    with pytest.raises(MappingError, match=f"X-LONG is {MAX_VALUE + 7} characters"):
        from_ical(ical, default_zone=ZONE)


# -- carried field names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("allowNewTimeProposals", "X-MSGRAPH-ALLOW-NEW-TIME-PROPOSALS"),
        ("onlineMeeting", "X-MSGRAPH-ONLINE-MEETING"),
        ("singleValueExtendedProperties", "X-MSGRAPH-SINGLE-VALUE-EXTENDED-PROPERTIES"),
        ("originalStartTimeZone", "X-MSGRAPH-ORIGINAL-START-TIME-ZONE"),
        ("field", "X-MSGRAPH-FIELD;X-NAME=field"),
        ("x-custom", "X-MSGRAPH-FIELD;X-NAME=x-custom"),
    ],
)
def test_carried_field_names(field: str, name: str) -> None:
    assert property_for(field) == name
    parsed, params, _ = split_line(f"{name}:1")
    assert field_of(parsed, params) == field


def test_the_users_own_extended_properties_travel_as_a_field() -> None:
    mine = {"id": "String {00020329-0000-0000-c000-000000000046} Name hub", "value": "a1"}
    master = {
        **fixture("custom_zone")["master"],
        "singleValueExtendedProperties": [mine, {"id": UID_PROPERTY, "value": "u@x"}],
    }
    ical = to_ical(GraphSeries(master, ()), zones=ZONES)
    assert [x for x in master_lines(ical) if "EXTENDED" in x] == [
        "X-MSGRAPH-SINGLE-VALUE-EXTENDED-PROPERTIES:"
        '[{"id":"String {00020329-0000-0000-c000-000000000046} Name hub"\\,"value":"a1"}]'
    ]
    draft = from_ical(ical, default_zone=ZONE)
    assert draft.master["singleValueExtendedProperties"][0] == mine
    assert own(draft.master)["KalendsUid"] == "u@x"


# -- busy only -------------------------------------------------------------------------------------


def test_busy_only_keeps_the_timing_and_nothing_else() -> None:
    busy = reduce_event(to_ical(series("standup"), zones=ZONES), "busy-only")
    master, moved = vevents(busy)
    assert [x for x in master if not x.startswith(("CREATED", "LAST-MODIFIED"))] == [
        f"UID:{STANDUP_UID}",
        "DTSTAMP:20250112T101530Z",
        "DTSTART;TZID=Europe/Berlin:20250113T090000",
        "DTEND;TZID=Europe/Berlin:20250113T091500",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;WKST=MO",
        "EXDATE;TZID=Europe/Berlin:20250115T090000",
        "TRANSP:OPAQUE",
        "SUMMARY:Busy",
    ]
    assert "SUMMARY:Busy" in moved
    assert from_ical(busy, default_zone=ZONE).master["subject"] == "Busy"


# -- recurrence, both ways -------------------------------------------------------------------------

BERLIN_9 = When(datetime(2025, 1, 14, 9, 0), ZONE)  # a Tuesday


@pytest.mark.parametrize(
    ("rule", "pattern"),
    [
        ("FREQ=DAILY;INTERVAL=3", {"type": "daily", "interval": 3}),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
            {"type": "weekly", "daysOfWeek": ["tuesday", "thursday"], "interval": 2,
             "firstDayOfWeek": "sunday"},
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=14",
         {"type": "absoluteMonthly", "dayOfMonth": 14, "interval": 1}),
        (
            "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2",
            {"type": "relativeMonthly", "daysOfWeek": ["tuesday"], "index": "second",
             "interval": 1},
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            {"type": "relativeMonthly",
             "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
             "index": "last", "interval": 1},
        ),
        (
            "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=14",
            {"type": "absoluteYearly", "month": 1, "dayOfMonth": 14, "interval": 1},
        ),
        (
            "FREQ=YEARLY;INTERVAL=2;BYMONTH=1;BYDAY=TU;BYSETPOS=2",
            {"type": "relativeYearly", "month": 1, "daysOfWeek": ["tuesday"], "index": "second",
             "interval": 2},
        ),
    ],
)  # fmt: skip
def test_each_pattern_both_ways(rule: str, pattern: dict[str, Any]) -> None:
    recurrence = graph_recurrence(f"RRULE:{rule}", BERLIN_9, ZONE)
    assert recurrence["pattern"] == pattern
    assert recurrence["range"] == {
        "type": "noEnd",
        "startDate": "2025-01-14",
        "recurrenceTimeZone": "W. Europe Standard Time",
    }
    assert rrule_line(recurrence, BERLIN_9, None) == f"RRULE:{rule}"


@pytest.mark.parametrize(
    ("rule", "same_as"),
    [
        ("FREQ=MONTHLY;BYDAY=2TU", "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1"),
        ("FREQ=YEARLY;BYMONTH=1;BYDAY=+2TU", "FREQ=YEARLY;BYMONTH=1;BYDAY=TU;BYSETPOS=2"),
        ("FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=TU;WKST=MO"),
        ("FREQ=DAILY;BYDAY=MO,WE", "FREQ=WEEKLY;BYDAY=MO,WE;WKST=MO"),
        ("FREQ=MONTHLY", "FREQ=MONTHLY;BYMONTHDAY=14"),
        ("FREQ=YEARLY", "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=14"),
        ("FREQ=YEARLY;BYMONTH=3", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=14"),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=-1",
        ),
        ("freq=weekly;byday=tu;wkst=mo", "FREQ=WEEKLY;BYDAY=TU;WKST=MO"),
    ],
)
def test_other_spellings_of_the_same_pattern(rule: str, same_as: str) -> None:
    recurrence = graph_recurrence(f"RRULE:{rule}", BERLIN_9, ZONE)
    assert rrule_line(recurrence, BERLIN_9, None) == f"RRULE:{same_as}"


def test_until_is_the_last_day_with_an_occurrence_and_comes_back_at_its_end() -> None:
    def end(until: str, start: When = BERLIN_9) -> str:
        line = f"RRULE:FREQ=DAILY;UNTIL={until}"
        return str(graph_recurrence(line, start, ZONE)["range"]["endDate"])

    assert end("20250131T080000Z") == "2025-01-31"  # 09:00 in Berlin: that day's occurrence
    assert end("20250131T075959Z") == "2025-01-30"  # before it: the day before
    assert end("20250131T225959Z") == "2025-01-31"
    assert end("20250131") == "2025-01-31"
    assert end("20250101T000000Z") == "2025-01-14"  # before the start: the start's day
    assert end("20250131T090000", When(datetime(2025, 1, 14, 9), None)) == "2025-01-31"
    assert end("20250131T085959", When(datetime(2025, 1, 14, 9), None)) == "2025-01-30"
    assert end("20250131T080000Z", When(date(2025, 1, 14))) == "2025-01-31"
    recurrence = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "endDate", "startDate": "2025-01-14", "endDate": "2025-01-31",
                  "recurrenceTimeZone": "W. Europe Standard Time"},
    }  # fmt: skip
    assert rrule_line(recurrence, BERLIN_9, None) == "RRULE:FREQ=DAILY;UNTIL=20250131T225959Z"
    floating = When(datetime(2025, 1, 14, 9), None)
    assert rrule_line(recurrence, floating, ZONE) == "RRULE:FREQ=DAILY;UNTIL=20250131T235959"
    day = When(date(2025, 1, 14))
    assert rrule_line(recurrence, day, None) == "RRULE:FREQ=DAILY;UNTIL=20250131"
    numbered = {**recurrence, "range": {"type": "Numbered", "numberOfOccurrences": 4}}
    assert rrule_line(numbered, BERLIN_9, None) == "RRULE:FREQ=DAILY;COUNT=4"


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=HOURLY", "FREQ=HOURLY repeats within a day"),
        ("FREQ=MINUTELY;INTERVAL=15", "FREQ=MINUTELY"),
        ("FREQ=SECONDLY", "FREQ=SECONDLY"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", "several BYMONTHDAY values"),
        ("FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1", "several BYMONTH values"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY"),
        ("FREQ=DAILY;BYHOUR=9,17", "BYHOUR"),
        ("FREQ=DAILY;BYMINUTE=30", "BYMINUTE"),
        ("FREQ=DAILY;BYSECOND=30", "BYSECOND"),
        ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=5", "BYSETPOS=5"),
        ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=-2", "BYSETPOS=-2"),
        ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=1,2", "several BYSETPOS"),
        ("FREQ=WEEKLY;BYDAY=TU;BYSETPOS=1", "BYSETPOS with FREQ=WEEKLY"),
        ("FREQ=DAILY;BYDAY=TU;BYSETPOS=1", "BYSETPOS with FREQ=DAILY"),
        ("FREQ=MONTHLY;BYDAY=1MO,3WE", "numbered differently per day"),
        ("FREQ=MONTHLY;BYDAY=1MO,1TU", "takes the first of them only"),
        ("FREQ=MONTHLY;BYDAY=5TU", "BYDAY=5TU"),
        ("FREQ=MONTHLY;BYDAY=TU", "every listed weekday of the month"),
        ("FREQ=MONTHLY;BYDAY=TU;BYMONTHDAY=13", "both BYDAY and BYMONTHDAY"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20250201T000000Z", "both COUNT and UNTIL"),
        ("FREQ=WEEKLY;BYDAY=2TU", "numbered BYDAY values with FREQ=WEEKLY"),
        ("FREQ=DAILY;INTERVAL=2;BYDAY=MO", "FREQ=DAILY with INTERVAL and BYDAY"),
        ("FREQ=MONTHLY;BYMONTH=3", "BYMONTH with FREQ=MONTHLY"),
        ("FREQ=YEARLY;BYDAY=1MO", "without a BYMONTH"),
        ("FREQ=MONTHLY;BYMONTHDAY=-2", "BYMONTHDAY=-2"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS without BYDAY"),
        ("FREQ=DAILY;RSCALE=GREGORIAN", "RSCALE"),
        ("FREQ=DAILY;COUNT=0", "COUNT=0"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0"),
        ("FREQ=FORTNIGHTLY", "not a frequency"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ twice"),
    ],
)
def test_refused_rules(rule: str, reason: str) -> None:
    ical = vcal(lines("UID:r@test", "DTSTART:20250114T090000Z", f"RRULE:{rule}"))
    with pytest.raises(MappingError, match=re.escape(reason)):
        from_ical(ical, default_zone=ZONE)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("RDATE:20250110T090000Z", "RDATE adds occurrences"),
        ("EXRULE:FREQ=WEEKLY", "EXRULE"),
        ("RRULE:FREQ=WEEKLY", "several RRULEs"),
        ("EXDATE;TZID=Mars/Olympus:20250110T090000", "Mars/Olympus"),
        ("EXDATE;VALUE=PERIOD:20250110T090000Z/20250110T100000Z", "PERIOD"),
        ("STATUS:CANCELLED", "STATUS:CANCELLED"),
    ],
)
def test_refused_master_lines(extra: str, reason: str) -> None:
    ical = vcal(lines("UID:r@test", "DTSTART:20250106T090000Z", "RRULE:FREQ=DAILY;COUNT=3", extra))
    with pytest.raises(MappingError, match=re.escape(reason)):
        from_ical(ical, default_zone=ZONE)


def test_an_unknown_tzid_is_refused_by_name() -> None:
    ical = vcal(lines("UID:t@test", "DTSTART;TZID=W. Europe Standard Time:20250106T090000"))
    with pytest.raises(MappingError, match=re.escape("W. Europe Standard Time")):
        from_ical(ical, default_zone=ZONE)
    with pytest.raises(MappingError, match="Nowhere/Land"):
        from_ical(vcal(lines("UID:t@test", "DTSTART:20250106T090000")), default_zone="Nowhere/Land")


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
        (
            vcal(
                lines("UID:f@test", "DTSTART:20250106T090000Z", "RRULE:FREQ=DAILY;COUNT=3"),
                lines(
                    "UID:f@test",
                    "RECURRENCE-ID;RANGE=THISANDFUTURE:20250107T090000Z",
                    "DTSTART:20250107T100000Z",
                ),
            ),
            "THISANDFUTURE",
        ),
        (
            vcal(
                lines("UID:d@test", "DTSTART:20250106T090000Z", "RRULE:FREQ=DAILY;COUNT=3"),
                lines("UID:d@test", "RECURRENCE-ID:20250107T090000Z", "DTSTART:20250107T1Z"),
            ),
            "not a date or a date-time",
        ),
        (
            vcal(
                lines("UID:d@test", "DTSTART:20250106T090000Z", "RRULE:FREQ=DAILY;COUNT=3"),
                lines("UID:d@test", "RECURRENCE-ID:20250107T090000Z", "DTSTART:20250107T100000Z"),
                lines("UID:d@test", "RECURRENCE-ID:20250107T090000Z", "DTSTART:20250107T110000Z"),
            ),
            "two VEVENTs override the occurrence 20250107T090000Z",
        ),
        (
            vcal(
                lines("UID:d@test", "DTSTART:20250106T090000Z", "RRULE:FREQ=DAILY;COUNT=3"),
                lines(
                    "UID:d@test",
                    "RECURRENCE-ID:20250107T090000Z",
                    "DTSTART:20250107T100000Z",
                    "RRULE:FREQ=DAILY",
                ),
            ),
            "an overridden instance has RRULE",
        ),
        (
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
            "VTODO",
        ),
    ],
)
def test_other_refusals(text: str, reason: str) -> None:
    with pytest.raises(MappingError, match=re.escape(reason)):
        from_ical(text, default_zone=ZONE)


@pytest.mark.parametrize(
    ("recurrence", "reason"),
    [
        ({"pattern": {"type": "hourly"}, "range": {"type": "noEnd"}}, "'hourly'"),
        ({"pattern": {"type": "weekly", "daysOfWeek": ["funday"]}, "range": {}}, "funday"),
        ({"pattern": {"type": "absoluteMonthly", "dayOfMonth": 0}, "range": {}}, "dayOfMonth 0"),
        ({"pattern": {"type": "daily"}, "range": {"type": "sometimes"}}, "'sometimes'"),
        ({"pattern": {"type": "daily"}, "range": {"type": "numbered"}}, "None occurrences"),
        ({"pattern": {"type": "relativeMonthly", "daysOfWeek": []}, "range": {}}, "daysOfWeek"),
    ],
)
def test_a_graph_pattern_kalends_cannot_read_is_an_error_not_a_crash(
    recurrence: dict[str, Any], reason: str
) -> None:
    master = {**fixture("standup")["master"], "recurrence": recurrence}
    with pytest.raises(MappingError, match=re.escape(reason)):
        to_ical(GraphSeries(master, ()), zones=ZONES)


# -- the Windows <-> IANA table --------------------------------------------------------------------


def test_every_windows_zone_maps_to_a_zone_zoneinfo_knows() -> None:
    known = available_timezones()
    assert len(WINDOWS_TO_IANA) >= 130
    for windows, iana in WINDOWS_TO_IANA.items():
        assert iana in known, (windows, iana)
        ZoneInfo(iana)
        assert IANA_TO_WINDOWS[iana] == windows
        assert graph_zone(iana) == windows
    assert WINDOWS_TO_IANA["W. Europe Standard Time"] == "Europe/Berlin"
    assert WINDOWS_TO_IANA["Pacific Standard Time"] == "America/Los_Angeles"
    assert WINDOWS_TO_IANA["India Standard Time"] == "Asia/Kolkata"
    assert WINDOWS_TO_IANA["FLE Standard Time"] == "Europe/Kyiv"
    assert IANA_TO_WINDOWS["Asia/Calcutta"] == "India Standard Time"
    assert graph_zone("Europe/Amsterdam") == "Europe/Amsterdam"
    assert graph_zone("Z") == graph_zone("Etc/UTC") == "UTC"
    assert event_zone(CUSTOM_ZONE) is None
    assert event_zone("UTC") == event_zone("tzone://Microsoft/Utc") == "Z"
    assert event_zone("Europe/Amsterdam") == "Europe/Amsterdam"


# -- generated events ------------------------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(",;\\\n:\"'<>& "),
        st.characters(blacklist_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=40,
)
_FORMS = ["date", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/Amsterdam",
          "floating"]  # fmt: skip
_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _rule(draw: st.DrawFn, start: date | datetime, form: str) -> tuple[str, timedelta]:
    """An RRULE Outlook can hold that ``start`` matches, and the step between occurrences."""
    day = start if not isinstance(start, datetime) else start.date()
    code = _CODES[day.weekday()]
    nth = (day.day - 1) // 7 + 1
    last = (day + timedelta(days=7)).month != day.month
    index = -1 if last or nth > 4 else nth
    kind = draw(st.sampled_from(["daily", "weekly", "monthly-relative", "monthly", "yearly"]))
    relative = f"BYDAY={code};BYSETPOS={index}"
    if kind == "daily":
        rule, step = "FREQ=DAILY", timedelta(days=1)
    elif kind == "weekly":
        rule, step = f"FREQ=WEEKLY;BYDAY={code}", timedelta(weeks=1)
    elif kind == "monthly-relative":
        spelling = draw(st.sampled_from([relative, f"BYDAY={index}{code}"]))
        rule, step = f"FREQ=MONTHLY;{spelling}", timedelta(weeks=5)
    elif kind == "monthly":
        rule, step = f"FREQ=MONTHLY;BYMONTHDAY={day.day}", timedelta(days=31)
    else:
        which = draw(st.sampled_from([f"BYMONTHDAY={day.day}", relative]))
        rule, step = f"FREQ=YEARLY;BYMONTH={day.month};{which}", timedelta(days=366)
    if draw(st.booleans()):
        rule += f";WKST={draw(st.sampled_from(_CODES))}"
    ending = draw(st.sampled_from(["count", "until", "none"]))
    if ending == "count":
        rule += f";COUNT={draw(st.integers(3, 8))}"
    elif ending == "until":
        until = start + step * draw(st.integers(2, 6)) + timedelta(hours=draw(st.integers(-3, 3)))
        if not isinstance(until, datetime):
            rule += f";UNTIL={until:%Y%m%d}"
        elif form == "floating":
            rule += f";UNTIL={until:%Y%m%dT%H%M%S}"
        else:
            zone = ZoneInfo("UTC" if form == "UTC" else form)
            rule += f";UNTIL={until.replace(tzinfo=zone).astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"RRULE:{rule}", step


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
    master.extend(draw(st.sampled_from([[], ["TRANSP:TRANSPARENT"], ["TRANSP:OPAQUE"]])))
    master.extend(draw(st.sampled_from([[], ["CLASS:PRIVATE"], ["CLASS:CONFIDENTIAL"]])))
    master.extend(draw(st.sampled_from([[], ["PRIORITY:1"], ["PRIORITY:5"], ["PRIORITY:7"]])))
    if draw(st.booleans()):
        master.append("ATTENDEE;CN=" + draw(st.sampled_from(["Ann", '"Doe, J"'])) +
                      draw(st.sampled_from(["", ";PARTSTAT=ACCEPTED", ";ROLE=OPT-PARTICIPANT"])) +
                      ":mailto:ann@example.com")  # fmt: skip
    overrides: list[list[str]] = []
    if draw(st.integers(0, 2)):
        rule, step = _rule(draw, start, form)
        master.append(rule)
        steps = draw(st.lists(st.integers(1, 3), unique=True, min_size=1, max_size=3))
        if draw(st.booleans()):
            master.append(timed("EXDATE", start + step * steps.pop(), form))
        for n in steps[:2]:
            original = start + step * n
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


@given(generated_events(), st.booleans())
def test_generated_events_survive_icalendar_graph_icalendar(ical: str, as_html: bool) -> None:
    back = ical_round_trip(ical, as_html=as_html)
    if as_html and any(not _survives_html(d) for d in _descriptions(ical)):
        back = ical_round_trip(back, as_html=True)  # Graph's HTML has reshaped the text once
    else:
        assert normalized(back) == normalized(ical)
    assert ical_round_trip(back, as_html=as_html) == back


def _descriptions(ical: str) -> list[str]:
    return [
        unescape_text(line.split(":", 1)[1])
        for event in vevents(ical)
        for line in event
        if line.startswith("DESCRIPTION:")
    ]


def _survives_html(text: str) -> bool:
    return plain_text(html_page(text)) == text


@st.composite
def graph_rules(draw: st.DrawFn) -> tuple[str, When]:
    """An RRULE Outlook can hold, in any of its spellings, and a start it matches."""
    form = draw(st.sampled_from(["date", "UTC", ZONE, "America/New_York", "floating"]))
    day = date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 700)))
    start: When
    if form == "date":
        start = When(day)
        moment: date | datetime = day
    else:
        moment = datetime.combine(day, datetime.min.time()).replace(hour=draw(st.integers(0, 23)))
        start = When(moment, {"UTC": "Z", "floating": None}.get(form, form))
    rule, _ = _rule(draw, moment, form)
    interval = draw(st.integers(1, 3))
    if interval > 1:
        rule = rule.replace("RRULE:", f"RRULE:INTERVAL={interval};")
    return rule, start


def _occurrences(rule: str, start: When) -> list[datetime]:
    if start.is_day:
        first = datetime.combine(start.value, datetime.min.time())
    else:
        assert isinstance(start.value, datetime)
        first = start.value
    zone: tzinfo | None = None
    if start.zone == "Z":
        zone = UTC
    elif start.zone is not None:
        zone = ZoneInfo(str(start.zone))
    aware = first.replace(tzinfo=zone) if zone is not None else first
    text = rule
    if start.is_day and "UNTIL=" in rule:
        text = re.sub(r"UNTIL=(\d{8})\b(?!T)", r"UNTIL=\1T000000", rule)
    if zone is None and "UNTIL=" in text and text.rstrip().endswith("Z"):
        text = text[:-1]
    parsed = rrule.rrulestr(text, dtstart=aware, cache=False)
    return list(parsed.xafter(aware, count=40, inc=True))


@given(graph_rules())
def test_rules_repeat_alike_through_graph(case: tuple[str, When]) -> None:
    rule, start = case
    recurrence = graph_recurrence(rule, start, ZONE)
    floating = ZONE if start.zone is None and not start.is_day else None
    line = rrule_line(recurrence, start, floating)
    assert graph_recurrence(line, start, ZONE) == recurrence
    assert rrule_line(graph_recurrence(line, start, ZONE), start, floating) == line
    assert _occurrences(line, start) == _occurrences(rule, start)
