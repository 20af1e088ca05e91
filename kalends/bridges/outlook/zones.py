"""Time zones between Microsoft Graph and iCalendar: Windows <-> IANA names, and Graph's
``dateTimeTimeZone`` values.

Outlook names a zone the Windows way (``W. Europe Standard Time``) in ``originalStartTimeZone``,
``originalEndTimeZone`` and ``recurrenceTimeZone``, possibly as ``tzone://Microsoft/Custom`` (a
zone of the organiser's own making, which no table resolves). Its inputs take Windows or IANA
names. ``WINDOWS_TO_IANA`` is the Unicode CLDR ``windowsZones.xml`` mapping for the "001"
territory (each Windows zone's golden IANA zone), generated from the copy icalendar ships
(``icalendar.timezone.windows_to_olson``, CLDR commit c33a1f0a23e3, 2025-04-10) with CLDR's
historical spellings replaced by the current IANA names (``Asia/Calcutta`` -> ``Asia/Kolkata``
...); the reverse table knows both spellings. A static copy: the mapping does not change with
the installed icalendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from kalends.bridges.icaltext import MappingError, When, Z, zone_info

__all__ = [
    "CUSTOM_ZONE",
    "IANA_TO_WINDOWS",
    "UTC_NAMES",
    "WINDOWS_TO_IANA",
    "event_zone",
    "graph_day",
    "graph_instant",
    "graph_moment",
    "graph_time",
    "graph_zone",
    "iana_name",
    "same_zone",
]

CUSTOM_ZONE = "tzone://Microsoft/Custom"
# Names that mean UTC itself: the event is written with ``...Z``.
UTC_NAMES = frozenset(
    {
        "UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/UCT", "UCT", "Etc/Universal", "Universal",
        "Etc/Zulu", "Zulu", "tzone://Microsoft/Utc",
    }
)  # fmt: skip

WINDOWS_TO_IANA: Mapping[str, str] = {
    "AUS Central Standard Time": "Australia/Darwin",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Afghanistan Standard Time": "Asia/Kabul",
    "Alaskan Standard Time": "America/Anchorage",
    "Aleutian Standard Time": "America/Adak",
    "Altai Standard Time": "Asia/Barnaul",
    "Arab Standard Time": "Asia/Riyadh",
    "Arabian Standard Time": "Asia/Dubai",
    "Arabic Standard Time": "Asia/Baghdad",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Atlantic Standard Time": "America/Halifax",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Azores Standard Time": "Atlantic/Azores",
    "Bahia Standard Time": "America/Bahia",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Belarus Standard Time": "Europe/Minsk",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Canada Central Standard Time": "America/Regina",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "Central America Standard Time": "America/Guatemala",
    "Central Asia Standard Time": "Asia/Bishkek",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "China Standard Time": "Asia/Shanghai",
    "Cuba Standard Time": "America/Havana",
    "Dateline Standard Time": "Etc/GMT+12",
    "E. Africa Standard Time": "Africa/Nairobi",
    "E. Australia Standard Time": "Australia/Brisbane",
    "E. Europe Standard Time": "Europe/Chisinau",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Easter Island Standard Time": "Pacific/Easter",
    "Eastern Standard Time": "America/New_York",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Egypt Standard Time": "Africa/Cairo",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "FLE Standard Time": "Europe/Kyiv",
    "Fiji Standard Time": "Pacific/Fiji",
    "GMT Standard Time": "Europe/London",
    "GTB Standard Time": "Europe/Bucharest",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Greenland Standard Time": "America/Nuuk",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "India Standard Time": "Asia/Kolkata",
    "Iran Standard Time": "Asia/Tehran",
    "Israel Standard Time": "Asia/Jerusalem",
    "Jordan Standard Time": "Asia/Amman",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Korea Standard Time": "Asia/Seoul",
    "Libya Standard Time": "Africa/Tripoli",
    "Line Islands Standard Time": "Pacific/Kiritimati",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Magadan Standard Time": "Asia/Magadan",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Middle East Standard Time": "Asia/Beirut",
    "Montevideo Standard Time": "America/Montevideo",
    "Morocco Standard Time": "Africa/Casablanca",
    "Mountain Standard Time": "America/Denver",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Myanmar Standard Time": "Asia/Yangon",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Namibia Standard Time": "Africa/Windhoek",
    "Nepal Standard Time": "Asia/Kathmandu",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Newfoundland Standard Time": "America/St_Johns",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Omsk Standard Time": "Asia/Omsk",
    "Pacific SA Standard Time": "America/Santiago",
    "Pacific Standard Time": "America/Los_Angeles",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "Pakistan Standard Time": "Asia/Karachi",
    "Paraguay Standard Time": "America/Asuncion",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "Romance Standard Time": "Europe/Paris",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "Russia Time Zone 3": "Europe/Samara",
    "Russian Standard Time": "Europe/Moscow",
    "SA Eastern Standard Time": "America/Cayenne",
    "SA Pacific Standard Time": "America/Bogota",
    "SA Western Standard Time": "America/La_Paz",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Samoa Standard Time": "Pacific/Apia",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Saratov Standard Time": "Europe/Saratov",
    "Singapore Standard Time": "Asia/Singapore",
    "South Africa Standard Time": "Africa/Johannesburg",
    "South Sudan Standard Time": "Africa/Juba",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Sudan Standard Time": "Africa/Khartoum",
    "Syria Standard Time": "Asia/Damascus",
    "Taipei Standard Time": "Asia/Taipei",
    "Tasmania Standard Time": "Australia/Hobart",
    "Tocantins Standard Time": "America/Araguaina",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Tomsk Standard Time": "Asia/Tomsk",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Transbaikal Standard Time": "Asia/Chita",
    "Turkey Standard Time": "Europe/Istanbul",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "US Mountain Standard Time": "America/Phoenix",
    "UTC": "Etc/UTC",
    "UTC+12": "Etc/GMT-12",
    "UTC+13": "Etc/GMT-13",
    "UTC-02": "Etc/GMT+2",
    "UTC-08": "Etc/GMT+8",
    "UTC-09": "Etc/GMT+9",
    "UTC-11": "Etc/GMT+11",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Venezuela Standard Time": "America/Caracas",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Volgograd Standard Time": "Europe/Volgograd",
    "W. Australia Standard Time": "Australia/Perth",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "W. Europe Standard Time": "Europe/Berlin",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "West Asia Standard Time": "Asia/Tashkent",
    "West Bank Standard Time": "Asia/Hebron",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Yukon Standard Time": "America/Whitehorse",
}

# CLDR's own spellings of the zones above, still found in data written with older tables.
_CLDR_SPELLINGS = {
    "America/Buenos_Aires": "Argentina Standard Time",
    "America/Godthab": "Greenland Standard Time",
    "America/Indianapolis": "US Eastern Standard Time",
    "Asia/Calcutta": "India Standard Time",
    "Asia/Katmandu": "Nepal Standard Time",
    "Asia/Rangoon": "Myanmar Standard Time",
    "Europe/Kiev": "FLE Standard Time",
}
IANA_TO_WINDOWS: Mapping[str, str] = {
    **{iana: windows for windows, iana in WINDOWS_TO_IANA.items()},
    **_CLDR_SPELLINGS,
}
_FOLDED = {name.casefold(): iana for name, iana in WINDOWS_TO_IANA.items()}


def iana_name(name: str) -> str | None:
    """The IANA zone a Graph zone name means: a Windows name through the table, an IANA name
    as it is; None for ``tzone://Microsoft/Custom`` and any name nobody knows."""
    if name in UTC_NAMES:
        return "Etc/UTC"
    found = WINDOWS_TO_IANA.get(name) or _FOLDED.get(name.casefold())
    if found is not None:
        return found
    try:
        zone_info(name)
    except MappingError:
        return None
    return name


