"""Reading a Full Calendar note's frontmatter keys into an event.

The three note types of Full Calendar (``single``, ``recurring``, ``rrule``) with the original
schema's keys and the Remastered fork's ``uid``, ``timezone``, ``location``, ``url`` and
``description``. Anything that does not make sense raises NoteError with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from icalendar.prop import vRecur

from kalends.bridges.obsidian.model import UTC_NAME, EventData, NoteError, zone_named

__all__ = [
    "WEEKDAYS",
    "event_from_note",
    "parse_date",
    "parse_time",
    "recurring_rrule",
    "text_value",
]

# Full Calendar's day letters (U = Sunday, R = Thursday) and their RRULE names, Monday first.
WEEKDAYS = {"M": "MO", "T": "TU", "W": "WE", "R": "TH", "F": "FR", "S": "SA", "U": "SU"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$")
_RRULE = re.compile(r"^(?:RRULE:)?([A-Za-z]+=[^;\s]+(?:;[A-Za-z]+=[^;\s]+)*);?$")
_REMASTERED_ONLY = ("month", "dayOfMonth", "repeatOn", "repeatInterval")
# Without startRecur a Full Calendar "recurring" event repeats for ever; iCalendar needs a start.
_NO_START = date(1970, 1, 1)


class _Timing(NamedTuple):
    start: date | datetime
    end: date | datetime | None
    zone: str | None
    rrule: str | None = None
    exdates: tuple[date, ...] = ()


def text_value(fields: Mapping[str, object], key: str) -> str | None:
    """A scalar key as text (None when absent or empty); NoteError for lists and mappings."""
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, list | dict):
        raise NoteError(f"{key} must be a single value")
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value.isoformat() if isinstance(value, date) else str(value)
    return text or None


def parse_date(value: object, key: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}(?:[T ].*)?$", value.strip()):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise NoteError(f"{key} is not a date (YYYY-MM-DD)")


def parse_time(value: object, key: str) -> time:
    """ "HH:mm" or "h:mm a", as Full Calendar accepts them; seconds are ignored."""
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise NoteError(f"{key} is not a time (HH:mm)")
    hour, minute = int(match[1]), int(match[2])
    if match[4]:
        if not 1 <= hour <= 12:
            raise NoteError(f"{key} is not a time (HH:mm)")
        hour = hour % 12 + (12 if match[4].lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise NoteError(f"{key} is not a time (HH:mm)")
    return time(hour, minute)


def _all_day(fields: Mapping[str, object]) -> bool:
    value = fields.get("allDay")
    if value is None:  # the Remastered default; the original schema requires startTime then
        return fields.get("startTime") is None
    if not isinstance(value, bool):
        raise NoteError("allDay must be true or false")
    return value


def _zone(fields: Mapping[str, object]) -> str | None:
    name = text_value(fields, "timezone")
    if name is not None:
        zone_named(name)
    return name


def _when(fields: Mapping[str, object], day: date, end_day: date | None) -> _Timing:
    """Start, end and zone from allDay/startTime/endTime/timezone for an event on ``day``."""
    if _all_day(fields):
        end = end_day if end_day is not None and end_day > day else day + timedelta(days=1)
        return _Timing(day, end, None)
    start = datetime.combine(day, parse_time(fields.get("startTime"), "startTime"))
    if fields.get("endTime") is None:
        return _Timing(start, None, _zone(fields))
    end = datetime.combine(end_day or day, parse_time(fields.get("endTime"), "endTime"))
    if end < start:
        if end_day is not None:
            raise NoteError("the event ends before it starts")
        end += timedelta(days=1)  # 22:00 to 01:00 ends the next morning
    return _Timing(start, end, _zone(fields))


def _optional_date(fields: Mapping[str, object], key: str) -> date | None:
    value = fields.get(key)
    return None if value is None else parse_date(value, key)


def _skip_dates(fields: Mapping[str, object]) -> tuple[date, ...]:
    value = fields.get("skipDates")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise NoteError("skipDates must be a list of dates")
    return tuple(sorted({parse_date(item, "skipDates") for item in value}))


def _until(end_recur: date, start: date | datetime, zone: str | None) -> str:
    """RRULE UNTIL for Full Calendar's exclusive endRecur, in the form RFC 5545 requires."""
    if not isinstance(start, datetime):
        return (end_recur - timedelta(days=1)).strftime("%Y%m%d")
    last = datetime.combine(end_recur, time()) - timedelta(seconds=1)
    if zone is None:
        return last.strftime("%Y%m%dT%H%M%S")
    utc = last.replace(tzinfo=zone_named(zone)).astimezone(zone_named(UTC_NAME))
    return utc.strftime("%Y%m%dT%H%M%SZ")


