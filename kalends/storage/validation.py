"""Rules a calendar object must meet before it is stored, beyond what Radicale checks.

Each rule guards against data that would later be wrong for every client or costly to process:
an inverted or ambiguous time span (RFC 5545 3.6.1), unbounded lists, a scheduling METHOD in a
stored resource (RFC 4791 4.1), two copies of one instance, and recurrence rules that expand
second by second or never produce an occurrence (a recurrence library walks such a rule to the
year 9999 before it gives up).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from dateutil.rrule import rrule, rrulestr

MAX_LIST_VALUES = 10_000  # EXDATE / RDATE values, ATTENDEEs: far beyond any real event
SUB_HOURLY = frozenset({"SECONDLY", "MINUTELY"})
PROBED = frozenset({"YEARLY", "MONTHLY", "WEEKLY", "DAILY"})
# The Gregorian calendar repeats every 400 years, weekdays included: whether a rule ever occurs is
# decided by walking it from the same date moved into [PROBE_YEAR, PROBE_YEAR + 400) to year 9999.
PROBE_YEAR = 9200
_MONTH_DAYS = dict(enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), start=1))
_INSTANCE_COMPONENTS = frozenset({"VEVENT", "VTODO", "VJOURNAL"})


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
        raise ValueError(f"{name} has both {end_name} and DURATION")
    start = getattr(component, "dtstart", None)
    if start is None:
        return
    if has_end:
        begin, end = _comparable(start.value, getattr(component, end_name.lower()).value)
        if end < begin:
            raise ValueError(f"{name} ends ({end}) before it starts ({begin})")
    if has_duration:
        duration = component.duration.value
        if isinstance(duration, timedelta) and duration < timedelta(0):
            raise ValueError(f"{name} has a negative DURATION")


def _check_list_sizes(component: Any) -> None:
    for prop_name in ("exdate", "rdate", "attendee"):
        lines = component.contents.get(prop_name, [])
        count = 0
        for line in lines:
            value = line.value
            count += len(value) if isinstance(value, list) else 1
        if count > MAX_LIST_VALUES:
            raise ValueError(
                f"{component.name} has {count} {prop_name.upper()} values"
                f" (at most {MAX_LIST_VALUES})"
            )


def _rule_parts(rule: str) -> dict[str, str]:
    parts = (part.partition("=") for part in rule.split(";") if part)
    return {key.strip().upper(): value.strip().upper() for key, _, value in parts}


def _numbers(value: str) -> list[int]:
    try:
        return [int(number) for number in value.split(",") if number]
    except ValueError:
        raise ValueError(f"RRULE has a list that is not numbers: {value[:80]!r}") from None


def _check_month_days(name: str, parts: dict[str, str]) -> None:
    """BYMONTHDAY=30 with BYMONTH=2 (and the like) never occurs."""
    if "BYMONTH" not in parts or "BYMONTHDAY" not in parts:
        return
    months, days = _numbers(parts["BYMONTH"]), _numbers(parts["BYMONTHDAY"])
    if any(abs(day) <= _MONTH_DAYS.get(month, 31) for month in months for day in days):
        return
    raise ValueError(
        f"{name} RRULE never occurs: no month of BYMONTH={parts['BYMONTH']}"
        f" has a day BYMONTHDAY={parts['BYMONTHDAY']}"
    )


def _check_hourly_positions(name: str, parts: dict[str, str]) -> None:
    """An HOURLY set holds one instant per BYMINUTE x BYSECOND value: BYSETPOS past it never
    occurs, and walking such a rule to year 9999 takes minutes (too many hours to probe)."""
    if parts.get("FREQ") != "HOURLY" or "BYSETPOS" not in parts:
        return
    size = len(_numbers(parts.get("BYMINUTE", "0"))) * len(_numbers(parts.get("BYSECOND", "0")))
    if all(abs(position) > size for position in _numbers(parts["BYSETPOS"])):
        raise ValueError(
            f"{name} RRULE never occurs: BYSETPOS={parts['BYSETPOS']} but each hour holds"
            f" {size} instant(s)"
        )


def _occurs(rule: str, start: date) -> bool:
    """Whether ``rule`` without COUNT or UNTIL produces any occurrence (at most 800 years)."""
    first = _as_datetime(start).replace(tzinfo=None)
    moved = first.replace(year=PROBE_YEAR + (first.year - PROBE_YEAR) % 400)
    parsed = rrulestr(rule, dtstart=moved, ignoretz=True)
    assert isinstance(parsed, rrule)  # a lone RRULE line, without forceset
    probe = parsed.replace(count=None, until=None)
    return next(iter(probe), None) is not None


def _check_rule(name: str, rule: str, start: date | None) -> None:
    parts = _rule_parts(rule)
    frequency = parts.get("FREQ", "")
    if frequency in SUB_HOURLY:
        raise ValueError(f"{name} RRULE FREQ={frequency} is not supported: at most hourly")
    _check_month_days(name, parts)
    _check_hourly_positions(name, parts)
    if frequency in PROBED and start is not None and not _occurs(rule, start):
        raise ValueError(f"{name} RRULE never produces an occurrence")


def _check_recurrence(component: Any) -> None:
    start = getattr(component, "dtstart", None)
    for line in component.contents.get("rrule", []):
        _check_rule(component.name, str(line.value), None if start is None else start.value)


def _check_method(vobject_item: Any) -> None:
    if "method" in vobject_item.contents:
        raise ValueError(
            "METHOD is not allowed in a stored calendar object (RFC 4791 section 4.1):"
            " send it without the METHOD line"
        )


def _check_instances(vobject_item: Any) -> None:
    """Each (UID, RECURRENCE-ID) at most once: a second master or override is ambiguous."""
    seen: set[tuple[str, str, object]] = set()
    for component in vobject_item.getChildren():
        if component.name not in _INSTANCE_COMPONENTS:
            continue
        uid = str(getattr(component, "uid", None) and component.uid.value)
        recurrence = getattr(component, "recurrence_id", None)
        key = (component.name, uid, recurrence.value if recurrence is not None else None)
        if key in seen:
            which = "without RECURRENCE-ID" if recurrence is None else "for one RECURRENCE-ID"
            raise ValueError(f"two {component.name}s with UID {uid[:80]!r} {which}")
        seen.add(key)


def check_calendar_object(vobject_item: Any) -> None:
    """Raise ValueError naming the first rule the calendar object breaks."""
    _check_method(vobject_item)
    _check_instances(vobject_item)
    for component in vobject_item.getChildren():
        if component.name == "VEVENT":
            _check_span(component, "DTEND")
        elif component.name == "VTODO":
            _check_span(component, "DUE")
        else:
            continue
        _check_list_sizes(component)
        _check_recurrence(component)
