"""Graph's ``patternedRecurrence`` <-> an iCalendar RRULE, exactly or not at all.

======================  ===============================================================
Graph pattern.type      RRULE
======================  ===============================================================
daily                   ``FREQ=DAILY;INTERVAL=n``
weekly                  ``FREQ=WEEKLY;BYDAY=MO,TU;WKST=SU`` (``FREQ=DAILY;BYDAY=..`` in)
absoluteMonthly         ``FREQ=MONTHLY;BYMONTHDAY=d``
relativeMonthly         ``FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1`` (``BYDAY=2MO`` in)
absoluteYearly          ``FREQ=YEARLY;BYMONTH=m;BYMONTHDAY=d``
relativeYearly          ``FREQ=YEARLY;BYMONTH=m;BYDAY=FR;BYSETPOS=-1``
======================  ===============================================================

``index`` first..fourth / last is ``BYSETPOS`` 1..4 / -1 on the way out (it is the only form
that says "the first of these days" for several days); an ordinal on a single ``BYDAY`` is
read too. ``range`` ``endDate`` is ``UNTIL`` at the end of that day in ``recurrenceTimeZone``
(a DATE for all-day events, a local time for floating ones), ``numbered`` is ``COUNT``,
``noEnd`` neither. An ``UNTIL`` coming in becomes the last day with an occurrence at or before
it, so Outlook (which keeps every occurrence of its end date) repeats exactly as often.

Whatever a pattern cannot say is refused with the reason, never approximated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kalends.bridges.icaltext import MappingError, When, Z, split_line, zone_info
from kalends.bridges.outlook.zones import event_zone, graph_zone

__all__ = ["graph_recurrence", "rrule_line"]

# iCalendar day codes and Graph's day names, Monday first (the order written out).
DAYS = {
    "MO": "monday",
    "TU": "tuesday",
    "WE": "wednesday",
    "TH": "thursday",
    "FR": "friday",
    "SA": "saturday",
    "SU": "sunday",
}
_CODES = {name: code for code, name in DAYS.items()}
_ORDER = list(DAYS.values())
INDEXES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_INDEX_NAMES = {number: name for name, number in INDEXES.items()}
_ALL_DAYS = list(_ORDER)
_KNOWN_PARTS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
)
_REFUSED_PARTS = {
    "BYWEEKNO": "Outlook's patterns have no week numbers",
    "BYYEARDAY": "Outlook's patterns have no days of the year",
    "BYHOUR": "Outlook repeats an event once a day at most, at its start time",
    "BYMINUTE": "Outlook repeats an event once a day at most, at its start time",
    "BYSECOND": "Outlook repeats an event once a day at most, at its start time",
}


# -- Graph -> RRULE --------------------------------------------------------------------------------


def rrule_line(recurrence: Mapping[str, Any], start: When, floating_zone: str | None) -> str:
    """The RRULE of a ``patternedRecurrence`` for a series starting at ``start`` (the master's
    DTSTART as written; ``floating_zone``: the zone a floating DTSTART stands for)."""
    pattern = recurrence.get("pattern")
    span = recurrence.get("range")
    if not isinstance(pattern, Mapping) or not isinstance(span, Mapping):
        raise MappingError("the recurrence has no pattern or no range")
    kind = str(pattern.get("type") or "").casefold()
    interval = _number(pattern.get("interval"), 1)
    parts: list[str] = []
    if kind == "daily":
        parts.append("FREQ=DAILY")
    elif kind == "weekly":
        parts.append("FREQ=WEEKLY")
    elif kind in ("absolutemonthly", "relativemonthly"):
        parts.append("FREQ=MONTHLY")
    elif kind in ("absoluteyearly", "relativeyearly"):
        parts.append("FREQ=YEARLY")
    else:
        raise MappingError(
            f"the recurrence pattern {pattern.get('type')!r} is not one Kalends knows"
        )
    if interval != 1:
        parts.append(f"INTERVAL={interval}")
    if kind.endswith("yearly"):
        parts.append(f"BYMONTH={_checked(pattern.get('month'), 1, 12, 'month')}")
    if kind.startswith("absolute"):
        parts.append(f"BYMONTHDAY={_checked(pattern.get('dayOfMonth'), 1, 31, 'dayOfMonth')}")
    if kind == "weekly" or kind.startswith("relative"):
        days = _graph_days(pattern.get("daysOfWeek"))
        if days:
            parts.append("BYDAY=" + ",".join(_CODES[day] for day in days))
        elif kind.startswith("relative"):
            raise MappingError("a relative recurrence pattern without daysOfWeek")
    if kind.startswith("relative"):
        index = str(pattern.get("index") or "first").casefold()
        if index not in INDEXES:
            raise MappingError(
                f"the recurrence index {pattern.get('index')!r} is not one Kalends knows"
            )
        parts.append(f"BYSETPOS={INDEXES[index]}")
    if kind == "weekly":
        first = str(pattern.get("firstDayOfWeek") or "sunday").casefold()
        if first not in _CODES:
            raise MappingError(f"firstDayOfWeek {pattern.get('firstDayOfWeek')!r} is not a day")
        parts.append(f"WKST={_CODES[first]}")
    parts.extend(_range_parts(span, start, floating_zone))
    return "RRULE:" + ";".join(parts)


def _number(value: object, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return max(value, 1)


def _checked(value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MappingError(f"the recurrence pattern has {what} {value!r}")
    return value


def _graph_days(value: object) -> list[str]:
    days = {str(day).casefold() for day in value} if isinstance(value, list) else set()
    unknown = days - set(_ORDER)
    if unknown:
        raise MappingError(f"daysOfWeek has {sorted(unknown)!r}, which are not days")
    return [day for day in _ORDER if day in days]


def _range_parts(span: Mapping[str, Any], start: When, floating_zone: str | None) -> list[str]:
    kind = str(span.get("type") or "noEnd").casefold()
    if kind == "noend":
        return []
    if kind == "numbered":
        count = span.get("numberOfOccurrences")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise MappingError(f"a numbered recurrence range with {count!r} occurrences")
        return [f"COUNT={count}"]
    if kind != "enddate":
        raise MappingError(f"the recurrence range {span.get('type')!r} is not one Kalends knows")
    try:
        last = date.fromisoformat(str(span.get("endDate"))[:10])
    except ValueError:
        raise MappingError(f"the recurrence ends on {span.get('endDate')!r}, not a date") from None
    if start.is_day:
        return [f"UNTIL={last:%Y%m%d}"]
    if start.zone is None:
        return [f"UNTIL={last:%Y%m%d}T235959"]
    zone = event_zone(span.get("recurrenceTimeZone")) or start.zone
    end_of_day = datetime(last.year, last.month, last.day, 23, 59, 59)
    aware = end_of_day.replace(tzinfo=UTC if zone == Z else zone_info(zone))
    return [f"UNTIL={aware.astimezone(UTC):%Y%m%dT%H%M%SZ}"]


# -- RRULE -> Graph --------------------------------------------------------------------------------


def graph_recurrence(line: str, start: When, floating_zone: str) -> dict[str, Any]:
    """The ``patternedRecurrence`` of an RRULE line for a series starting at ``start`` (a
    floating start read in ``floating_zone``); MappingError for a rule Outlook cannot repeat."""
    _, _, value = split_line(line)
    parts = _parts(value)
    freq = parts.get("FREQ", "")
    if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
        raise MappingError(
            f"FREQ={freq} repeats within a day; Outlook repeats an event daily at most"
        )
    if freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise MappingError(f"RRULE has FREQ={freq or '(none)'}, which is not a frequency")
    for key in parts:
        if key in _REFUSED_PARTS:
            raise MappingError(f"RRULE has {key}: {_REFUSED_PARTS[key]}")
        if key not in _KNOWN_PARTS:
            raise MappingError(f"RRULE has {key}, which Outlook's patterns cannot express")
    if "COUNT" in parts and "UNTIL" in parts:
        raise MappingError("RRULE has both COUNT and UNTIL (RFC 5545 allows one of them)")
    interval = _integer(parts, "INTERVAL", 1)
    if interval < 1:
        raise MappingError(f"RRULE has INTERVAL={interval}")
    months = _integers(parts, "BYMONTH")
    month_days = _integers(parts, "BYMONTHDAY")
    positions = _integers(parts, "BYSETPOS")
    days = _weekdays(parts.get("BYDAY"))
    for name, values in (("BYMONTH", months), ("BYMONTHDAY", month_days), ("BYSETPOS", positions)):
        if len(values) > 1:
            raise MappingError(
                f"RRULE has several {name} values ({parts[name]}); Outlook's patterns take one"
            )
    if any(not 1 <= month <= 12 for month in months):
        raise MappingError(f"RRULE has BYMONTH={parts['BYMONTH']}")
    wkst = parts.get("WKST", "MO")
    if wkst not in DAYS:
        raise MappingError(f"RRULE has WKST={wkst}, which is not a day")
    pattern = _pattern(freq, interval, months, month_days, positions, days, start)
    pattern["interval"] = interval
    if pattern["type"] == "weekly":
        pattern["firstDayOfWeek"] = DAYS[wkst]
    return {"pattern": pattern, "range": _range(parts, start, floating_zone)}


def _parts(value: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for piece in value.strip().split(";"):
        if not piece:
            continue
        key, equals, part = piece.partition("=")
        key = key.strip().upper()
        if not equals or not part.strip():
            raise MappingError(f"RRULE has {piece!r}, which is not NAME=value")
        if key in parts:
            raise MappingError(f"RRULE has {key} twice")
        parts[key] = part.strip().upper()
    return parts


def _integer(parts: dict[str, str], key: str, default: int) -> int:
    if key not in parts:
        return default
    values = _integers(parts, key)
    if len(values) != 1:
        raise MappingError(f"RRULE has {key}={parts[key]}, not one number")
    return values[0]


def _integers(parts: dict[str, str], key: str) -> list[int]:
    if key not in parts:
        return []
    try:
        return [int(piece) for piece in parts[key].split(",")]
    except ValueError:
        raise MappingError(f"RRULE has {key}={parts[key]}, not numbers") from None


def _weekdays(value: str | None) -> list[tuple[int | None, str]]:
    """(ordinal or None, day code) of each BYDAY value."""
    if value is None:
        return []
    found: list[tuple[int | None, str]] = []
    for piece in value.split(","):
        code = piece.strip()[-2:]
        number = piece.strip()[:-2]
        if code not in DAYS:
            raise MappingError(f"RRULE has BYDAY={value}, and {piece!r} is not a day")
        try:
            ordinal = int(number) if number else None
        except ValueError:
            raise MappingError(f"RRULE has BYDAY={value}, and {piece!r} is not a day") from None
        found.append((ordinal, code))
    return found


def _pattern(
    freq: str,
    interval: int,
    months: list[int],
    month_days: list[int],
    positions: list[int],
    days: list[tuple[int | None, str]],
    start: When,
) -> dict[str, Any]:
    first = start.value
    if positions and freq in ("DAILY", "WEEKLY"):
        raise MappingError(f"RRULE has BYSETPOS with FREQ={freq}; Outlook has no such pattern")
    if positions and not days:
        raise MappingError("RRULE has BYSETPOS without BYDAY; Outlook has no such pattern")
    if days and month_days:
        raise MappingError(
            "RRULE has both BYDAY and BYMONTHDAY (a weekday on a day of the month); "
            "Outlook's patterns take one of them"
        )
    if freq in ("DAILY", "WEEKLY"):
        if months or month_days:
            name = "BYMONTH" if months else "BYMONTHDAY"
            raise MappingError(f"RRULE has {name} with FREQ={freq}; Outlook has no such pattern")
        if any(ordinal is not None for ordinal, _ in days):
            raise MappingError(f"RRULE has numbered BYDAY values with FREQ={freq}")
        if freq == "DAILY" and not days:
            return {"type": "daily"}
        if freq == "DAILY" and interval != 1:
            raise MappingError(
                "RRULE repeats every few days but only on some weekdays (FREQ=DAILY with "
                "INTERVAL and BYDAY); Outlook has no such pattern"
            )
        codes = [code for _, code in days] or [list(DAYS)[first.weekday()]]
        return {"type": "weekly", "daysOfWeek": _sorted_days(codes)}
    if freq == "MONTHLY" and months:
        raise MappingError("RRULE has BYMONTH with FREQ=MONTHLY; Outlook has no such pattern")
    month = months[0] if months else first.month
    if freq == "YEARLY" and not months and (days or month_days):
        raise MappingError(
            "RRULE repeats yearly on a BYDAY or BYMONTHDAY without a BYMONTH (that is every "
            "month's); Outlook's yearly patterns name one month"
        )
    yearly = {"month": month} if freq == "YEARLY" else {}
    prefix = "Yearly" if freq == "YEARLY" else "Monthly"
    if days:
        index, codes = _index(days, positions)
        return {
            "type": "relative" + prefix,
            **yearly,
            "daysOfWeek": _sorted_days(codes),
            "index": _INDEX_NAMES[index],
        }
    day = month_days[0] if month_days else first.day
    if day == -1:  # the last day of the month: the last of any weekday
        return {"type": "relative" + prefix, **yearly, "daysOfWeek": _ALL_DAYS, "index": "last"}
    if not 1 <= day <= 31:
        raise MappingError(
            f"RRULE has BYMONTHDAY={day}; Outlook counts days of the month 1 to 31 (or the last)"
        )
    return {"type": "absolute" + prefix, **yearly, "dayOfMonth": day}


def _index(days: list[tuple[int | None, str]], positions: list[int]) -> tuple[int, list[str]]:
    """(BYSETPOS-like index, day codes) of a relative pattern."""
    codes = [code for _, code in days]
    ordinals = {ordinal for ordinal, _ in days}
    if positions:
        if ordinals != {None}:
            raise MappingError("RRULE has BYSETPOS with numbered BYDAY values")
        position = positions[0]
        if position not in _INDEX_NAMES:
            raise MappingError(
                f"RRULE has BYSETPOS={position}; Outlook counts first to fourth, or last (-1)"
            )
        return position, codes
    if None in ordinals:
        raise MappingError(
            "RRULE repeats on every listed weekday of the month (BYDAY without a number or "
            "BYSETPOS); Outlook's patterns pick one such day"
        )
    if len(ordinals) > 1:
        raise MappingError(
            "RRULE has BYDAY values numbered differently per day (like 1MO,3WE); Outlook's "
            "patterns use one index for all days"
        )
    (ordinal,) = ordinals
    assert ordinal is not None
    if ordinal not in _INDEX_NAMES:
        raise MappingError(
            f"RRULE has BYDAY={ordinal}{codes[0]}; Outlook counts first to fourth, or last (-1)"
        )
    if len(days) > 1:
        raise MappingError(
            f"RRULE has BYDAY={','.join(f'{ordinal}{code}' for code in codes)}, one occurrence "
            "on each of these days; Outlook's pattern takes the first of them only (that is "
            f"BYDAY={','.join(codes)};BYSETPOS={ordinal})"
        )
    return ordinal, codes


def _sorted_days(codes: list[str]) -> list[str]:
    chosen = {DAYS[code] for code in codes}
    return [day for day in _ORDER if day in chosen]


def _range(parts: dict[str, str], start: When, floating_zone: str) -> dict[str, Any]:
    first = start.value
    first_day = first.date() if isinstance(first, datetime) else first
    zone_name = "UTC" if start.is_day else graph_zone(start.zone or floating_zone)
    span: dict[str, Any] = {"startDate": first_day.isoformat(), "recurrenceTimeZone": zone_name}
    if "COUNT" in parts:
        count = _integer(parts, "COUNT", 0)
        if count < 1:
            raise MappingError(f"RRULE has COUNT={count}")
        return {"type": "numbered", **span, "numberOfOccurrences": count}
    if "UNTIL" in parts:
        last = max(_last_day(parts["UNTIL"], start, floating_zone), first_day)
        return {"type": "endDate", **span, "endDate": last.isoformat()}
    return {"type": "noEnd", **span}


def _last_day(until: str, start: When, floating_zone: str) -> date:
    """The last day whose occurrence starts at or before UNTIL, in the series' zone."""
    try:
        if len(until) == 8:
            return datetime.strptime(until, "%Y%m%d").date()
        utc = until.endswith("Z")
        moment = datetime.strptime(until.rstrip("Z"), "%Y%m%dT%H%M%S")
    except ValueError:
        raise MappingError(f"RRULE has UNTIL={until}, not a date or a date-time") from None
    if utc:
        if start.is_day or start.zone == Z:
            zone = zone_info("UTC")
        else:
            zone = zone_info(start.zone or floating_zone)
        moment = moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    if start.is_day:
        return moment.date()
    assert isinstance(start.value, datetime)
    if moment.time() >= start.value.time():
        return moment.date()
    return moment.date() - timedelta(days=1)
