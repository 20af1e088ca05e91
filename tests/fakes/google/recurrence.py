"""Recurrence of a Google master event: its RRULE/EXRULE/RDATE/EXDATE lines, expanded.

The rule is expanded in the zone of ``start.timeZone`` (wall-clock times stay put across DST),
as Google does. Expansion is bounded so a hostile rule cannot hurt: sub-daily frequencies are
refused, at most ``MAX_INSTANCES`` occurrences come back, the iteration stops after
``MAX_STEPS`` candidates, and an unbounded series is expanded ``HORIZON`` past the later of its
start and now. A rule that can never match (``BYMONTH=2;BYMONTHDAY=30``) has no occurrences
instead of making dateutil search until year 9999.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr  # type: ignore[import-untyped]

from tests.fakes.google.times import Moment, When, as_instant, zone

__all__ = ["HORIZON", "MAX_INSTANCES", "Series", "parse_series"]

MAX_INSTANCES = 1000
MAX_STEPS = 100_000
HORIZON = timedelta(days=730)
REFUSED_FREQUENCIES = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
_LONGEST = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # days per month, leap years included


@dataclass
class Series:
    """One master's recurrence, ready to expand."""

    start: When
    rules: list[rrule] = field(default_factory=list)
    exrules: list[rrule] = field(default_factory=list)
    rdates: list[Moment] = field(default_factory=list)
    exdates: set[Moment] = field(default_factory=set)
    exdays: set[date] = field(default_factory=set)  # date EXDATEs of a timed series
    _cache: dict[tuple[object, ...], list[Moment]] = field(default_factory=dict, repr=False)

    @property
    def all_day(self) -> bool:
        return self.start.all_day

    def occurrences(
        self,
        low: datetime | None,
        high: datetime | None,
        where: ZoneInfo,
        now: datetime,
        limit: int = MAX_INSTANCES,
    ) -> list[Moment]:
        """Original starts in [low, high) (dates compare by their midnight in ``where``)."""
        if high is None:
            begin = as_instant(self.start.moment, where)
            today = now.replace(hour=0, minute=0, second=0, microsecond=0)
            high = max(begin, today) + HORIZON
        key = (low, high, str(where), limit)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        found: set[Moment] = set()
        for rule in self.rules:
            found.update(self._run(rule, low, high, where, limit))
        for moment in (self.start.moment, *self.rdates):
            if _inside(as_instant(moment, where), low, high):
                found.add(moment)
        if self.exrules and found:
            first = min(as_instant(m, where) for m in found)
            for rule in self.exrules:
                found.difference_update(self._run(rule, first, high, where, MAX_INSTANCES))
        result = sorted((m for m in found if not self._excluded(m)), key=_order)[:limit]
        if len(self._cache) > 32:
            self._cache.clear()
        self._cache[key] = result
        return result

    def occurs(self, moment: Moment, where: ZoneInfo, now: datetime) -> bool:
        """Whether ``moment`` is one of the series' original starts."""
        if isinstance(moment, datetime) == self.all_day:
            return False
        instant = as_instant(moment, where)
        return moment in self.occurrences(instant, instant + timedelta(seconds=1), where, now, 1)

    def _excluded(self, moment: Moment) -> bool:
        if moment in self.exdates:
            return True
        if isinstance(moment, datetime) and self.exdays:
            local = moment.astimezone(zone(self.start.zone or "UTC"))
            return local.date() in self.exdays
        return False

    def _run(
        self, rule: rrule, low: datetime | None, high: datetime, where: ZoneInfo, limit: int
    ) -> list[Moment]:
        found: list[Moment] = []
        for steps, local in enumerate(rule):
            if steps >= MAX_STEPS:
                break
            moment: Moment = local.date() if self.all_day else local.astimezone(UTC)
            instant = as_instant(moment, where)
            if instant >= high:
                break
            if low is not None and instant < low:
                continue
            found.append(moment)
            if len(found) >= limit:
                break
        return found


def _inside(instant: datetime, low: datetime | None, high: datetime) -> bool:
    return (low is None or instant >= low) and instant < high


def _order(moment: Moment) -> tuple[int, int, int, int, int, int]:
    if isinstance(moment, datetime):
        return moment.timetuple()[:6]
    return (moment.year, moment.month, moment.day, 0, 0, 0)


