"""``patternedRecurrence``: checked the way Graph checks it, and expanded into occurrences.

Only Graph's own shape is accepted (no RRULE): a ``pattern`` of one of six types with the
properties that type needs, and a ``range`` (``endDate`` / ``noEnd`` / ``numbered``). Unknown
properties are refused, and so are properties the pattern type does not use when they carry
anything but their default. Occurrences fall on local dates in the event's zone at the series'
time of day; a day-of-month beyond the month's end falls on its last day, as in Outlook.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.zones import windows_name

__all__ = ["MAX_OCCURRENCES", "Series", "parse_recurrence"]

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INDEXES = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
PATTERN_TYPES = {
    name.lower(): name
    for name in (
        "daily",
        "weekly",
        "absoluteMonthly",
        "relativeMonthly",
        "absoluteYearly",
        "relativeYearly",
    )
}
RANGE_TYPES = {"enddate": "endDate", "noend": "noEnd", "numbered": "numbered"}
PATTERN_FIELDS = (
    "type",
    "interval",
    "month",
    "dayOfMonth",
    "daysOfWeek",
    "firstDayOfWeek",
    "index",
)
RANGE_FIELDS = ("type", "startDate", "endDate", "recurrenceTimeZone", "numberOfOccurrences")
# What each pattern type uses besides type and interval (firstDayOfWeek is always allowed).
USES = {
    "daily": set(),
    "weekly": {"daysOfWeek"},
    "absoluteMonthly": {"dayOfMonth"},
    "relativeMonthly": {"daysOfWeek", "index"},
    "absoluteYearly": {"dayOfMonth", "month"},
    "relativeYearly": {"daysOfWeek", "month", "index"},
}
DEFAULTS: dict[str, Any] = {"month": 0, "dayOfMonth": 0, "daysOfWeek": [], "index": "first"}
NO_END = "0001-01-01"
MAX_OCCURRENCES = 1000  # per series and window, as a safety cap
_GUARD = 200_000  # candidate dates looked at before giving up


def _unknown(kind: str, names: set[str]) -> GraphError:
    name = sorted(names)[0]
    return GraphError.invalid_body(
        f"The property '{name}' does not exist on type "
        f"'microsoft.graph.{kind}'. Make sure to only use property "
        "names that are defined by the type."
    )


def _enum(value: Any, allowed: dict[str, str], kind: str) -> str:
    if isinstance(value, str) and value.lower() in allowed:
        return allowed[value.lower()]
    raise GraphError.invalid_body(
        f"Cannot convert the literal '{value}' to the expected type 'microsoft.graph.{kind}'."
    )


def _integer(value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise GraphError.validation()
    return value


def _pattern(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise GraphError.validation()
    unknown = set(raw) - set(PATTERN_FIELDS) - {"@odata.type"}
    if unknown:
        raise _unknown("recurrencePattern", unknown)
    kind = _enum(raw.get("type"), PATTERN_TYPES, "recurrencePatternType")
    uses = USES[kind]
    for name, default in DEFAULTS.items():
        if name not in uses and raw.get(name) not in (None, default):
            raise GraphError.validation()  # a property the pattern type does not use
    days_of_week = [
        _enum(d, {d: d for d in DAYS}, "dayOfWeek") for d in raw.get("daysOfWeek") or []
    ]
    first_day = raw.get("firstDayOfWeek")
    made: dict[str, Any] = {
        "type": kind,
        "interval": _integer(raw.get("interval"), 1, 999),
        "month": _integer(raw["month"], 1, 12) if "month" in uses else 0,
        "dayOfMonth": _integer(raw["dayOfMonth"], 1, 31) if "dayOfMonth" in uses else 0,
        "daysOfWeek": sorted(set(days_of_week), key=DAYS.index),
        "firstDayOfWeek": _enum(first_day, {d: d for d in DAYS}, "dayOfWeek")
        if first_day is not None
        else "sunday",
        "index": _enum(raw.get("index") or "first", {i: i for i in INDEXES}, "weekIndex"),
    }
    if "daysOfWeek" in uses and not made["daysOfWeek"]:
        raise GraphError.validation()
    return made


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise GraphError.invalid_body(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.Date'."
        ) from None


def _range(raw: Any, default_zone: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise GraphError.validation()
    unknown = set(raw) - set(RANGE_FIELDS) - {"@odata.type"}
    if unknown:
        raise _unknown("recurrenceRange", unknown)
    kind = _enum(raw.get("type"), RANGE_TYPES, "recurrenceRangeType")
    if raw.get("startDate") is None:
        raise GraphError.validation()
    start = _date(raw["startDate"])
    zone = raw.get("recurrenceTimeZone") or default_zone
    made: dict[str, Any] = {
        "type": kind,
        "startDate": start.isoformat(),
        "endDate": NO_END,
        "recurrenceTimeZone": windows_name(str(zone)),
        "numberOfOccurrences": 0,
    }
    if kind == "endDate":
        end = _date(raw.get("endDate"))
        if end < start:
            raise GraphError.validation()
        made["endDate"] = end.isoformat()
    elif kind == "numbered":
        made["numberOfOccurrences"] = _integer(raw.get("numberOfOccurrences"), 1, 999)
    return made


def parse_recurrence(raw: Any, zone_name: str) -> dict[str, Any] | None:
    """The normalized ``patternedRecurrence`` (all properties, defaults filled), or None."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise GraphError.invalid_body("Cannot read the value of 'recurrence'.")
    unknown = set(raw) - {"pattern", "range", "@odata.type"}
    if unknown:
        raise _unknown("patternedRecurrence", unknown)
    return {"pattern": _pattern(raw.get("pattern")), "range": _range(raw.get("range"), zone_name)}


