"""An Outlook series read whole: its master, its exceptions, and the occurrences that vanished.

Graph v1.0 has no record of a deleted occurrence: it is just missing from ``/instances``. The
occurrences the master's rule produces inside the synced window are therefore compared with the
ones Graph still lists; every one missing is a deleted occurrence (an EXDATE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import icalendar
from dateutil import rrule

from kalends.bridges.icaltext import MappingError, instant, whens
from kalends.bridges.versions import composite_version
from kalends.ical import events, parse, property_name, property_value

__all__ = [
    "expected_keys", "graph_time", "key_of",
    "series_version",
]  # fmt: skip

MAX_OCCURRENCES = 5000


def graph_time(text: str) -> datetime:
    """A Graph date-time ("2025-01-13T08:00:00.0000000", UTC unless it says otherwise)."""
    text = text.replace("Z", "+00:00")
    head, _, zone = text.partition("+")
    if "." in head:
        head = head[: head.index(".") + 7]  # Python reads at most microseconds
    moment = datetime.fromisoformat(head + ("+" + zone if zone else ""))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def key_of(moment: date | datetime) -> str:
    """An occurrence's key: its UTC start (basic format), or its date for all-day events."""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return moment.strftime("%Y%m%d")


def expected_keys(ical: str, start: datetime, end: datetime) -> set[str]:
    """Keys of the occurrences the master's RRULE makes in [start, end) (EXDATEs ignored)."""
    master = next((e for e in events(parse(ical)) if e.first("RECURRENCE-ID") is None), None)
    named = {property_name(line): line for line in reversed(master.lines)} if master else {}
    if "RRULE" not in named or "DTSTART" not in named:
        return set()
    try:
        first = whens(named["DTSTART"])[0]
    except MappingError:  # a TZID that is no IANA name: its VTIMEZONE block says what it is
        return _expected_keys_read_whole(ical, start, end)
    if first.is_day:
        anchor = datetime(first.value.year, first.value.month, first.value.day, tzinfo=UTC)
    else:
        anchor = instant(first, "UTC")  # a floating time is read in UTC
    return _keys(property_value(named["RRULE"]), anchor, first.is_day, start, end)


def _expected_keys_read_whole(ical: str, start: datetime, end: datetime) -> set[str]:
    """``expected_keys`` with the object read by icalendar (zones from their VTIMEZONE)."""
    master = next(
        (c for c in icalendar.Calendar.from_ical(ical).walk("VEVENT") if "RECURRENCE-ID" not in c),
        None,
    )
    if master is None or "RRULE" not in master:
        return set()
    first = master.decoded("DTSTART")
    all_day = not isinstance(first, datetime)
    anchor = datetime(first.year, first.month, first.day, tzinfo=UTC) if all_day else first
    if anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=UTC)
    raw = master["RRULE"].to_ical()
    return _keys(raw.decode("ascii") if isinstance(raw, bytes) else str(raw), anchor, all_day,
                 start, end)  # fmt: skip


def _keys(
    rule_text: str, anchor: datetime, all_day: bool, start: datetime, end: datetime
) -> set[str]:
    rule = rrule.rrulestr(f"RRULE:{_utc_until(rule_text)}", dtstart=anchor, cache=False)
    found: set[str] = set()
    for moment in _bounded(rule, start, end):
        found.add(key_of(moment.date() if all_day else moment))
    return found


def _utc_until(rule: str) -> str:
    """dateutil wants UNTIL in UTC, DTSTART being aware here: a DATE UNTIL becomes the end of
    that day, a floating one is read in UTC as a floating DTSTART is."""
    parts = []
    for part in rule.split(";"):
        name, _, value = part.partition("=")
        if name.upper() == "UNTIL" and "T" not in value.upper():
            part += "T235959Z"
        elif name.upper() == "UNTIL" and not value.upper().endswith("Z"):
            part += "Z"
        parts.append(part)
    return ";".join(parts)


def _bounded(rule: Any, start: datetime, end: datetime) -> Iterable[datetime]:
    for count, moment in enumerate(rule.xafter(start, inc=True)):
        if moment >= end or count >= MAX_OCCURRENCES:
            return
        yield moment


def series_version(
    master: Mapping[str, Any] | None,
    exceptions: Sequence[Mapping[str, Any]],
    deleted: Iterable[str],
) -> str:
    """The master's etag, or, once a series has exceptions or deleted occurrences, a digest
    of everything that makes it up."""
    gone = sorted(deleted)
    if master is not None and not exceptions and not gone:
        return str(master.get("@odata.etag") or master.get("changeKey") or "")
    tags = [str(master.get("@odata.etag", "")) if master is not None else "-"]
    tags.extend(f"{e.get('id')}={e.get('@odata.etag', '')}" for e in exceptions)
    tags.extend(f"-{key}" for key in gone)
    return composite_version(tags)
