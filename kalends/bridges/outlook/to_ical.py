"""Microsoft Graph event resources of one series -> one iCalendar calendar object.

The master (a ``singleInstance`` or ``seriesMaster``) becomes the VEVENT without RECURRENCE-ID,
each exception a VEVENT with RECURRENCE-ID (written like the master's DTSTART), each cancelled
exception and each vanished occurrence an EXDATE value. Times are written in the event's own
zone (``originalStartTimeZone``, a Windows name, as IANA); one Kalends cannot resolve
(``tzone://Microsoft/Custom``) is written in UTC with the name kept in
``X-MSGRAPH-ORIGINAL-START-TIME-ZONE``. Pure: the output depends on the resources only (DTSTAMP
is the resource's ``lastModifiedDateTime``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kalends.bridges.icalmap import calendar_text, end_lines, first_stamp, stamp_lines
from kalends.bridges.icaltext import (
    MappingError,
    When,
    Z,
    escape_text,
    local_when,
    to_json,
    when_line,
)
from kalends.bridges.outlook.fields import (
    MAPPED_FIELDS,
    ORIGINAL_END,
    ORIGINAL_START,
    READ_ONLY_FIELDS,
    is_default,
    property_for,
)
from kalends.bridges.outlook.groups import GROUPS, kept_lines
from kalends.bridges.outlook.htmltext import plain_text, text_hash
from kalends.bridges.outlook.locations import location_rest, normal_location
from kalends.bridges.outlook.occurrences import exdate_keys, exdate_line, instance_key, key_when
from kalends.bridges.outlook.people import attendee_line, organizer_line, person_of
from kalends.bridges.outlook.recurrence import graph_recurrence, rrule_line
from kalends.bridges.outlook.reminder import reminder_alarm, reminder_minutes
from kalends.bridges.outlook.state import is_own, read_state
from kalends.bridges.outlook.zones import (
    event_zone,
    graph_day,
    graph_instant,
    graph_moment,
    graph_zone,
    same_zone,
)
from kalends.ical import Component, ICalError, parse, property_name
from kalends.ical_zones import ZoneBlocks

__all__ = ["PRODID", "GraphSeries", "to_ical", "to_ical_with_uid"]

PRODID = "-//Kalends//Microsoft Outlook bridge//EN"
_CREATED, _UPDATED = "createdDateTime", "lastModifiedDateTime"  # the resource's timestamps
_ORIGINAL_ZONE = {"start": ORIGINAL_START, "end": ORIGINAL_END}
_ORIGINAL_FIELD = {"start": "originalStartTimeZone", "end": "originalEndTimeZone"}

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class GraphSeries:
    """What Graph holds for one event or series."""

    master: Resource | None  # a singleInstance or seriesMaster resource (full)
    exceptions: Sequence[Resource] = ()  # type "exception" resources (full), with originalStart
    deleted: Sequence[str] = ()  # instance keys of occurrences that vanished


@dataclass(frozen=True)
class _Series:
    """The master's DTSTART (the form of RECURRENCE-ID and EXDATE) and its floating zone."""

    start: When
    floating: str | None


def to_ical(series: GraphSeries, *, zones: ZoneBlocks) -> str:
    """One VCALENDAR: VERSION, PRODID, a VTIMEZONE for every TZID icalendar can describe, the
    master VEVENT and one VEVENT per exception (ordered by occurrence)."""
    return to_ical_with_uid(series, zones=zones)[0]


def to_ical_with_uid(series: GraphSeries, *, zones: ZoneBlocks) -> tuple[str, str]:
    """``to_ical``, and the UID every VEVENT of it has (so that it need not be read back)."""
    master = series.master
    state = read_state(master)
    repeats = master is not None and isinstance(master.get("recurrence"), Mapping)
    changed: dict[str, Resource] = {}
    cancelled: set[str] = set()
    for exception in series.exceptions if master is None or repeats else ():
        key = instance_key(exception, master=master)
        changed.pop(key, None)
        cancelled.discard(key)
        if exception.get("isCancelled") is True:
            cancelled.add(key)
        else:
            changed[key] = exception
    if master is None and not changed:
        raise MappingError("nothing to show: no master and every instance is cancelled")
    uid = state.uid or next(
        (str(r["iCalUId"]) for r in [master, *changed.values()] if r and r.get("iCalUId")), None
    )
    if uid is None:
        raise MappingError("no resource of the series has an iCalUId")
    events: list[Component] = []
    form: _Series | None = None
    if master is not None:
        removed = sorted((set(series.deleted) | cancelled) - set(changed)) if repeats else []
        master_event, form = _vevent(
            master, uid, None, state.form or {}, state.master_items(), removed
        )
        events.append(master_event)
    for key, exception in sorted(changed.items()):
        rid = (
            key_when(key, form.start, form.floating or "UTC")
            if form is not None
            else _own_original(exception)
        )
        items = state.override_items(key)
        event, _ = _vevent(exception, uid, rid, state.override_form(key), items, [])
        events.append(event)
    return calendar_text(events, zones, PRODID), uid


