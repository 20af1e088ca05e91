"""Times between Google (``date`` / ``dateTime`` + ``timeZone``) and iCalendar DATE / DATE-TIME.

A ``When`` is a value as iCalendar writes it: a day, or a wall-clock time with a TZID, in UTC
(``Z``) or floating. Google always pins a time to an instant; a floating time is read in the
calendar's default zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kalends.bridges.google.lines import param, param_map, split_line

__all__ = [
    "Duration",
    "MappingError",
    "When",
    "Z",
    "add_duration",
    "default_end",
    "from_google",
    "google_instant",
    "google_time",
    "in_form",
    "instance_key",
    "instant",
    "key_of",
    "parse_duration",
    "stamp",
    "when_line",
    "whens",
    "zone_info",
]

Z = "Z"  # the zone of a When written in UTC (``...Z``); not an IANA name
_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})
_DURATION = re.compile(
    r"([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.IGNORECASE
)


class MappingError(ValueError):
    """Google Calendar cannot hold this event as it is (the message says why)."""


@dataclass(frozen=True, slots=True)
class When:
    value: date | datetime  # a day, or a naive wall-clock time
    zone: str | None = None  # IANA name (TZID), Z (UTC), None (a day, or floating)

    @property
    def is_day(self) -> bool:
        return not isinstance(self.value, datetime)


@dataclass(frozen=True, slots=True)
class Duration:
    days: int  # nominal days (local wall clock)
    seconds: int  # exact seconds


@lru_cache(maxsize=256)
def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise MappingError(
            f"the time zone {name!r} is not an IANA zone name, the only kind Google knows"
        ) from None


def _parse_value(name: str, raw: str, day: bool) -> date | datetime:
    try:
        if day or (len(raw) == 8 and raw.isdigit()):
            return datetime.strptime(raw, "%Y%m%d").date()
        return datetime.strptime(raw, "%Y%m%dT%H%M%S")
    except ValueError:
        raise MappingError(f"{name} has {raw!r}, which is not a date or a date-time") from None


def whens(line: str) -> list[When]:
    """The values of a DTSTART-like line (several for EXDATE / RDATE)."""
    name, params, value = split_line(line)
    found = param_map(params)
    kind = found.get("VALUE", "").upper()
    if kind == "PERIOD" or "/" in value:
        raise MappingError(f"{name} has a PERIOD value (start/end); Google takes only times")
    tzid = found.get("TZID")
    if tzid is not None:
        zone_info(tzid)
    result: list[When] = []
    for raw in value.split(","):
        raw = raw.strip()
        utc = raw.upper().endswith("Z")
        moment = _parse_value(name, raw[:-1] if utc else raw, kind == "DATE")
        if not isinstance(moment, datetime):
            result.append(When(moment))
        else:
            result.append(When(moment, Z if utc else tzid))
    if not result:
        raise MappingError(f"{name} has no value")
    return result


def when_line(name: str, values: list[When]) -> str:
    first = values[0]
    if first.is_day:
        params = ";VALUE=DATE"
    elif first.zone in (None, Z):
        params = ""
    else:
        params = param("TZID", str(first.zone))
    return f"{name}{params}:" + ",".join(_text(value) for value in values)


def _text(value: When) -> str:
    if value.is_day:
        return value.value.strftime("%Y%m%d")
    return value.value.strftime("%Y%m%dT%H%M%S") + ("Z" if value.zone == Z else "")


def instant(value: When, floating_zone: str) -> datetime:
    """The aware moment of a timed value (a floating one read in ``floating_zone``)."""
    assert isinstance(value.value, datetime)
    if value.zone == Z:
        return value.value.replace(tzinfo=UTC)
    return value.value.replace(tzinfo=zone_info(value.zone or floating_zone))


def key_of(value: When, floating_zone: str) -> str:
    """An occurrence's key: ``YYYYMMDD`` for a day, the UTC time ``YYYYMMDDTHHMMSSZ`` otherwise."""
    if value.is_day:
        return value.value.strftime("%Y%m%d")
    return instant(value, floating_zone).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_time(value: When, floating_zone: str, *, zone_needed: bool) -> dict[str, str]:
    """Google's ``start`` / ``end`` / ``originalStartTime`` for a value; ``zone_needed`` adds
    ``timeZone: UTC`` to a UTC time (Google requires a zone on recurring events)."""
    if value.is_day:
        return {"date": value.value.isoformat()}
    moment = instant(value, floating_zone)
    if value.zone == Z:
        body = {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return {**body, "timeZone": "UTC"} if zone_needed else body
    return {
        "dateTime": moment.isoformat(timespec="seconds"),
        "timeZone": value.zone or floating_zone,
    }


def google_instant(time: Mapping[str, Any]) -> date | datetime:
    """A Google time as a date or an aware datetime."""
    try:
        if "date" in time:
            return date.fromisoformat(str(time["date"]))
        moment = datetime.fromisoformat(str(time["dateTime"]))
    except (KeyError, ValueError):
        raise MappingError(f"{dict(time)!r} is not a Google date or dateTime") from None
    if moment.tzinfo is None:
        zone = time.get("timeZone")
        if not zone:
            raise MappingError(f"{time['dateTime']!r} has neither an offset nor a timeZone")
        moment = moment.replace(tzinfo=zone_info(str(zone)))
    return moment


def instance_key(original_start: Mapping[str, Any]) -> str:
    """The key of an occurrence from Google's ``originalStartTime`` (or any start): the same
    string ``from_ical`` derives from the RECURRENCE-ID or EXDATE value of that occurrence."""
    moment = google_instant(original_start)
    if not isinstance(moment, datetime):
        return moment.strftime("%Y%m%d")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _wall(moment: datetime, zone: str | None, floating_zone: str | None) -> When:
    if zone == Z:
        return When(moment.astimezone(UTC).replace(tzinfo=None), Z)
    local = moment.astimezone(zone_info(zone or floating_zone or "UTC")).replace(tzinfo=None)
    return When(local, zone)


def from_google(time: Mapping[str, Any], floating_zone: str | None) -> When:
    """A Google time in its own zone: TZID, or UTC without one; floating when its timeZone is
    ``floating_zone`` (the zone a floating iCalendar time was sent with)."""
    moment = google_instant(time)
    if not isinstance(moment, datetime):
        return When(moment)
    zone = time.get("timeZone")
    if zone is not None and zone == floating_zone:
        return _wall(moment, None, str(zone))
    if zone is None or zone in _UTC_NAMES:
        return _wall(moment, Z, None)
    return _wall(moment, str(zone), None)


def in_form(time: Mapping[str, Any], form: When, floating_zone: str | None) -> When:
    """A Google time written like ``form`` (the master's DTSTART): RECURRENCE-ID and EXDATE."""
    moment = google_instant(time)
    if form.is_day:
        return When(moment.date() if isinstance(moment, datetime) else moment)
    if not isinstance(moment, datetime):
        return When(moment)
    return _wall(moment, form.zone, floating_zone)


def stamp(text: object) -> str | None:
    """A Google RFC 3339 timestamp as an iCalendar UTC date-time."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_duration(text: str) -> Duration:
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()[1:]):
        raise MappingError(f"DURATION {text!r} is not an iCalendar duration")
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups()[1:])
    sign = -1 if match[1] == "-" else 1
    return Duration(sign * (weeks * 7 + days), sign * (hours * 3600 + minutes * 60 + seconds))


def add_duration(start: When, duration: Duration, floating_zone: str) -> When:
    if start.is_day:
        if duration.seconds:
            raise MappingError("the DURATION of an all-day event must be whole days")
        return When(start.value + timedelta(days=duration.days))
    assert isinstance(start.value, datetime)
    wall = When(start.value + timedelta(days=duration.days), start.zone)
    if not duration.seconds:
        return wall
    if start.zone is None:
        return When(wall.value + timedelta(seconds=duration.seconds))
    moment = instant(wall, floating_zone).astimezone(UTC) + timedelta(seconds=duration.seconds)
    return _wall(moment, start.zone, floating_zone)


def default_end(start: When) -> When:
    """The end of a VEVENT without DTEND or DURATION: the next day, or the start itself."""
    return When(start.value + timedelta(days=1), start.zone) if start.is_day else start
