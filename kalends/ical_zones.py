"""VTIMEZONE blocks for IANA zones, shared by every bridge that writes iCalendar."""

from __future__ import annotations

from datetime import date

from icalendar import Timezone

from kalends.ical import Component, ICalError, parse

__all__ = ["ZoneBlocks"]


class ZoneBlocks:
    """VTIMEZONE components, built with icalendar once per zone and span of years."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, int, int], Component | None] = {}

    def block(self, zone: str, first_year: int, last_year: int) -> Component | None:
        """The zone's rules over these years; None when icalendar cannot describe the zone
        (Kalends resolves IANA TZIDs without a VTIMEZONE)."""
        key = (zone, first_year, last_year)
        if key not in self._made:
            self._made[key] = _vtimezone(zone, first_year, last_year)
        return self._made[key]


def _vtimezone(zone: str, first_year: int, last_year: int) -> Component | None:
    try:
        made = Timezone.from_tzid(
            zone, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
        )
        text = made.to_ical().decode("utf-8")
        return parse(f"BEGIN:VCALENDAR\r\n{text}END:VCALENDAR\r\n").children[0]
    except (ValueError, KeyError, OverflowError, ICalError):
        return None