def _own_original(exception: Resource) -> When:
    """The RECURRENCE-ID of an exception whose master is not visible: in its own zone."""
    key = instance_key(exception)
    if exception.get("isAllDay") is True:
        return key_when(key, When(graph_day(exception.get("start"), "start")), "UTC")
    zone = event_zone(exception.get("originalStartTimeZone")) or Z
    return local_when(graph_moment(exception["originalStart"]), zone, None)


def _vevent(
    resource: Resource,
    uid: str,
    rid: When | None,
    form: Mapping[str, Any],
    carried: tuple[list[str], list[Component]],
    removed: list[str],
) -> tuple[Component, _Series]:
    kept = form.get("kept")
    kept = kept if isinstance(kept, Mapping) else {}
    floating = form.get("floating") if isinstance(form.get("floating"), str) else None
    lines = [f"UID:{uid}", "DTSTAMP:" + first_stamp(resource, (_UPDATED, _CREATED))]
    if rid is not None:
        lines.append(when_line("RECURRENCE-ID", [rid]))
    start, start_note = _when(resource, "start", form)
    end, end_note = _when(resource, "end", form)
    if start.is_day != end.is_day:
        raise MappingError("the event's start and end are not both days or both times")
    lines.append(when_line("DTSTART", [start]))
    lines.extend(end_lines(start, end, form, floating))
    notes = {
        _ORIGINAL_ZONE[which]: f"{_ORIGINAL_ZONE[which]}:{escape_text(to_json(name))}"
        for which, name in (("start", start_note), ("end", end_note))
        if name is not None
    }
    lines.extend(notes.values())
    series = _Series(start, floating if start.zone is None and not start.is_day else None)
    recurrence = resource.get("recurrence")
    if rid is None and isinstance(recurrence, Mapping):
        lines.append(_rrule(recurrence, series, kept.get("recurrence")))
        lines.extend(_exdates(removed, series, kept.get("exdate")))
    for group in GROUPS:
        lines.extend(group.lines(_value(resource, group.field, form), kept.get(group.field)))
    cancelled = resource.get("isCancelled") is True
    if cancelled:
        lines.append("STATUS:CANCELLED")
    lines.extend(stamp_lines(resource, ((_CREATED, "CREATED"), (_UPDATED, "LAST-MODIFIED"))))
    lines.extend(_organizer(resource, kept.get("organizer")))
    lines.extend(_attendees(resource.get("attendees"), kept.get("attendees")))
    lines.extend(_carried_fields(resource, form.get("defaults")))
    carried_lines, carried_children = carried
    for line in carried_lines:
        name = property_name(line)
        if name in notes or (cancelled and name == "STATUS"):
            continue
        lines.append(line)
    children = [*_reminder(resource, kept.get("reminder")), *carried_children]
    return Component("VEVENT", tuple(lines), tuple(children)), series


def _when(resource: Resource, which: str, form: Mapping[str, Any]) -> tuple[When, str | None]:
    """The start or end in the event's own zone; with the zone's name when Kalends cannot
    resolve it (the time is then written in UTC)."""
    time = resource.get(which)
    if resource.get("isAllDay") is True:
        return When(graph_day(time, which)), None
    moment = graph_instant(time, which)
    name = resource.get(_ORIGINAL_FIELD[which]) or resource.get("originalStartTimeZone")
    if not isinstance(name, str) or not name:
        name = time.get("timeZone") if isinstance(time, Mapping) else None
        name = name if isinstance(name, str) and name else "UTC"
    zone = event_zone(name)
    if zone is None:
        return local_when(moment, Z, None), name
    floating = form.get("floating")
    if isinstance(floating, str) and same_zone(graph_zone(floating), name):
        return local_when(moment, None, floating), None
    written = form.get("tzid")
    tzid = written.get(which) if isinstance(written, Mapping) else None
    if isinstance(tzid, str) and tzid != zone and event_zone(graph_zone(tzid)) == zone:
        return local_when(moment, tzid, None), None
    return local_when(moment, zone, None), None