def recurring_rrule(
    letters: list[str], start: date | datetime, zone: str | None, end_recur: date | None
) -> str:
    """The weekly RRULE of a ``type: recurring`` note with these day letters."""
    rule = "FREQ=WEEKLY;BYDAY=" + ",".join(WEEKDAYS[letter] for letter in letters)
    if end_recur is not None:
        rule += ";UNTIL=" + _until(end_recur, start, zone)
    return rule


def _recurring(fields: Mapping[str, object]) -> _Timing:
    if any(fields.get(key) is not None for key in _REMASTERED_ONLY):
        raise NoteError("monthly and yearly 'recurring' notes are not supported; use type: rrule")
    days = fields.get("daysOfWeek")
    if not isinstance(days, list) or not days or any(day not in WEEKDAYS for day in days):
        raise NoteError("daysOfWeek must be a list of the letters U, M, T, W, R, F, S")
    letters = [letter for letter in WEEKDAYS if letter in days]
    weekdays = {list(WEEKDAYS).index(letter) for letter in letters}
    first = _optional_date(fields, "startRecur") or _NO_START
    while first.weekday() not in weekdays:  # DTSTART must be the first occurrence
        first += timedelta(days=1)
    timing = _when(fields, first, None)
    rule = recurring_rrule(letters, timing.start, timing.zone, _optional_date(fields, "endRecur"))
    return timing._replace(rrule=rule, exdates=_skip_dates(fields))


def _rrule(fields: Mapping[str, object]) -> _Timing:
    text = text_value(fields, "rrule")
    match = _RRULE.match(text.strip()) if text else None
    if match is None or "FREQ" not in vRecur.from_ical(match[1].upper()):
        raise NoteError("rrule is not an RRULE value such as FREQ=WEEKLY;BYDAY=MO")
    timing = _when(fields, parse_date(fields.get("startDate"), "startDate"), None)
    return timing._replace(rrule=match[1].upper(), exdates=_skip_dates(fields))


def _timing(fields: Mapping[str, object]) -> _Timing:
    kind = fields.get("type") or "single"
    try:
        if kind == "single":
            day = parse_date(fields.get("date"), "date")
            return _when(fields, day, _optional_date(fields, "endDate"))
        if kind == "recurring":
            return _recurring(fields)
        if kind == "rrule":
            return _rrule(fields)
    except ValueError as error:  # vRecur's own messages quote the value: keep ours
        if isinstance(error, NoteError):
            raise
        raise NoteError("rrule is not an RRULE value such as FREQ=WEEKLY;BYDAY=MO") from None
    raise NoteError("type must be single, recurring or rrule")


def _uid_text(value: str | None) -> str | None:
    if value is not None and any(ord(char) < 32 or char == "\x7f" for char in value):
        raise NoteError("uid holds control characters")
    return value


def event_from_note(fields: Mapping[str, object], *, uid: str, fallback_title: str) -> EventData:
    """The event a note's frontmatter describes; ``uid`` is used when the note has none."""
    timing = _timing(fields)
    title = fields.get("title")
    summary = fallback_title if title is None else (text_value(fields, "title") or "")
    return EventData(
        uid=_uid_text(text_value(fields, "uid")) or uid,
        summary=summary,
        start=timing.start,
        end=timing.end,
        zone=timing.zone,
        rrule=timing.rrule,
        exdates=timing.exdates,
        location=text_value(fields, "location"),
        url=text_value(fields, "url"),
        description=text_value(fields, "description"),
    )