@dataclass(frozen=True)
class Series:
    """The occurrences of a normalized recurrence at a time of day in a zone."""

    recurrence: dict[str, Any]
    where: ZoneInfo
    time_of_day: time

    @property
    def pattern(self) -> dict[str, Any]:
        result: dict[str, Any] = self.recurrence["pattern"]
        return result

    @property
    def start_date(self) -> date:
        return date.fromisoformat(self.recurrence["range"]["startDate"])

    def at(self, day: date) -> datetime:
        """The instant (UTC) of the occurrence on local ``day``."""
        return datetime.combine(day, self.time_of_day, tzinfo=self.where).astimezone(UTC)

    def dates(self) -> Iterator[date]:
        """The local dates of the occurrences, in order, within the range."""
        bounds = self.recurrence["range"]
        last = date.fromisoformat(bounds["endDate"]) if bounds["type"] == "endDate" else None
        count = bounds["numberOfOccurrences"] if bounds["type"] == "numbered" else None
        for made, day in enumerate(self._candidates()):
            if (last is not None and day > last) or (count is not None and made >= count):
                return
            yield day

    def starts(
        self, low: datetime | None, high: datetime | None, limit: int = MAX_OCCURRENCES
    ) -> list[datetime]:
        """The original starts in ``[low, high)``, at most ``limit`` of them."""
        found: list[datetime] = []
        for day in self.dates():
            instant = self.at(day)
            if high is not None and instant >= high:
                break
            if low is None or instant >= low:
                found.append(instant)
                if len(found) >= limit:
                    break
        return found

    def first(self) -> datetime | None:
        found = self.starts(None, None, limit=1)
        return found[0] if found else None

    def occurs(self, instant: datetime) -> bool:
        return instant in self.starts(instant, instant + timedelta(seconds=1), limit=1)

    # -- candidate dates from the start date on, ignoring the range's end ---------------------

    def _candidates(self) -> Iterator[date]:
        pattern, start = self.pattern, self.start_date
        step, kind = pattern["interval"], pattern["type"]
        for looked in range(_GUARD):
            if kind == "daily":
                yield start + timedelta(days=looked * step)
                continue
            if kind == "weekly":
                yield from self._week(start, looked * step)
                continue
            if kind.endswith("Monthly"):
                months = start.year * 12 + start.month - 1 + looked * step
                year, month = divmod(months, 12)
                month += 1
            else:
                year, month = start.year + looked * step, pattern["month"]
            if year > 9999:
                return
            day = self._in_month(year, month)
            if day is not None and day >= start:
                yield day

    def _week(self, start: date, weeks: int) -> Iterator[date]:
        first_day = DAYS.index(self.pattern["firstDayOfWeek"])
        week = start - timedelta(days=(start.weekday() - first_day) % 7) + timedelta(weeks=weeks)
        offsets = sorted((DAYS.index(d) - first_day) % 7 for d in self.pattern["daysOfWeek"])
        for offset in offsets:
            day = week + timedelta(days=offset)
            if day >= start:
                yield day

    def _in_month(self, year: int, month: int) -> date | None:
        length = calendar.monthrange(year, month)[1]
        if self.pattern["type"].startswith("absolute"):
            return date(year, month, min(self.pattern["dayOfMonth"], length))
        wanted = {DAYS.index(d) for d in self.pattern["daysOfWeek"]}
        days = [date(year, month, n) for n in range(1, length + 1)]
        matching = [d for d in days if d.weekday() in wanted]
        index = INDEXES[self.pattern["index"]]
        return matching[index] if -len(matching) <= index < len(matching) else None