def _rrule(recurrence: Mapping[str, Any], series: _Series, kept: object) -> str:
    line = rrule_line(recurrence, series.start, series.floating)
    noted = kept_lines(kept)
    if noted is not None and len(noted) == 1:
        zone = series.floating or "UTC"
        try:
            same = graph_recurrence(noted[0], series.start, zone) == graph_recurrence(
                line, series.start, zone
            )
        except MappingError:
            same = False
        if same:
            return noted[0]
    return line


def _exdates(removed: list[str], series: _Series, kept: object) -> list[str]:
    zone = series.floating or "UTC"
    noted = kept_lines(kept)
    if noted:
        try:
            if exdate_keys(noted, series.start, zone) == set(removed):
                return noted
        except MappingError:
            pass
    return exdate_line(removed, series.start, zone)


def _value(resource: Resource, field: str, form: Mapping[str, Any]) -> Any:
    """The Graph value a group of properties shows."""
    value = resource.get(field)
    if field == "location":
        return value.get("displayName") if isinstance(value, Mapping) else None
    if field == "body" and isinstance(value, Mapping):
        content = str(value.get("content") or "")
        if str(value.get("contentType", "")).casefold() == "html" and form.get("text"):
            text = plain_text(content)
            if text_hash(text) == form.get("text"):  # the text Kalends sent, as Graph shows it
                return {"contentType": "text", "content": text}
    return value


def _organizer(resource: Resource, kept: object) -> list[str]:
    """ORGANIZER; none when the iCalendar had none and the mailbox still organises the event
    (Graph names its owner by itself)."""
    written = organizer_line(resource.get("organizer"))
    if kept == [] and resource.get("isOrganizer") is not False:
        return []
    noted = kept_lines(kept)
    if noted is not None and len(noted) == 1 and written:
        return noted if person_of(noted[0]) == person_of(written[0]) else written
    return written


def _attendees(attendees: object, kept: object) -> list[str]:
    """ATTENDEE lines, each as the iCalendar wrote it while it still says the same."""
    unused = kept_lines(kept) or []
    lines: list[str] = []
    for attendee in attendees if isinstance(attendees, list) else ():
        line = attendee_line(attendee)
        if line is None:
            continue
        person = person_of(line)
        match = next((k for k in unused if person_of(k) == person), None)
        if match is not None:
            unused.remove(match)
            line = match
        lines.append(line)
    return lines


def _reminder(resource: Resource, kept: object) -> Iterator[Component]:
    if resource.get("isReminderOn") is not True:
        return
    minutes = resource.get("reminderMinutesBeforeStart")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        minutes = 15
    if isinstance(kept, str):
        try:
            alarm = parse(kept)
        except ICalError:
            alarm = None
        if alarm is not None and reminder_minutes(alarm) == minutes:
            yield alarm
            return
    yield reminder_alarm(minutes)


def _carried_fields(resource: Resource, written: object) -> Iterator[str]:
    """X-MSGRAPH-* lines for the fields iCalendar has no property for; one at Graph's default
    value only when the iCalendar wrote it (``written``)."""
    shown = set(written) if isinstance(written, list) else set()
    for field in sorted(str(key) for key in resource):
        value: Any = resource[field]
        if "@" in field or field in READ_ONLY_FIELDS:
            continue
        if field in MAPPED_FIELDS:
            value = _unmapped_part(resource, field)
        elif is_default(field, value) and field not in shown:
            continue
        if value is None or value in ("", [], {}):
            continue
        yield f"{property_for(field)}:" + escape_text(to_json(value))


def _unmapped_part(resource: Resource, field: str) -> Any:
    """What a mapped field says beyond its iCalendar property: a location's address and
    coordinates, locations other than the one, the user's own extended properties."""
    value = resource.get(field)
    if field == "location":
        return location_rest(value)
    if field == "locations" and isinstance(value, list):
        places = [normal_location(place) for place in value]
        alone = normal_location(resource.get("location"))
        return None if places in ([], [alone]) else places
    if field == "singleValueExtendedProperties" and isinstance(value, list):
        return [
            entry for entry in value if not (isinstance(entry, Mapping) and is_own(entry.get("id")))
        ]
    return None
