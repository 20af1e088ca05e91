"""Times between Google (``date`` / ``dateTime`` + ``timeZone``) and iCalendar DATE / DATE-TIME.

A ``When`` is a value as iCalendar writes it: a day, or a wall-clock time with a TZID, in UTC
(``Z``) or floating. Google always pins a time to an instant; a floating time is read in the
calendar's default zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from kalends.bridges.icaltext import MappingError, When, Z, instant, local_when, zone_info

__all__ = ["from_google", "google_instant", "google_time", "in_form", "instance_key"]

_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})


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


def from_google(time: Mapping[str, Any], floating_zone: str | None) -> When:
    """A Google time in its own zone: TZID, or UTC without one; floating when its timeZone is
    ``floating_zone`` (the zone a floating iCalendar time was sent with)."""
    moment = google_instant(time)
    if not isinstance(moment, datetime):
        return When(moment)
    zone = time.get("timeZone")
    if zone is not None and zone == floating_zone:
        return local_when(moment, None, str(zone))
    if zone is None or zone in _UTC_NAMES:
        return local_when(moment, Z, None)
    return local_when(moment, str(zone), None)


def in_form(time: Mapping[str, Any], form: When, floating_zone: str | None) -> When:
    """A Google time written like ``form`` (the master's DTSTART): RECURRENCE-ID and EXDATE."""
    moment = google_instant(time)
    if form.is_day:
        return When(moment.date() if isinstance(moment, datetime) else moment)
    if not isinstance(moment, datetime):
        return When(moment)
    return local_when(moment, form.zone, floating_zone)
