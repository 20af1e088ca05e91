"""Content-line pieces of the Google mapping: parameters, TEXT values, carried Google fields.

A Google field with no iCalendar property of its own travels as ``X-GOOGLE-<FIELD>`` (the
camelCase name as upper kebab case) whose value is the field's compact JSON, escaped as TEXT.
A name that would not come back unchanged uses ``X-GOOGLE-FIELD;X-NAME=<name>`` instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "CARRIED_PREFIX",
    "FORM_KEY",
    "GOOGLE_PREFIX",
    "MAPPED_FIELDS",
    "MAX_CARRIED",
    "OWN_PREFIX",
    "USE_DEFAULT",
    "escape_text",
    "field_of",
    "param",
    "param_map",
    "property_for",
    "split_line",
    "to_json",
    "unescape_text",
]

GOOGLE_PREFIX = "X-GOOGLE-"
USE_DEFAULT = "X-GOOGLE-REMINDERS-USE-DEFAULT"  # reminders.useDefault true (no VALARM)
_GENERIC = "X-GOOGLE-FIELD"
OWN_PREFIX = "kalends-"  # extendedProperties.private keys Kalends keeps for itself
CARRIED_PREFIX = "kalends-ical-"  # an iCalendar line or component Google has no field for
FORM_KEY = "kalends-form"  # how the iCalendar wrote what Google normalises (see from_ical)
MAX_CARRIED = 1024  # Google's limit on an extended property's value

# Google fields that are read-only, bookkeeping, or mapped to iCalendar properties of their own:
# never carried as X-GOOGLE-* (an X-GOOGLE-* line naming one is ignored on the way back).
MAPPED_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "id",
        "htmlLink",
        "created",
        "updated",
        "creator",
        "iCalUID",
        "recurringEventId",
        "originalStartTime",
        "status",
        "sequence",
        "organizer",
        "start",
        "end",
        "recurrence",
        "reminders",
        "summary",
        "description",
        "location",
        "transparency",
        "visibility",
        "attendees",
    }
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_CAMEL = re.compile(r"[a-z][A-Za-z0-9]*")
_QUOTE_NEEDED = re.compile(r"[;:,]")


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


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _kebab(field: str) -> str:
    return "".join(f"-{char}" if char.isupper() else char.upper() for char in field)


def _camel(kebab: str) -> str:
    first, *rest = kebab.split("-")
    return first.lower() + "".join(part[:1].upper() + part[1:].lower() for part in rest)


def property_for(field: str) -> str:
    """The property name (with parameters) carrying Google field ``field``."""
    kebab = _kebab(field)
    name = GOOGLE_PREFIX + kebab
    if _CAMEL.fullmatch(field) and _camel(kebab) == field and name not in (_GENERIC, USE_DEFAULT):
        return name
    return _GENERIC + param("X-NAME", field)


def field_of(name: str, params: list[tuple[str, str]]) -> str | None:
    """The Google field an X-GOOGLE-* property carries (None: not a carried field)."""
    if name == _GENERIC:
        return param_map(params).get("X-NAME")
    if not name.startswith(GOOGLE_PREFIX) or name == USE_DEFAULT:
        return None
    kebab = name[len(GOOGLE_PREFIX) :]
    return _camel(kebab) if kebab else None
