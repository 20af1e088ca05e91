"""Times as the Calendar API writes them: event start/end, RFC 3339 stamps, instance ids.

A *moment* is an aware datetime in UTC (a timed event) or a ``date`` (an all-day event). Times are
stored as moments and rendered per request in the calendar's zone (or the request's
``timeZone``), as Google does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.fakes.google.errors import ApiError

__all__ = [
    "Moment",
    "When",
    "as_instant",
    "format_instant",
    "instance_key",
    "parse_instance_key",
    "parse_rfc3339",
    "parse_when",
    "stamp",
    "zone",
]

Moment = datetime | date


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp with its mandatory offset, as an aware datetime in UTC."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError(f"no offset in {text!r}")
    return value.astimezone(UTC)


def stamp(seconds: float) -> str:
    """``created`` / ``updated``: UTC with milliseconds, ``2025-01-12T10:15:30.123Z``."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@lru_cache(maxsize=65536)  # listings render the same times over and over
def format_instant(moment: datetime, where: ZoneInfo) -> str:
    """A dateTime in ``where``, with its offset (``Z`` when the offset is zero)."""
    text = moment.astimezone(where).replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def as_instant(moment: Moment, where: ZoneInfo) -> datetime:
    """A moment as an instant; a date is its midnight in ``where``."""
    if isinstance(moment, datetime):
        return moment
    return datetime(moment.year, moment.month, moment.day, tzinfo=where).astimezone(UTC)


def instance_key(moment: Moment) -> str:
    """The suffix of an instance id: ``20250114T080000Z`` (UTC) or ``20250301``."""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return moment.strftime("%Y%m%d")


def parse_instance_key(text: str) -> Moment | None:
    try:
        if len(text) == 8 and text.isdigit():
            return datetime.strptime(text, "%Y%m%d").date()
        if len(text) == 16 and text.endswith("Z"):
            return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return None


@dataclass(frozen=True, slots=True)
class When:
    """An event's start or end: a moment and the zone the client named (if any)."""

    moment: Moment
    zone: str | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.moment, datetime)

    def stored(self) -> dict[str, Any]:
        """The canonical stored form (dateTime in UTC); rendered per request."""
        if isinstance(self.moment, datetime):
            value: dict[str, Any] = {"dateTime": format_instant(self.moment, ZoneInfo("UTC"))}
        else:
            value = {"date": self.moment.isoformat()}
        if self.zone is not None:
            value["timeZone"] = self.zone
        return value

    def render(self, where: ZoneInfo) -> dict[str, Any]:
        if isinstance(self.moment, datetime):
            value: dict[str, Any] = {"dateTime": format_instant(self.moment, where)}
        else:
            value = {"date": self.moment.isoformat()}
        if self.zone is not None:
            value["timeZone"] = self.zone
        return value

    def local(self) -> datetime:
        """The wall-clock start of a recurrence: in its zone, naive midnight when all-day."""
        if isinstance(self.moment, datetime):
            return self.moment.astimezone(zone(self.zone or "UTC"))
        return datetime(self.moment.year, self.moment.month, self.moment.day)

    def shifted(self, delta: timedelta) -> When:
        return When(self.moment + delta, self.zone)


def parse_when(value: Any, field: str) -> When:
    """``start`` / ``end`` of an event body, checked the way Google checks it."""
    if not isinstance(value, dict):
        raise ApiError.required(f"Missing {field} time.")
    zone_name = value.get("timeZone")
    if zone_name is not None:
        if not isinstance(zone_name, str):
            raise ApiError.invalid(f"Invalid time zone definition for {field} time.")
        try:
            where = zone(zone_name)
        except ValueError:
            raise ApiError.invalid(f"Invalid time zone definition for {field} time.") from None
    day, moment = value.get("date"), value.get("dateTime")
    if day is not None and moment is not None:
        raise ApiError.invalid(f"Invalid {field} time.")
    if day is not None:
        try:
            return When(date.fromisoformat(str(day)), zone_name)
        except ValueError:
            raise ApiError.invalid(f"Invalid {field} time.") from None
    if moment is None:
        raise ApiError.required(f"Missing {field} time.")
    try:
        parsed = datetime.fromisoformat(str(moment))
    except ValueError:
        raise ApiError.invalid(f"Invalid {field} time.") from None
    if parsed.tzinfo is None:
        if zone_name is None:
            raise ApiError(
                400, "missingTimeZone", f"Missing time zone definition for {field} time."
            )
        parsed = parsed.replace(tzinfo=where)
    return When(parsed.astimezone(UTC).replace(microsecond=0), zone_name)