def parse_series(lines: list[str], start: When) -> Series:
    """The series of these recurrence lines; ValueError (with the reason) when not valid."""
    series = Series(start)
    for line in lines:
        if not isinstance(line, str):
            raise ValueError("a recurrence line is not a string")
        head, colon, value = line.strip().partition(":")
        if not colon or not value:
            raise ValueError(f"not a recurrence line: {line!r}")
        name, *raw_params = head.split(";")
        name = name.upper()
        params = {k.upper(): v for k, _, v in (p.partition("=") for p in raw_params)}
        if name in ("RRULE", "EXRULE"):
            rule = _rule(value, start)
            target = series.rules if name == "RRULE" else series.exrules
            if rule is not None:
                target.append(rule)
        elif name == "RDATE":
            series.rdates.extend(_dates(params, value, start, as_rdate=True))
        elif name == "EXDATE":
            for moment in _dates(params, value, start, as_rdate=False):
                timed_series_day = not start.all_day and not isinstance(moment, datetime)
                if timed_series_day:
                    series.exdays.add(moment)
                else:
                    series.exdates.add(moment)
        else:
            raise ValueError(f"{name} lines are not allowed in recurrence")
    return series


def _rule(value: str, start: When) -> rrule | None:
    parts: dict[str, str] = {}
    for part in value.split(";"):
        if part:
            key, _, item = part.partition("=")
            parts[key.strip().upper()] = item.strip()
    freq = parts.get("FREQ", "").upper()
    if not freq:
        raise ValueError("a rule without FREQ")
    if freq in REFUSED_FREQUENCIES:
        raise ValueError(f"FREQ={freq} is not supported")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("COUNT and UNTIL together")
    if "UNTIL" in parts:
        parts["UNTIL"] = _until(parts["UNTIL"], start)
    if not _feasible(parts):
        return None
    text = ";".join(f"{key}={item}" for key, item in parts.items())
    try:
        made = rrulestr(text, dtstart=start.local())
    except Exception as error:  # dateutil raises ValueError, TypeError, KeyError...
        raise ValueError(f"invalid rule {value!r}: {error}") from None
    if not isinstance(made, rrule):
        raise ValueError(f"invalid rule {value!r}")
    return made


def _until(text: str, start: When) -> str:
    """UNTIL in the form dateutil accepts next to this DTSTART (UTC when it is zoned)."""
    moment = _value(text, None, start)
    if start.all_day:
        day = moment if not isinstance(moment, datetime) else moment.date()
        return day.strftime("%Y%m%dT235959")
    if not isinstance(moment, datetime):
        local = zone(start.zone or "UTC")
        moment = datetime(moment.year, moment.month, moment.day, 23, 59, 59, tzinfo=local)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _feasible(parts: dict[str, str]) -> bool:
    """False when BYMONTH and BYMONTHDAY leave no day at all (dateutil would search forever)."""
    try:
        months = [int(m) for m in parts["BYMONTH"].split(",")] if "BYMONTH" in parts else []
        days = [int(d) for d in parts["BYMONTHDAY"].split(",")] if "BYMONTHDAY" in parts else []
    except ValueError:
        raise ValueError("BYMONTH / BYMONTHDAY are not numbers") from None
    if not days:
        return True
    months = months or list(range(1, 13))
    if any(not 1 <= m <= 12 for m in months):
        raise ValueError("BYMONTH out of range")
    return any(0 < abs(d) <= _LONGEST[m - 1] for m in months for d in days)


def _dates(params: dict[str, str], value: str, start: When, *, as_rdate: bool) -> list[Moment]:
    found: list[Moment] = []
    for raw in value.split(","):
        moment = _value(raw.split("/")[0].strip(), params.get("TZID"), start)
        if start.all_day:
            found.append(moment.date() if isinstance(moment, datetime) else moment)
        elif isinstance(moment, datetime):
            found.append(moment.astimezone(UTC))
        elif as_rdate:  # a date in a timed series: that day at the series' time of day
            local = start.local()
            at = datetime.combine(moment, local.timetz())
            found.append(at.astimezone(UTC))
        else:
            found.append(moment)
    return found


def _value(text: str, tzid: str | None, start: When) -> Moment:
    """One DATE or DATE-TIME value (UTC, in TZID, else in the series' zone)."""
    try:
        if len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").date()
        if text.endswith("Z"):
            return datetime.strptime(text[:-1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        naive = datetime.strptime(text, "%Y%m%dT%H%M%S")
    except ValueError:
        raise ValueError(f"invalid date value {text!r}") from None
    if start.all_day and tzid is None:
        return naive
    where = zone(tzid or start.zone or "UTC")
    return naive.replace(tzinfo=where)
