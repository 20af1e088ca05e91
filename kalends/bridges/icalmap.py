"""Steps every provider mapping takes alike between a calendar object and event resources:
reading the VEVENTs of an object, an overridden instance's RECURRENCE-ID, the span of a VEVENT,
a carried provider field, a VALARM's trigger; writing DTSTAMP / CREATED / LAST-MODIFIED, the
end of a VEVENT and the VCALENDAR around the events.

What a provider says in its refusals (its name) is a parameter: the logic is shared, the words
stay each provider's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from kalends.bridges.icaltext import (
    MappingError,
    When,
    add_duration,
    default_end,
    instant,
    key_of,
    param_map,
    parse_duration,
    split_line,
    stamp,
    unescape_text,
    when_line,
    whens,
    zone_blocks,
    zone_info,
)
from kalends.ical import Component, ICalError, parse, property_name, serialize
from kalends.ical_zones import ZoneBlocks

__all__ = [
    "EPOCH",
    "calendar_text",
    "carried_value",
    "end_lines",
    "event_span",
    "first_stamp",
    "object_events",
    "override_start",
    "stamp_lines",
    "trigger_minutes",
]

EPOCH = "19700101T000000Z"  # DTSTAMP of a resource that names no time of its own
_NOT_EVENTS = frozenset({"VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY"})


# -- iCalendar -> provider -------------------------------------------------------------------------


def object_events(
    ical: str, default_zone: str, *, provider: str, holder: str
) -> tuple[list[Component], Component]:
    """(the VEVENTs, the master) of a calendar object a provider can hold: VEVENTs only (other
    components are refused with ``holder``, e.g. "Google Calendar", "holds only events"), one
    UID, one master without RECURRENCE-ID (``provider`` needs it)."""
    zone_info(default_zone)
    try:
        calendar = parse(ical)
    except ICalError as error:
        raise MappingError(f"not an iCalendar object: {error}") from None
    vevents: list[Component] = []
    for child in calendar.children:
        if child.name in _NOT_EVENTS:
            raise MappingError(f"{child.name} components: {holder} holds only events")
        if child.name == "VEVENT":
            vevents.append(child)
    uids = {event.first("UID") for event in vevents}
    if not vevents or None in uids or len(uids) != 1:
        raise MappingError("a calendar object needs VEVENTs sharing exactly one UID")
    masters = [event for event in vevents if event.first("RECURRENCE-ID") is None]
    if len(masters) != 1:
        raise MappingError(
            "several VEVENTs without RECURRENCE-ID"
            if masters
            else f"overridden instances without their series: {provider} needs the repeating event"
        )
    return vevents, masters[0]


def override_start(vevent: Component, *, provider: str) -> When:
    """The RECURRENCE-ID of an overridden instance; one with RANGE is refused (``provider`` has
    no change to an occurrence and all later ones)."""
    line = next(line for line in vevent.lines if property_name(line) == "RECURRENCE-ID")
    if "RANGE" in param_map(split_line(line)[1]):
        raise MappingError(
            "RECURRENCE-ID;RANGE=THISANDFUTURE changes an occurrence and all later ones; "
            f"{provider} has no such change (split the series instead)"
        )
    return whens(line)[0]


def event_span(timing: Mapping[str, str], form: dict[str, Any], zone: str) -> tuple[When, When]:
    """(start, end) of a VEVENT from its DTSTART / DTEND / DURATION lines (``timing``, by name);
    ``form`` notes what the provider will not keep: ``duration`` (the DURATION text), ``noEnd``
    (neither DTEND nor DURATION), ``floating`` (the zone a floating time is read in)."""
    if "DTSTART" not in timing:
        raise MappingError("a VEVENT without DTSTART")
    start = whens(timing["DTSTART"])[0]
    if "DTEND" in timing:
        end = whens(timing["DTEND"])[0]
    elif "DURATION" in timing:
        text = split_line(timing["DURATION"])[2].strip()
        end = add_duration(start, parse_duration(text), zone)
        form["duration"] = text
    else:
        end = default_end(start)
        form["noEnd"] = True
    if start.is_day != end.is_day:
        raise MappingError("DTSTART and DTEND must both be dates or both be date-times")
    if start.is_day:
        if end.value < start.value:
            raise MappingError("the event ends before it starts")
        end = default_end(start) if end.value == start.value else end
    elif instant(end, zone) < instant(start, zone):
        raise MappingError("the event ends before it starts")
    if not start.is_day and start.zone is None:
        form["floating"] = zone
    return start, end


def carried_value(field: str | None, value: str) -> tuple[str, Any] | None:
    """(field, value) of a carried-field line (``field``: the provider field its name carries);
    None when it is not one Kalends wrote."""
    if field is None:
        return None
    try:
        return field, json.loads(unescape_text(value))
    except ValueError:
        return None


def trigger_minutes(alarm: Component) -> int | None:
    """The whole minutes before the start a VALARM fires at: one TRIGGER, a duration relative to
    the start, no repetition; None otherwise (the action is the caller's to check)."""
    triggers = [line for line in alarm.lines if property_name(line) == "TRIGGER"]
    if len(triggers) != 1:
        return None
    if any(property_name(line) in ("REPEAT", "DURATION") for line in alarm.lines):
        return None
    _, params, value = split_line(triggers[0])
    found = param_map(params)
    if found.get("VALUE", "DURATION").upper() != "DURATION":
        return None
    if found.get("RELATED", "START").upper() != "START":
        return None
    try:
        duration = parse_duration(value)
    except MappingError:
        return None
    before = -(duration.days * 86400 + duration.seconds)
    if before < 0 or before % 60:
        return None
    return before // 60


# -- provider -> iCalendar -------------------------------------------------------------------------


def _stamp_of(resource: Mapping[str, Any], field: str) -> str | None:
    return stamp(resource[field]) if resource.get(field) else None


def first_stamp(resource: Mapping[str, Any], fields: Iterable[str]) -> str:
    """DTSTAMP: the first of ``fields`` holding a timestamp, else the epoch."""
    for field in fields:
        moment = _stamp_of(resource, field)
        if moment:
            return moment
    return EPOCH


def stamp_lines(resource: Mapping[str, Any], names: Iterable[tuple[str, str]]) -> list[str]:
    """``NAME:<UTC time>`` for each (field, NAME) whose field holds a timestamp (CREATED,
    LAST-MODIFIED)."""
    lines: list[str] = []
    for field, name in names:
        moment = _stamp_of(resource, field)
        lines.extend([f"{name}:{moment}"] if moment else [])
    return lines


def end_lines(start: When, end: When, form: Mapping[str, Any], floating: str | None) -> list[str]:
    """DURATION when the iCalendar said so and it still holds, nothing when it had no end and
    the end is still the implied one, DTEND otherwise."""
    zone = floating or "UTC"
    duration = form.get("duration")
    if isinstance(duration, str):
        try:
            expected: When | None = add_duration(start, parse_duration(duration), zone)
        except MappingError:
            expected = None
        if (
            expected is not None
            and expected.is_day == end.is_day
            and key_of(expected, zone) == key_of(end, zone)
        ):
            return [f"DURATION:{duration}"]
    if form.get("noEnd") is True and end == default_end(start):
        return []
    return [when_line("DTEND", [end])]


def calendar_text(events: list[Component], zones: ZoneBlocks, prodid: str) -> str:
    """One VCALENDAR: VERSION, PRODID, a VTIMEZONE for every TZID icalendar can describe, then
    the events."""
    children = [*zone_blocks(events, zones), *events]
    calendar = Component("VCALENDAR", ("VERSION:2.0", f"PRODID:{prodid}"), tuple(children))
    return serialize(calendar)
