"""An event as an iCalendar object: one VEVENT, with a VTIMEZONE for its zone."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import quote

from kalends.bridges.obsidian.model import UTC_NAME, EventData
from kalends.ical import Component, serialize
from kalends.ical_zones import ZoneBlocks

__all__ = ["PRODID", "ZoneBlocks", "escape_text", "to_ical"]

PRODID = "-//Kalends//Obsidian bridge//EN"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")
_RECURRING_YEARS = 10  # time zone rules emitted for repeating events


def escape_text(value: str) -> str:
    """A TEXT value of a single-valued property (SUMMARY, LOCATION, DESCRIPTION).

    Backslashes, semicolons, commas and line breaks are escaped as RFC 5545 requires: vobject
    (and so Radicale) reads an unescaped comma as a list separator and keeps the first part.
    Control characters other than tabs are dropped.
    """
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return escaped.replace("\n", "\\n")


def _url(value: str) -> str:
    return _URL_UNSAFE.sub(lambda match: quote(match[0], safe=""), value)


def _value(moment: date | datetime, zone: str | None) -> tuple[str, str]:
    """(parameters, value) of a DTSTART-like property."""
    if not isinstance(moment, datetime):
        return ";VALUE=DATE", moment.strftime("%Y%m%d")
    text = moment.strftime("%Y%m%dT%H%M%S")
    if zone is None:
        return "", text
    if zone == UTC_NAME:
        return "", text + "Z"
    return f";TZID={zone}", text


def _exdate(event: EventData) -> str:
    if not isinstance(event.start, datetime):
        return "EXDATE;VALUE=DATE:" + ",".join(day.strftime("%Y%m%d") for day in event.exdates)
    start = event.start
    moments = [datetime.combine(day, start.time()) for day in event.exdates]
    values = [_value(moment, event.zone) for moment in moments]
    return f"EXDATE{values[0][0]}:" + ",".join(value for _, value in values)


def _event_lines(event: EventData, stamp: datetime) -> list[str]:
    params, value = _value(event.start, event.zone)
    lines = [
        f"UID:{event.uid}",
        "DTSTAMP:" + stamp.strftime("%Y%m%dT%H%M%SZ"),
        f"DTSTART{params}:{value}",
    ]
    if event.end is not None:
        params, value = _value(event.end, event.zone)
        lines.append(f"DTEND{params}:{value}")
    if event.rrule is not None:
        lines.append(f"RRULE:{event.rrule}")
        if event.exdates:
            lines.append(_exdate(event))
    if event.summary:
        lines.append("SUMMARY:" + escape_text(event.summary))
    if event.location is not None:
        lines.append("LOCATION:" + escape_text(event.location))
    if event.url is not None:
        lines.append("URL:" + _url(event.url))
    if event.description is not None:
        lines.append("DESCRIPTION:" + escape_text(event.description))
    return lines


def to_ical(event: EventData, *, stamp: datetime, zones: ZoneBlocks) -> str:
    """The VCALENDAR text; ``stamp`` (UTC) becomes DTSTAMP."""
    children: list[Component] = []
    if event.zone not in (None, UTC_NAME) and isinstance(event.start, datetime):
        last = event.end if isinstance(event.end, datetime) else event.start
        last_year = event.start.year + _RECURRING_YEARS if event.rrule else last.year
        block = zones.block(str(event.zone), event.start.year, last_year)
        children.extend([block] if block is not None else [])
    children.append(Component("VEVENT", tuple(_event_lines(event, stamp))))
    calendar = Component("VCALENDAR", ("VERSION:2.0", f"PRODID:{PRODID}"), tuple(children))
    return serialize(calendar)
