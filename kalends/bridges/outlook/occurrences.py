"""Keys of a series' occurrences, alike from Graph and from iCalendar.

Graph names an occurrence by its ``originalStart``, iCalendar by a RECURRENCE-ID / EXDATE value
written like the series' DTSTART; both become one key (UTC ``YYYYMMDDTHHMMSSZ``, or the day
``YYYYMMDD`` in an all-day series) so the two sides can be matched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kalends.bridges.icaltext import (
    MappingError,
    When,
    Z,
    key_of,
    local_when,
    when_line,
    whens,
    zone_info,
)
from kalends.bridges.outlook.zones import event_zone, graph_moment

__all__ = [
    "exdate_keys",
    "exdate_line",
    "instance_key",
    "key_when",
    "rid_key",
    "series_zone",
]


def series_zone(resource: Mapping[str, Any] | None) -> str | None:
    """The zone a series repeats in (IANA, or Z); None when unknown."""
    if resource is None:
        return None
    recurrence = resource.get("recurrence")
    span = recurrence.get("range") if isinstance(recurrence, Mapping) else None
    for name in (
        span.get("recurrenceTimeZone") if isinstance(span, Mapping) else None,
        resource.get("originalStartTimeZone"),
    ):
        zone = event_zone(name)
        if zone is not None:
            return zone
    return None


def _day_of(moment: datetime, zone: str | None) -> date:
    """The day an all-day occurrence starting at ``moment`` is on: the nearest midnight in the
    series' zone (Outlook keeps such a start at local midnight)."""
    local = moment.astimezone(UTC if zone in (None, Z) else zone_info(str(zone)))
    return (local + timedelta(hours=12)).date()


def instance_key(
    moment: str | date | datetime | Mapping[str, Any], *, master: Mapping[str, Any] | None = None
) -> str:
    """The key of an occurrence, alike from Graph and from iCalendar: the UTC start
    ``YYYYMMDDTHHMMSSZ``, or the day ``YYYYMMDD`` of an all-day series.

    ``moment`` is an occurrence or exception resource (its ``originalStart``, a day when the
    series is all-day: ``master``'s ``isAllDay`` or else its own), a Graph DateTimeOffset text
    (``originalStart``), a datetime (naive: UTC) or a date."""
    if isinstance(moment, Mapping):
        series = master if master is not None else moment
        original = moment.get("originalStart")
        if original is None:
            raise MappingError(f"the occurrence {moment.get('id')!r} has no originalStart")
        start = graph_moment(original)
        if series.get("isAllDay") is True:
            return _day_of(start, series_zone(series)).strftime("%Y%m%d")
        return start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if isinstance(moment, date):
        return moment.strftime("%Y%m%d")
    text = str(moment).strip()
    if len(text) == 10:
        try:
            return date.fromisoformat(text).strftime("%Y%m%d")
        except ValueError:
            pass
    return graph_moment(text).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def rid_key(value: When, start: When, floating_zone: str) -> str:
    """The key of the occurrence a RECURRENCE-ID / EXDATE value names, in a series that starts
    at ``start`` (a day for an all-day series; a day in a timed one: at the start's time)."""
    if start.is_day:
        return value.value.strftime("%Y%m%d")
    if value.is_day:
        assert isinstance(start.value, datetime)
        wall = datetime.combine(value.value, start.value.time())
        return key_of(When(wall, start.zone), floating_zone)
    return key_of(value, floating_zone)


def key_when(key: str, start: When, floating_zone: str) -> When:
    """An occurrence's key written like the series' DTSTART (RECURRENCE-ID, EXDATE)."""
    if len(key) == 8:
        day = datetime.strptime(key, "%Y%m%d").date()
        if start.is_day:
            return When(day)
        assert isinstance(start.value, datetime)
        return When(datetime.combine(day, start.value.time()), start.zone)
    moment = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if start.is_day:
        return When(moment.date())
    return local_when(moment, start.zone, floating_zone)


def exdate_line(keys: Sequence[str], start: When, floating_zone: str) -> list[str]:
    if not keys:
        return []
    return [when_line("EXDATE", [key_when(key, start, floating_zone) for key in sorted(keys)])]


def exdate_keys(lines: Sequence[str], start: When, floating_zone: str) -> set[str]:
    return {rid_key(value, start, floating_zone) for line in lines for value in whens(line)}
