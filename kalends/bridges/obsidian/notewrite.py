"""Writing an event into a Full Calendar note's frontmatter keys.

Only the keys an event maps to are written, and of those only the ones whose meaning changed, so
an update leaves the rest of the user's frontmatter (and their way of writing it) alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from kalends.bridges.base import Unsupported
from kalends.bridges.obsidian.model import UTC_NAME, EventData, zone_named
from kalends.bridges.obsidian.noteread import WEEKDAYS, parse_time, recurring_rrule
from kalends.bridges.obsidian.yamltext import render

__all__ = ["WHEN_KEYS", "frontmatter_updates"]

WHEN_KEYS = (
    "type",
    "allDay",
    "date",
    "endDate",
    "startDate",
    "rrule",
    "skipDates",
    "daysOfWeek",
    "startRecur",
    "endRecur",
    "startTime",
    "endTime",
    "timezone",
)
_TIME_KEYS = ("startTime", "endTime")
_ABSENT = object()
_WEEKLY = re.compile(r"^FREQ=WEEKLY;BYDAY=((?:SU|MO|TU|WE|TH|FR|SA)(?:,(?:SU|MO|TU|WE|TH|FR|SA))*)")


def _hhmm(value: datetime) -> str:
    return value.strftime("%H:%M")


def _times(event: EventData) -> dict[str, object]:
    """allDay/startTime/endTime/timezone of any note type."""
    if not isinstance(event.start, datetime):
        return {"allDay": True}
    values: dict[str, object] = {"allDay": False, "startTime": _hhmm(event.start)}
    if isinstance(event.end, datetime):
        values["endTime"] = _hhmm(event.end)
    if event.zone is not None:
        values["timezone"] = event.zone
    return values


def _single(event: EventData) -> dict[str, object]:
    start_day = event.start.date() if isinstance(event.start, datetime) else event.start
    values: dict[str, object] = {"type": "single", "date": start_day, **_times(event)}
    if isinstance(event.end, datetime):
        if event.end.date() != start_day:
            values["endDate"] = event.end.date()
    elif event.end is not None and event.end != start_day + timedelta(days=1):
        values["endDate"] = event.end  # exclusive, as FullCalendar.js reads it
    return values


def _check_one_day(event: EventData) -> None:
    """Repeating notes hold a start and end time on one day (or overnight), no end date."""
    if event.end is None:
        return
    length = event.end - event.start  # both dates or both datetimes
    if event.all_day and length != timedelta(days=1):
        raise Unsupported(
            "a repeating all-day event longer than one day cannot be stored in a calendar note"
        )
    if not event.all_day and length >= timedelta(days=1):
        raise Unsupported(
            "a repeating event of a day or longer cannot be stored in a calendar note"
        )


def _until_day(until: str, zone: str | None) -> date:
    day = date(int(until[:4]), int(until[4:6]), int(until[6:8]))
    if not until.endswith("Z") or len(until) < 15 or zone is None:
        return day
    moment = datetime.combine(day, time(int(until[9:11]), int(until[11:13]), int(until[13:15])))
    utc = moment.replace(tzinfo=zone_named(UTC_NAME))
    return utc.astimezone(zone_named(zone)).date()


def _as_recurring(event: EventData) -> dict[str, object] | None:
    """The ``type: recurring`` keys when the weekly rule fits them exactly, else None."""
    match = _WEEKLY.match(event.rrule or "")
    if match is None or event.exdates:
        return None
    letters = [letter for letter in WEEKDAYS if WEEKDAYS[letter] in match[1].split(",")]
    start_day = event.start.date() if isinstance(event.start, datetime) else event.start
    if start_day.weekday() not in {list(WEEKDAYS).index(letter) for letter in letters}:
        return None  # a recurring note's first occurrence is the first matching day
    until = re.search(r";UNTIL=([0-9TZ]+)$", event.rrule or "")
    end_recur = _until_day(until[1], event.zone) + timedelta(days=1) if until else None
    if recurring_rrule(letters, event.start, event.zone, end_recur) != event.rrule:
        return None
    values: dict[str, object] = {"type": "recurring", "daysOfWeek": letters}
    values["startRecur"] = start_day
    if end_recur is not None:
        values["endRecur"] = end_recur
    return {**values, **_times(event)}


def _when_values(event: EventData, prefer_recurring: bool) -> dict[str, object]:
    if event.rrule is None:
        return _single(event)
    _check_one_day(event)
    recurring = _as_recurring(event) if prefer_recurring else None
    if recurring is not None:
        return recurring
    start_day = event.start.date() if isinstance(event.start, datetime) else event.start
    values: dict[str, object] = {"type": "rrule", "startDate": start_day, "rrule": event.rrule}
    if event.exdates:
        values["skipDates"] = list(event.exdates)
    return {**values, **_times(event)}


def _same(key: str, old: object, new: object) -> bool:
    if key in _TIME_KEYS:
        try:
            return parse_time(old, key) == parse_time(new, key)
        except ValueError:
            return False
    if key == "type" and old in (None, _ABSENT):
        return new == "single"  # the default type: no need to write it into a note
    return old == new and type(old) is type(new)


def _when_updates(
    old_fields: Mapping[str, object], event: EventData, *, fresh: bool
) -> dict[str, str | None]:
    """The date, time and repeat keys; a ``fresh`` note gets all of them, type included."""
    values = _when_values(event, prefer_recurring=old_fields.get("type") == "recurring")
    updates: dict[str, str | None] = {}
    for key in WHEN_KEYS:
        if key in values:
            if fresh or not _same(key, old_fields.get(key, _ABSENT), values[key]):
                updates[key] = render(values[key], quote=key in _TIME_KEYS)
        elif key in old_fields:
            updates[key] = None
    return updates


def _timing_of(event: EventData) -> tuple[object, ...]:
    return (event.start, event.end, event.zone, event.rrule, event.exdates)


def frontmatter_updates(
    old_fields: Mapping[str, object], old: EventData | None, new: EventData, *, write_uid: bool
) -> dict[str, str | None]:
    """The YAML text of each key to set (None: to remove) to turn note ``old`` into ``new``.

    ``old`` is None for a new note. Groups of keys whose meaning did not change are left alone.
    """
    updates: dict[str, str | None] = {}
    if old is None or old.summary != new.summary:
        updates["title"] = render(new.summary)
    if write_uid:
        updates["uid"] = render(new.uid)
    if old is None or _timing_of(old) != _timing_of(new):
        updates.update(_when_updates(old_fields, new, fresh=old is None))
    for key in ("location", "url", "description"):
        value = getattr(new, key)
        if old is None or getattr(old, key) != value:
            updates[key] = None if value is None else render(value)
    if old is None:
        return {key: value for key, value in updates.items() if value is not None}
    return updates
