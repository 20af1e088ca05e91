"""Time zones and times as Graph writes them.

Graph takes Windows zone names ("W. Europe Standard Time") and IANA names ("Europe/Berlin") in
``start.timeZone`` / ``end.timeZone`` / ``Prefer: outlook.timezone``, but reports
``originalStartTimeZone`` and ``recurrenceTimeZone`` as Windows names; a small table maps the
two (unmapped IANA zones are reported as ``tzone://Microsoft/Custom``, the legacy marker).
Times go out as ``2025-01-13T08:00:00.0000000`` (seven fraction digits, no offset).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.fakes.graph.errors import GraphError

__all__ = [
    "CUSTOM_ZONE",
    "WINDOWS_TO_IANA",
    "format_instant",
    "format_local",
    "format_stamp",
    "parse_date_time_zone",
    "parse_window",
    "resolve",
    "windows_name",
]

CUSTOM_ZONE = "tzone://Microsoft/Custom"
# Windows zone -> the IANA zone CLDR names for it (territory "001").
WINDOWS_TO_IANA: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago",
    "Central America Standard Time": "America/Guatemala",
    "Canada Central Standard Time": "America/Regina",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Eastern Standard Time": "America/New_York",
    "SA Pacific Standard Time": "America/Bogota",
    "Atlantic Standard Time": "America/Halifax",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "UTC": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "GTB Standard Time": "Europe/Bucharest",
    "FLE Standard Time": "Europe/Kiev",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg",
    "Israel Standard Time": "Asia/Jerusalem",
    "Turkey Standard Time": "Europe/Istanbul",
    "Russian Standard Time": "Europe/Moscow",
    "Arab Standard Time": "Asia/Riyadh",
    "Arabian Standard Time": "Asia/Dubai",
    "Iran Standard Time": "Asia/Tehran",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Calcutta",
    "Nepal Standard Time": "Asia/Katmandu",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "AUS Central Standard Time": "Australia/Darwin",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "W. Australia Standard Time": "Australia/Perth",
    "Tasmania Standard Time": "Australia/Hobart",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Tonga Standard Time": "Pacific/Tongatapu",
}
# Other IANA names of the same Windows zones.
_ALIASES: dict[str, tuple[str, ...]] = {
    "UTC": ("UTC", "Etc/GMT", "GMT", "Etc/Universal", "Zulu"),
    "W. Europe Standard Time": (
        "Europe/Amsterdam",
        "Europe/Rome",
        "Europe/Vienna",
        "Europe/Zurich",
        "Europe/Stockholm",
        "Europe/Oslo",
        "Europe/Luxembourg",
        "Europe/Monaco",
    ),
    "Romance Standard Time": ("Europe/Madrid", "Europe/Brussels", "Europe/Copenhagen"),
    "Central Europe Standard Time": (
        "Europe/Prague",
        "Europe/Belgrade",
        "Europe/Bratislava",
        "Europe/Ljubljana",
    ),
    "Central European Standard Time": ("Europe/Zagreb", "Europe/Sarajevo", "Europe/Skopje"),
    "GMT Standard Time": ("Europe/Dublin", "Europe/Lisbon"),
    "FLE Standard Time": (
        "Europe/Kyiv",
        "Europe/Helsinki",
        "Europe/Riga",
        "Europe/Tallinn",
        "Europe/Vilnius",
        "Europe/Sofia",
    ),
    "GTB Standard Time": ("Europe/Athens",),
    "Eastern Standard Time": ("America/Toronto", "America/Detroit", "US/Eastern"),
    "Pacific Standard Time": ("America/Vancouver", "US/Pacific"),
    "Central Standard Time": ("America/Winnipeg", "US/Central"),
    "Mountain Standard Time": ("America/Edmonton", "US/Mountain"),
    "India Standard Time": ("Asia/Kolkata",),
    "Nepal Standard Time": ("Asia/Kathmandu",),
    "Argentina Standard Time": ("America/Buenos_Aires",),
    "China Standard Time": ("Asia/Hong_Kong",),
    "AUS Eastern Standard Time": ("Australia/Melbourne", "Australia/Canberra"),
}
IANA_TO_WINDOWS: dict[str, str] = {iana: win for win, iana in WINDOWS_TO_IANA.items()}
IANA_TO_WINDOWS.update({iana: win for win, names in _ALIASES.items() for iana in names})
_WINDOWS_FOLDED = {name.lower(): name for name in WINDOWS_TO_IANA}


@lru_cache(maxsize=512)
def resolve(name: str) -> ZoneInfo:
    """The zone a Windows or IANA name stands for; 400 TimeZoneNotSupportedException if none."""
    windows = _WINDOWS_FOLDED.get(name.strip().lower())
    try:
        return ZoneInfo(WINDOWS_TO_IANA[windows] if windows else name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise GraphError.time_zone(name) from None


def windows_name(name: str) -> str:
    """The Windows name Exchange stores for a zone given by a Windows or IANA name."""
    windows = _WINDOWS_FOLDED.get(name.strip().lower())
    if windows is not None:
        return windows
    resolve(name)
    return IANA_TO_WINDOWS.get(name.strip(), CUSTOM_ZONE)


def parse_date_time_zone(value: Any, field: str) -> tuple[datetime, str]:
    """A ``dateTimeTimeZone`` of a request body: the instant (UTC) and the zone name given."""
    if not isinstance(value, dict):
        raise GraphError.invalid_body(f"Cannot read the value of '{field}' as a dateTimeTimeZone.")
    unknown = set(value) - {"dateTime", "timeZone", "@odata.type"}
    if unknown:
        raise GraphError.invalid_body(
            f"The property '{sorted(unknown)[0]}' does not exist on "
            "type 'microsoft.graph.dateTimeTimeZone'."
        )
    text, zone_name = value.get("dateTime"), value.get("timeZone")
    if not isinstance(text, str):
        raise GraphError.validation()
    if zone_name is None:
        zone_name = "UTC"
    if not isinstance(zone_name, str) or not zone_name.strip():
        raise GraphError.time_zone(str(zone_name))
    where = resolve(zone_name)
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise GraphError.invalid_body(
            f"Cannot convert the literal '{text}' to the expected type 'Edm.DateTime'."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=where)
    return parsed.astimezone(UTC).replace(microsecond=0), zone_name


def parse_window(text: str | None, name: str) -> datetime:
    """``startDateTime`` / ``endDateTime`` of a query: its own offset counts, none means UTC."""
    if text is None or not text.strip():
        raise GraphError.time_window_required()
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(
            400, "ErrorInvalidParameter", f"The value '{text}' of parameter '{name}' is invalid."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_local(instant: datetime, where: ZoneInfo) -> str:
    """A wall-clock time in ``where``: ``2025-01-13T08:00:00.0000000``."""
    local = instant.astimezone(where)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0"


def format_instant(instant: datetime) -> str:
    """A DateTimeOffset such as ``originalStart``: ``2025-01-13T07:00:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_stamp(seconds: float) -> str:
    """``createdDateTime`` / ``lastModifiedDateTime``: ``2025-01-12T10:15:30.1234567Z``."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
