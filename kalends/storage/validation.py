"""Rules a calendar object must meet before it is stored, beyond what Radicale checks.

Each rule guards against data that would later be wrong for every client or costly to process:
an inverted or ambiguous time span (RFC 5545 3.6.1), and unbounded lists.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

MAX_LIST_VALUES = 10_000  # EXDATE / RDATE values, ATTENDEEs: far beyond any real event


def _as_datetime(value: date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def _comparable(start: date, end: date) -> tuple[datetime, datetime]:
    start_dt, end_dt = _as_datetime(start), _as_datetime(end)
    if (start_dt.tzinfo is None) != (end_dt.tzinfo is None):
        start_dt, end_dt = start_dt.replace(tzinfo=None), end_dt.replace(tzinfo=None)
    return start_dt, end_dt


def _check_span(component: Any, end_name: str) -> None:
    name = component.name
    has_end = end_name.lower() in component.contents
    has_duration = "duration" in component.contents
    if has_end and has_duration:
        raise ValueError("%s has both %s and DURATION" % (name, end_name))
    start = getattr(component, "dtstart", None)
    if start is None:
        return
    if has_end:
        begin, end = _comparable(start.value, getattr(component, end_name.lower()).value)
        if end < begin:
            raise ValueError("%s ends (%s) before it starts (%s)" % (name, end, begin))
    if has_duration:
        duration = component.duration.value
        if isinstance(duration, timedelta) and duration < timedelta(0):
            raise ValueError("%s has a negative DURATION" % name)


def _check_list_sizes(component: Any) -> None:
    for prop_name in ("exdate", "rdate", "attendee"):
        lines = component.contents.get(prop_name, [])
        count = 0
        for line in lines:
            value = line.value
            count += len(value) if isinstance(value, list) else 1
        if count > MAX_LIST_VALUES:
            raise ValueError(
                "%s has %d %s values (at most %d)"
                % (component.name, count, prop_name.upper(), MAX_LIST_VALUES)
            )


def check_calendar_object(vobject_item: Any) -> None:
    """Raise ValueError naming the first rule the calendar object breaks."""
    for component in vobject_item.getChildren():
        if component.name == "VEVENT":
            _check_span(component, "DTEND")
        elif component.name == "VTODO":
            _check_span(component, "DUE")
        else:
            continue
        _check_list_sizes(component)
