"""Content-line pieces every provider mapping needs: parameters, TEXT values, carried provider
fields, DATE / DATE-TIME values, durations and the VTIMEZONE blocks of an object.

A provider field with no iCalendar property of its own travels as ``<PREFIX><FIELD>`` (the
camelCase name as upper kebab case, e.g. ``X-GOOGLE-COLOR-ID``) whose value is the field's
compact JSON, escaped as TEXT; a name that would not come back unchanged uses
``<PREFIX>FIELD;X-NAME=<name>`` instead.

A ``When`` is a value as iCalendar writes it: a day, or a wall-clock time with a TZID, in UTC
(``Z``) or floating.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kalends.ical import Component
from kalends.ical_zones import ZoneBlocks

__all__ = [
    "Duration",
    "MappingError",
    "When",
    "Z",
    "add_duration",
    "carried_field",
    "carried_name",
    "default_end",
    "escape_text",
    "instant",
    "join_text_list",
    "key_of",
    "local_when",
    "param",
    "param_map",
    "parse_duration",
    "split_line",
    "split_text_list",
    "stamp",
    "to_json",
    "unescape_text",
    "when_line",
    "whens",
    "zone_blocks",
    "zone_info",
]


class MappingError(ValueError):
    """The provider cannot hold this event as it is (the message says why)."""


# -- content lines ---------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_CAMEL = re.compile(r"[a-z][A-Za-z0-9]*")
_QUOTE_NEEDED = re.compile(r"[;:,]")
_LIST_SPLIT = re.compile(r"(?<!\\)((?:\\\\)*),")


def split_line(line: str) -> tuple[str, list[tuple[str, str]], str]:
    """(NAME, [(PARAM, raw value)], value) of an unfolded content line."""
    quoted = False
    pieces: list[str] = []
    start = 0
    value = ""
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in ";:":
            pieces.append(line[start:index])
            start = index + 1
            if char == ":":
                value = line[index + 1 :]
                break
    else:
        pieces.append(line[start:])
    params: list[tuple[str, str]] = []
    for piece in pieces[1:]:
        key, _, raw = piece.partition("=")
        params.append((key.upper(), raw))
    return pieces[0].upper(), params, value


def param_map(params: list[tuple[str, str]]) -> dict[str, str]:
    """Parameters by name, each value unquoted and RFC 6868-decoded (the first one wins)."""
    found: dict[str, str] = {}
    for key, raw in params:
        if key not in found:
            found[key] = _decode_param(raw)
    return found


def _decode_param(raw: str) -> str:
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        raw = raw[1:-1]
    return re.sub(r"\^([n^'])", lambda m: {"n": "\n", "^": "^", "'": '"'}[m[1]], raw)


def param(name: str, value: str) -> str:
    """``;NAME=value``, RFC 6868-encoded and quoted when it has to be."""
    encoded = value.replace("^", "^^").replace("\r\n", "\n").replace("\r", "\n")
    encoded = _CONTROL.sub("", encoded.replace("\n", "^n").replace('"', "^'"))
    if not encoded or _QUOTE_NEEDED.search(value):
        encoded = f'"{encoded}"'
    return f";{name}={encoded}"


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11); control characters other than tab are dropped."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return escaped.replace("\n", "\\n")


def unescape_text(value: str) -> str:
    return _ESCAPED.sub(lambda m: "\n" if m[1] in "nN" else m[1], value)


def split_text_list(value: str) -> list[str]:
    """The items of a comma-separated list of TEXT values (CATEGORIES), unescaped."""
    pieces: list[str] = []
    start = 0
    for match in _LIST_SPLIT.finditer(value):
        end = match.end() - 1
        pieces.append(value[start:end])
        start = match.end()
    pieces.append(value[start:])
    return [unescape_text(piece) for piece in pieces]


def join_text_list(items: Iterable[str]) -> str:
    return ",".join(escape_text(item) for item in items)


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _kebab(field: str) -> str:
    return "".join(f"-{char}" if char.isupper() else char.upper() for char in field)


def _camel(kebab: str) -> str:
    first, *rest = kebab.split("-")
    return first.lower() + "".join(part[:1].upper() + part[1:].lower() for part in rest)


def carried_name(prefix: str, field: str, *, reserved: Collection[str] = ()) -> str:
    """The property name (with parameters) carrying provider field ``field``: ``prefix`` plus
    the field in upper kebab case, or ``<prefix>FIELD;X-NAME=<field>`` when that name would not
    read back as ``field`` or is ``reserved`` for something else."""
    kebab = _kebab(field)
    name = prefix + kebab
    generic = prefix + "FIELD"
    readable = _CAMEL.fullmatch(field) is not None and _camel(kebab) == field
    if readable and name != generic and name not in reserved:
        return name
    return generic + param("X-NAME", field)


def carried_field(
    prefix: str, name: str, params: list[tuple[str, str]], *, reserved: Collection[str] = ()
) -> str | None:
    """The provider field a ``<prefix>*`` property carries (None: not a carried field)."""
    if name == prefix + "FIELD":
        return param_map(params).get("X-NAME")
    if not name.startswith(prefix) or name in reserved:
        return None
    kebab = name[len(prefix) :]
    return _camel(kebab) if kebab else None


# -- DATE and DATE-TIME values ---------------------------------------------------------------------

Z = "Z"  # the zone of a When written in UTC (``...Z``); not an IANA name
_DURATION = re.compile(
    r"([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.IGNORECASE
)


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
        raise MappingError(f"the time zone {name!r} is not an IANA zone name") from None


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
        raise MappingError(f"{name} has a PERIOD value (start/end), not a time")
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


def local_when(moment: datetime, zone: str | None, floating_zone: str | None) -> When:
    """An aware moment as a wall-clock When in ``zone`` (Z: UTC; None: floating, read in
    ``floating_zone``)."""
    if zone == Z:
        return When(moment.astimezone(UTC).replace(tzinfo=None), Z)
    local = moment.astimezone(zone_info(zone or floating_zone or "UTC")).replace(tzinfo=None)
    return When(local, zone)


def stamp(text: object) -> str | None:
    """An RFC 3339 / ISO 8601 timestamp as an iCalendar UTC date-time (no offset: UTC)."""
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
    return local_when(moment, start.zone, floating_zone)


def default_end(start: When) -> When:
    """The end of a VEVENT without DTEND or DURATION: the next day, or the start itself."""
    return When(start.value + timedelta(days=1), start.zone) if start.is_day else start


# -- time zone blocks ------------------------------------------------------------------------------

_RECURRING_YEARS = 10  # time zone rules emitted for repeating events
_RECURRENCE = frozenset({"RRULE", "EXRULE", "RDATE", "EXDATE"})


def zone_blocks(events: list[Component], zones: ZoneBlocks) -> list[Component]:
    """A VTIMEZONE for every TZID the events use (that icalendar can describe), spanning the
    years their values name (ten more for a repeating event), in TZID order."""
    years: dict[str, list[int]] = {}
    recurring = False
    for event in events:
        for line in event.lines:
            name, params, value = split_line(line)
            recurring = recurring or name in _RECURRENCE
            zone = next((raw.strip('"') for key, raw in params if key == "TZID"), None)
            if zone is not None:
                found = years.setdefault(zone, [])
                found.extend(
                    int(v.strip()[:4]) for v in value.split(",") if v.strip()[:4].isdigit()
                )
    blocks: list[Component] = []
    for zone in sorted(years):
        if not years[zone]:
            continue
        first, last = min(years[zone]), max(years[zone])
        if recurring:
            last = max(last, first + _RECURRING_YEARS)
        block = zones.block(zone, first, last)
        blocks.extend([block] if block is not None else [])
    return blocks