def event_zone(name: object) -> str | None:
    """How an event in the Graph zone ``name`` is written: ``Z`` for UTC, an IANA TZID
    otherwise; None when the zone is unknown (custom, or a Windows name missing from the
    table)."""
    if not isinstance(name, str) or not name:
        return None
    iana = iana_name(name)
    if iana is None:
        return None
    return Z if iana in UTC_NAMES else iana


def graph_zone(zone: str) -> str:
    """The name Graph is sent for an IANA zone (or ``Z``): its Windows name when the table has
    one, else the IANA name itself (Graph takes both)."""
    if zone == Z or zone in UTC_NAMES:
        return "UTC"
    return IANA_TO_WINDOWS.get(zone, zone)


def same_zone(first: str | None, second: str | None) -> bool:
    """Whether two Graph zone names are the same zone (``Z`` and the UTC names alike)."""
    if first is None or second is None:
        return False
    return event_zone(first) is not None and event_zone(first) == event_zone(second)


def graph_moment(text: object) -> datetime:
    """A Graph DateTimeOffset (``originalStart``, ``lastModifiedDateTime``) or a dateTime
    without an offset (UTC) as an aware datetime; up to seven fractional digits."""
    raw = str(text).strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise MappingError(f"{raw!r} is not a Graph date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def graph_instant(time: object, what: str) -> datetime:
    """The aware moment of a Graph ``dateTimeTimeZone`` (``what``: start, end ...)."""
    if not isinstance(time, Mapping) or not isinstance(time.get("dateTime"), str):
        raise MappingError(f"the event's {what} is not a Graph dateTimeTimeZone")
    raw = str(time["dateTime"]).strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise MappingError(f"the event's {what} has {raw!r}, not a date-time") from None
    if moment.tzinfo is not None:
        return moment
    name = time.get("timeZone") or "UTC"
    zone = event_zone(name)
    if zone is None:
        raise MappingError(
            f"the event's {what} is in the time zone {name!r}, which Kalends does not know"
        )
    return moment.replace(tzinfo=UTC if zone == Z else zone_info(zone))


def graph_day(time: object, what: str) -> date:
    """The day of an all-day event's start or end (always midnight, whatever the zone)."""
    if not isinstance(time, Mapping) or not isinstance(time.get("dateTime"), str):
        raise MappingError(f"the event's {what} is not a Graph dateTimeTimeZone")
    raw = str(time["dateTime"]).strip()
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise MappingError(f"the event's {what} has {raw!r}, not a date") from None


def graph_time(value: When, floating_zone: str) -> dict[str, str]:
    """Graph's ``start`` / ``end`` for an iCalendar value: the wall-clock time in the value's
    own zone (a floating one in ``floating_zone``); a day as midnight UTC (all-day)."""
    if value.is_day:
        return {"dateTime": f"{value.value.isoformat()}T00:00:00", "timeZone": "UTC"}
    assert isinstance(value.value, datetime)
    zone = graph_zone(value.zone or floating_zone)
    return {"dateTime": value.value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}
