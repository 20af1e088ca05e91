"""What a Full Calendar note and a VEVENT have in common: the event in between the two formats.

Times are wall-clock times in ``zone`` (an IANA name, "UTC", or None for floating local time),
as Full Calendar keeps them; all-day events have dates with an exclusive end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["UTC_NAME", "EventData", "NoteError", "zone_named"]

UTC_NAME = "UTC"
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*$")


class NoteError(ValueError):
    """A note that is not a valid Full Calendar event (the reason quotes no note content)."""


@dataclass(frozen=True, slots=True)
class EventData:
    """One event: either all-day (``date`` bounds) or timed (naive wall-clock ``datetime``)."""

    uid: str
    summary: str
    start: date | datetime
    end: date | datetime | None  # exclusive date for all-day; None: no end time given
    zone: str | None = None  # timed events only
    rrule: str | None = None  # the RRULE value, e.g. "FREQ=WEEKLY;BYDAY=MO"
    exdates: tuple[date, ...] = ()  # occurrences skipped, by their start date
    location: str | None = None
    url: str | None = None
    description: str | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; NoteError when there is no such zone."""
    if not _ZONE_NAME.match(name) or ".." in name:
        raise NoteError("the time zone is not an IANA name such as Europe/Paris")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise NoteError(f"unknown time zone {name!r}") from None
