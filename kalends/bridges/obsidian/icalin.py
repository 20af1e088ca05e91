"""An iCalendar object as an event a Full Calendar note can hold, or Unsupported with a reason.

The structure (which components, which properties) is checked on Kalends' content-line parser;
values (dates, zones, durations, TEXT escapes) are read with the icalendar library.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar

from kalends.bridges.base import Unsupported
from kalends.bridges.obsidian.model import UTC_NAME, EventData
from kalends.ical import Component, ICalError, parse, property_name, property_value

__all__ = ["event_from_ical"]

_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/Zulu", "Zulu", "Etc/UCT", "UCT", "GMT", "Etc/GMT"})
_NOT_A_NOTE = "cannot be stored in a Full Calendar note"


def _structure(text: str) -> Component:
    """The one VEVENT, after refusing what a note cannot hold."""
    try:
        calendar = parse(text)
    except ICalError as error:
        raise Unsupported(f"not an iCalendar object: {error}") from None
    names = {child.name for child in calendar.children}
    if names & {"VTODO", "VJOURNAL"}:
        raise Unsupported(f"tasks and journal entries (VTODO, VJOURNAL) {_NOT_A_NOTE}")
    events = calendar.sub("VEVENT")
    if not events:
        raise Unsupported("the calendar object holds no event")
    if len(events) > 1 or any(event.first("RECURRENCE-ID") is not None for event in events):
        raise Unsupported(
            "changed or cancelled single occurrences of a repeating event (RECURRENCE-ID) "
            + _NOT_A_NOTE
        )
    event = events[0]
    present = [property_name(line) for line in event.lines]
    if "RDATE" in present:
        raise Unsupported(f"extra dates added to a repeating event (RDATE) {_NOT_A_NOTE}")
    if "EXRULE" in present or present.count("RRULE") > 1:
        raise Unsupported(f"an event repeating by more than one rule {_NOT_A_NOTE}")
    if "DTSTART" not in present:
        raise Unsupported("an event without a start (DTSTART) cannot be stored")
    return event


def _values(text: str) -> icalendar.Event:
    try:
        calendar = icalendar.Calendar.from_ical(text)
        event = calendar.walk("VEVENT")[0]
        start = event.get("DTSTART")
        if not isinstance(event, icalendar.Event) or not isinstance(start.dt, date):
            raise ValueError("no start")
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise Unsupported("the event's dates cannot be read") from None
    return event


def _zone_key(zone: tzinfo | None) -> str | None:
    """The IANA name of an aware datetime's zone ("UTC" for UTC), None for other zones."""
    if zone is None:
        return None
    if isinstance(zone, ZoneInfo):
        return UTC_NAME if zone.key in _UTC_KEYS else zone.key
    if zone.utcoffset(None) == timedelta(0) and zone.tzname(None) in _UTC_KEYS:
        return UTC_NAME
    return None


def _target_zone(start: datetime, repeating: bool, default_zone: str | None) -> str | None:
    """The zone the note is written in: the event's own, except for UTC and custom zones."""
    if start.tzinfo is None:
        return None
    key = _zone_key(start.tzinfo)
    if repeating and key is None:
        raise Unsupported(
            f"a repeating event in a time zone that is not an IANA name {_NOT_A_NOTE}"
        )
    if key == UTC_NAME and repeating:
        return UTC_NAME  # moving a series' rule to another zone would change its occurrences
    if key is None or key == UTC_NAME:
        return default_zone or UTC_NAME
    return key


def _wall(moment: datetime, zone: str | None) -> datetime:
    """``moment`` as a naive wall-clock time in ``zone``, whole minutes."""
    if zone is None:
        if moment.tzinfo is not None:
            raise Unsupported(f"an event mixing floating and zoned times {_NOT_A_NOTE}")
    elif moment.tzinfo is None:
        raise Unsupported(f"an event mixing floating and zoned times {_NOT_A_NOTE}")
    elif _zone_key(moment.tzinfo) != zone:
        moment = moment.astimezone(ZoneInfo(zone))
    return moment.replace(tzinfo=None, second=0, microsecond=0)


def _end(event: icalendar.Event, start: date | datetime) -> date | datetime | None:
    end_property = event.get("DTEND")
    if end_property is not None:
        end: date | datetime = end_property.dt
    elif event.get("DURATION") is not None:
        length = event.get("DURATION").dt
        if not isinstance(length, timedelta):
            raise Unsupported("the event's duration cannot be read")
        end = start + (timedelta(days=length.days) if not isinstance(start, datetime) else length)
    elif isinstance(start, datetime):
        return None
    else:
        end = start + timedelta(days=1)
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise Unsupported(f"an event mixing a date and a time for its start and end {_NOT_A_NOTE}")
    return end


def _exdates(event: icalendar.Event, zone: str | None) -> tuple[date, ...]:
    found = event.get("EXDATE")
    lists = found if isinstance(found, list) else [] if found is None else [found]
    days: set[date] = set()
    for listed in lists:
        for value in listed.dts:
            moment = value.dt
            if isinstance(moment, datetime):
                if moment.tzinfo is not None and zone is not None:
                    moment = moment.astimezone(ZoneInfo(zone))
                moment = moment.date()
            days.add(moment)
    return tuple(sorted(days))


def _text(event: icalendar.Event, name: str) -> str | None:
    """The first value of a TEXT property, unescaped; None when absent or empty."""
    value = event.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value) or None


def _check_zone_known(structure: Component, event: icalendar.Event) -> None:
    """icalendar reads a TZID it does not know as floating time: refuse that instead."""
    line = next(line for line in structure.lines if property_name(line) == "DTSTART")
    parameters = line[: len(line) - len(property_value(line))].upper()
    start = event.get("DTSTART").dt
    if "TZID=" in parameters and isinstance(start, datetime) and start.tzinfo is None:
        raise Unsupported("the event's time zone is neither an IANA name nor defined in it")


def _timing(
    event: icalendar.Event, repeating: bool, default_zone: str | None
) -> tuple[date | datetime, date | datetime | None, str | None]:
    start = event.get("DTSTART").dt
    end = _end(event, start)
    if not isinstance(start, datetime):
        if not isinstance(end, date) or isinstance(end, datetime) or end <= start:
            end = start + timedelta(days=1)
        return start, end, None
    zone = _target_zone(start, repeating, default_zone)
    wall_start = _wall(start, zone)
    wall_end = _wall(end, zone) if isinstance(end, datetime) else None
    if wall_end is not None and wall_end < wall_start:
        raise Unsupported("the event ends before it starts")
    return wall_start, wall_end, zone


def event_from_ical(text: str, *, default_zone: str | None) -> EventData:
    """The event of a one-VEVENT calendar object; Unsupported for what a note cannot hold.

    UTC times of a single event are written in ``default_zone`` (else UTC); a zone's own name
    is kept; floating times stay floating.
    """
    structure = _structure(text)
    event = _values(text)
    rrule = structure.first("RRULE")
    _check_zone_known(structure, event)
    start, end, zone = _timing(event, rrule is not None, default_zone)
    return EventData(
        uid=str(structure.first("UID") or ""),
        summary=_text(event, "SUMMARY") or "",
        start=start,
        end=end,
        zone=zone,
        rrule=rrule,
        exdates=_exdates(event, zone) if rrule is not None else (),
        location=_text(event, "LOCATION"),
        url=_text(event, "URL"),
        description=_text(event, "DESCRIPTION"),
    )
