"""Graph event fields <-> iCalendar properties: what both directions of the mapping share.

Each mapped field is a *group* of iCalendar properties read into one Graph value and written
back from it (``showAs`` is TRANSP plus X-MICROSOFT-CDO-BUSYSTATUS, ``body`` is DESCRIPTION plus
X-ALT-DESC ...). Where Graph keeps less than iCalendar said (``PRIORITY:3`` is ``high``, which
reads back as ``PRIORITY:1``), ``from_ical`` notes the lines as they were (``kept``) and
``to_ical`` writes them again as long as they still say what Graph holds.

Kalends' own state lives in single-value extended properties of the series master (one GUID,
``66f5a359-...``): ``KalendsUid`` (the iCalendar UID: Outlook makes up its own iCalUId),
``KalendsForm`` (compact JSON: how each VEVENT wrote what Graph normalises) and
``KalendsIcal<n>`` (iCalendar lines and components Graph has no field for, the overridden
instances' ones wrapped in an ``X-KALENDS-OVERRIDE`` component naming the occurrence). Graph
fields without an iCalendar home travel as ``X-MSGRAPH-<FIELD>`` lines of compact JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from kalends.bridges.icalmap import trigger_minutes
from kalends.bridges.icaltext import (
    MappingError,
    When,
    Z,
    carried_field,
    carried_name,
    escape_text,
    join_text_list,
    key_of,
    local_when,
    param,
    param_map,
    split_line,
    split_text_list,
    to_json,
    unescape_text,
    when_line,
    whens,
    zone_info,
)
from kalends.bridges.outlook.zones import event_zone, graph_moment
from kalends.ical import Component, ICalError, parse, property_name, serialize

__all__ = [
    "ALARM_TEXT",
    "FIELD_DEFAULTS",
    "FORM_PROPERTY",
    "GROUPS",
    "MAPPED_FIELDS",
    "MAX_VALUE",
    "ONE_WAY_FIELDS",
    "ORIGINAL_END",
    "ORIGINAL_START",
    "PREFIX",
    "PROPERTIES",
    "READ_ONLY_FIELDS",
    "SLOTS",
    "UID_PROPERTY",
    "Group",
    "State",
    "attendee_line",
    "carried_id",
    "exdate_keys",
    "exdate_line",
    "field_of",
    "instance_key",
    "is_default",
    "is_own",
    "kept_lines",
    "location_rest",
    "organizer_line",
    "override_item",
    "person_of",
    "plain_text",
    "property_for",
    "read_state",
    "reminder_alarm",
    "reminder_minutes",
    "rid_key",
    "series_zone",
    "state_properties",
    "text_hash",
]

PREFIX = "X-MSGRAPH-"
_GUID = "{66f5a359-4659-4830-9070-00047ec6ac6e}"
UID_PROPERTY = f"String {_GUID} Name KalendsUid"
FORM_PROPERTY = f"String {_GUID} Name KalendsForm"
_OWN_PREFIX = f"String {_GUID} Name Kalends".casefold()
SLOTS = 8  # KalendsIcal0..7: the lines Graph has no field for (the last slot takes any overflow)
MAX_VALUE = 32 * 1024  # characters in one extended property value (Graph keeps longer ones)


def carried_id(number: int) -> str:
    return f"String {_GUID} Name KalendsIcal{number}"


# Every extended property Kalends reads: the ids to $expand.
PROPERTIES = (UID_PROPERTY, FORM_PROPERTY, *(carried_id(n) for n in range(SLOTS)))

OVERRIDE = "X-KALENDS-OVERRIDE"  # wraps an overridden instance's carried lines in a slot
_SLOT = "X-KALENDS-SLOT"
ORIGINAL_START = "X-MSGRAPH-ORIGINAL-START-TIME-ZONE"
ORIGINAL_END = "X-MSGRAPH-ORIGINAL-END-TIME-ZONE"
BUSY_STATUS = "X-MICROSOFT-CDO-BUSYSTATUS"
ALT_DESC = "X-ALT-DESC"
_SENSITIVITY = "X-MSGRAPH-SENSITIVITY"
ALARM_TEXT = "Reminder"

# Read-only or bookkeeping: never carried, and an X-MSGRAPH-* line naming one is ignored.
READ_ONLY_FIELDS = frozenset(
    {
        "id", "changeKey", "iCalUId", "uid", "type", "seriesMasterId", "originalStart",
        "originalStartTimeZone", "originalEndTimeZone", "webLink", "createdDateTime",
        "lastModifiedDateTime", "bodyPreview", "hasAttachments", "isDraft", "isOrganizer",
        "onlineMeetingUrl", "responseStatus", "cancelledOccurrences", "exceptionOccurrences",
        "occurrenceId", "transactionId", "attachments", "extensions", "instances", "calendar",
    }
)  # fmt: skip
# Mapped to iCalendar properties of their own (or handled on their own).
MAPPED_FIELDS = frozenset(
    {
        "subject", "body", "start", "end", "isAllDay", "location", "locations", "categories",
        "showAs", "sensitivity", "importance", "isReminderOn", "reminderMinutesBeforeStart",
        "attendees", "organizer", "recurrence", "isCancelled", "singleValueExtendedProperties",
    }
)  # fmt: skip
# Shown to iCalendar but read-only in Graph: carried out, never sent back.
ONE_WAY_FIELDS = frozenset({"onlineMeeting"})
# Graph's values for a field nobody set: not worth a line (and what Graph fills in anyway).
FIELD_DEFAULTS: Mapping[str, object] = {
    "allowNewTimeProposals": True,
    "responseRequested": True,
    "hideAttendees": False,
    "isOnlineMeeting": False,
    "onlineMeetingProvider": "unknown",
}


def is_default(field: str, value: object) -> bool:
    """Whether ``value`` is what Graph holds for ``field`` when nobody set it."""
    if field not in FIELD_DEFAULTS:
        return False
    default = FIELD_DEFAULTS[field]
    return type(value) is type(default) and value == default


def property_for(field: str) -> str:
    """The property name (with parameters) carrying Graph field ``field``."""
    return carried_name(PREFIX, field)


def field_of(name: str, params: list[tuple[str, str]]) -> str | None:
    """The Graph field an X-MSGRAPH-* property carries (None: not a carried field)."""
    return carried_field(PREFIX, name, params)


def is_own(property_id: object) -> bool:
    """Whether an extended property id is one of Kalends' own."""
    return str(property_id).casefold().startswith(_OWN_PREFIX)


# -- groups of properties, one Graph value each ----------------------------------------------------


def kept_lines(kept: object) -> list[str] | None:
    """Lines noted in a form, when they are lines (the note may come from anywhere)."""
    if not isinstance(kept, list):
        return None
    if not all(isinstance(line, str) and line and not _BREAKS & set(line) for line in kept):
        return None
    return [str(line) for line in kept]


_BREAKS = frozenset("\r\n")


@dataclass(frozen=True)
class Group:
    """iCalendar properties that make up one Graph field."""

    field: str
    names: frozenset[str]
    read: Callable[[Sequence[str]], Any]  # the group's lines -> the Graph value
    write: Callable[[Any], list[str]]  # a Graph value -> the lines, as Kalends writes them

    def holds(self, line: str) -> bool:
        name, params, _ = split_line(line)
        if name == ALT_DESC:
            kind = param_map(params).get("FMTTYPE", "")
            return name in self.names and kind.casefold() == "text/html"
        return name in self.names

    def lines(self, value: Any, kept: object) -> list[str]:
        """The lines for ``value``: the ones noted as written before when they still say the
        same, Kalends' own otherwise."""
        written = self.write(value)
        noted = kept_lines(kept)
        if noted is not None:
            try:
                if self.read(noted) == self.read(written):
                    return noted
            except MappingError:
                pass
        return written


def _values(lines: Sequence[str], name: str) -> list[str]:
    return [split_line(line)[2] for line in lines if split_line(line)[0] == name]


def _first_text(lines: Sequence[str], name: str) -> str:
    found = _values(lines, name)
    return unescape_text(found[0]) if found else ""


def _text_lines(name: str) -> Callable[[Any], list[str]]:
    def write(value: Any) -> list[str]:
        text = value if isinstance(value, str) else ""
        return [f"{name}:{escape_text(text)}"] if text else []

    return write


def _read_subject(lines: Sequence[str]) -> str:
    return _first_text(lines, "SUMMARY")


def _read_location(lines: Sequence[str]) -> str:
    return _first_text(lines, "LOCATION")


def _read_body(lines: Sequence[str]) -> dict[str, str]:
    """HTML (X-ALT-DESC) when DESCRIPTION is still its text: a client that edits only the
    DESCRIPTION leaves a stale X-ALT-DESC behind, and the edit wins."""
    text = _first_text(lines, "DESCRIPTION")
    alternatives = _values(lines, ALT_DESC)
    if alternatives:
        markup = unescape_text(alternatives[0])
        if not _values(lines, "DESCRIPTION") or plain_text(markup) == text:
            return {"contentType": "html", "content": markup}
    return {"contentType": "text", "content": text}


def _write_body(value: Any) -> list[str]:
    body = value if isinstance(value, Mapping) else {}
    content = str(body.get("content") or "")
    if str(body.get("contentType", "text")).casefold() != "html":
        return [f"DESCRIPTION:{escape_text(content)}"] if content else []
    if not content:
        return []
    text = plain_text(content)
    lines = [f"DESCRIPTION:{escape_text(text)}"] if text else []
    return [*lines, f"{ALT_DESC};FMTTYPE=text/html:{escape_text(content)}"]


def _read_categories(lines: Sequence[str]) -> list[str]:
    return [item for value in _values(lines, "CATEGORIES") for item in split_text_list(value)]


def _write_categories(value: Any) -> list[str]:
    items = [str(item) for item in value] if isinstance(value, list) else []
    return [f"CATEGORIES:{join_text_list(items)}"] if items else []


_SHOW_AS = {
    "free": ["TRANSP:TRANSPARENT"],
    "busy": ["TRANSP:OPAQUE"],
    "tentative": ["TRANSP:OPAQUE", f"{BUSY_STATUS}:TENTATIVE"],
    "oof": ["TRANSP:OPAQUE", f"{BUSY_STATUS}:OOF"],
    "workingElsewhere": ["TRANSP:TRANSPARENT", f"{BUSY_STATUS}:WORKINGELSEWHERE"],
}
_BUSY = {  # X-MICROSOFT-CDO-BUSYSTATUS -> (showAs, the TRANSP it contradicts)
    "FREE": ("free", "OPAQUE"),
    "BUSY": ("busy", "TRANSPARENT"),
    "TENTATIVE": ("tentative", "TRANSPARENT"),
    "OOF": ("oof", "TRANSPARENT"),
    "WORKINGELSEWHERE": ("workingElsewhere", "OPAQUE"),
}


def _read_show_as(lines: Sequence[str]) -> str:
    """Outlook's own busy status when TRANSP does not contradict it (a client that knows only
    TRANSP changes that alone), else TRANSP; no TRANSP is OPAQUE (RFC 5545)."""
    transp = next(iter(_values(lines, "TRANSP")), "").strip().upper()
    status = next(iter(_values(lines, BUSY_STATUS)), "").strip().upper()
    if status in _BUSY and transp != _BUSY[status][1]:
        return _BUSY[status][0]
    return "free" if transp == "TRANSPARENT" else "busy"


def _write_show_as(value: Any) -> list[str]:
    return list(_SHOW_AS.get(str(value), []))


_CLASS = {
    "normal": "PUBLIC",
    "personal": "PRIVATE",
    "private": "PRIVATE",
    "confidential": "CONFIDENTIAL",
}


def _read_sensitivity(lines: Sequence[str]) -> str:
    kind = next(iter(_values(lines, "CLASS")), "").strip().upper()
    if kind == "PRIVATE":
        carried = next(iter(_values(lines, _SENSITIVITY)), "")
        return "personal" if unescape_text(carried).strip() == '"personal"' else "private"
    return "confidential" if kind == "CONFIDENTIAL" else "normal"


def _write_sensitivity(value: Any) -> list[str]:
    kind = _CLASS.get(str(value))
    if kind is None:
        return []
    return [f"CLASS:{kind}"] + ([f'{_SENSITIVITY}:"personal"'] if value == "personal" else [])


def _read_importance(lines: Sequence[str]) -> str:
    """RFC 5545: 1-4 high, 5 normal (medium), 6-9 low, 0 undefined."""
    try:
        level = int(next(iter(_values(lines, "PRIORITY")), "0").strip())
    except ValueError:
        return "normal"
    return "high" if 1 <= level <= 4 else "low" if 6 <= level <= 9 else "normal"


def _write_importance(value: Any) -> list[str]:
    return {"high": ["PRIORITY:1"], "low": ["PRIORITY:9"]}.get(str(value), [])


GROUPS = (
    Group("subject", frozenset({"SUMMARY"}), _read_subject, _text_lines("SUMMARY")),
    Group("body", frozenset({"DESCRIPTION", ALT_DESC}), _read_body, _write_body),
    Group("location", frozenset({"LOCATION"}), _read_location, _text_lines("LOCATION")),
    Group("categories", frozenset({"CATEGORIES"}), _read_categories, _write_categories),
    Group("showAs", frozenset({"TRANSP", BUSY_STATUS}), _read_show_as, _write_show_as),
    Group("sensitivity", frozenset({"CLASS", _SENSITIVITY}), _read_sensitivity, _write_sensitivity),
    Group("importance", frozenset({"PRIORITY"}), _read_importance, _write_importance),
)


# -- HTML bodies -----------------------------------------------------------------------------------

_BLOCKS = frozenset(
    {
        "address", "article", "blockquote", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_HIDDEN = frozenset({"head", "script", "style", "title"})
_BREAK_SPACE = re.compile(r"[ \t\r\f\v]*\n\s*")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.line_start = True

    def _add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.line_start = text.endswith("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br" or (tag in _BLOCKS and not self.line_start):
            self._add("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in _BLOCKS and not self.line_start:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        data = data.replace("\xa0", " ")
        text = _BREAK_SPACE.sub(" ", data)
        if self.line_start and _BREAK_SPACE.match(data):
            text = text.lstrip(" ")  # the source's own line break, not the text's
        self._add(text)


def plain_text(markup: str) -> str:
    """The text of an HTML body: block elements and ``<br>`` as line breaks, soft line breaks
    in the source as spaces, no trailing spaces, no blank lines around it."""
    parser = _Text()
    parser.feed(markup.replace("\r\n", "\n").replace("\r", "\n"))
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.parts).split("\n")]
    return "\n".join(lines).strip("\n")


def text_hash(text: str) -> str:
    """A short digest of a text body as Kalends sent it (Graph reads it back as HTML)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# -- people ----------------------------------------------------------------------------------------

_PARTSTAT = {
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentativelyAccepted": "TENTATIVE",
    "notResponded": "NEEDS-ACTION",
}
_RESPONSE = {status: response for response, status in _PARTSTAT.items()}


def _address(person: object) -> tuple[str, str | None] | None:
    """(address, name) of a Graph recipient / attendee."""
    if not isinstance(person, Mapping):
        return None
    email = person.get("emailAddress")
    if not isinstance(email, Mapping) or not email.get("address"):
        return None
    name = email.get("name")
    return str(email["address"]), str(name) if isinstance(name, str) else None


def organizer_line(organizer: object) -> list[str]:
    found = _address(organizer)
    if found is None:
        return []
    address, name = found
    cn = param("CN", name) if name is not None else ""
    return [f"ORGANIZER{cn}:mailto:{address}"]


def attendee_line(attendee: object) -> str | None:
    found = _address(attendee)
    if found is None:
        return None
    assert isinstance(attendee, Mapping)
    address, name = found
    params = param("CN", name) if name is not None else ""
    kind = str(attendee.get("type") or "required")
    status = attendee.get("status")
    response = str(status.get("response")) if isinstance(status, Mapping) else "none"
    if kind == "resource":
        params += ";CUTYPE=RESOURCE"
    if response == "organizer":
        params += ";ROLE=CHAIR;PARTSTAT=ACCEPTED"
    else:
        params += ";ROLE=OPT-PARTICIPANT" if kind == "optional" else ""
        params += f";PARTSTAT={_PARTSTAT[response]}" if response in _PARTSTAT else ""
    return f"ATTENDEE{params}:mailto:{address}"


def _mailto(value: str) -> str | None:
    scheme, _, address = value.strip().partition(":")
    return address if scheme.casefold() == "mailto" and address else None


def person_of(line: str) -> dict[str, Any] | None:
    """The Graph organizer / attendee of an ORGANIZER / ATTENDEE line; None when it names no
    e-mail address (it is carried as it is)."""
    name, params, value = split_line(line)
    address = _mailto(value)
    if address is None:
        return None
    found = param_map(params)
    email: dict[str, str] = {"address": address}
    if "CN" in found:
        email["name"] = found["CN"]
    if name == "ORGANIZER":
        return {"emailAddress": email}
    role = found.get("ROLE", "").upper()
    kind = "required"
    if found.get("CUTYPE", "").upper() in ("RESOURCE", "ROOM"):
        kind = "resource"
    elif role in ("OPT-PARTICIPANT", "NON-PARTICIPANT"):
        kind = "optional"
    person: dict[str, Any] = {"type": kind, "emailAddress": email}
    response = "organizer" if role == "CHAIR" else _RESPONSE.get(found.get("PARTSTAT", "").upper())
    if response is not None:
        person["status"] = {"response": response}
    return person


# -- the reminder ----------------------------------------------------------------------------------


def reminder_minutes(alarm: Component) -> int | None:
    """The minutes before the start of a VALARM Outlook's one reminder can be: DISPLAY, one
    TRIGGER relative to the start, whole minutes, no repetition."""
    if alarm.name != "VALARM" or (alarm.first("ACTION") or "").strip().upper() != "DISPLAY":
        return None
    return trigger_minutes(alarm)


def reminder_alarm(minutes: int) -> Component:
    lines = ("ACTION:DISPLAY", f"TRIGGER:-PT{minutes}M", f"DESCRIPTION:{ALARM_TEXT}")
    return Component("VALARM", lines)


# -- locations -------------------------------------------------------------------------------------


def location_rest(location: object) -> dict[str, Any]:
    """A Graph location without its displayName and the values Graph fills in by itself."""
    if not isinstance(location, Mapping):
        return {}
    shown = location.get("displayName")
    rest = {
        str(k): v
        for k, v in location.items()
        if k != "displayName" and "@" not in str(k) and v is not None and v != {}
    }
    if rest.get("locationType") == "default":
        del rest["locationType"]
    if rest.get("uniqueIdType") in ("unknown", "private") and rest.get("uniqueId") in (
        None,
        shown,
    ):
        rest.pop("uniqueIdType")
        rest.pop("uniqueId", None)
    return rest


def normal_location(location: object) -> dict[str, Any]:
    shown = location.get("displayName") if isinstance(location, Mapping) else None
    return {"displayName": str(shown or ""), **location_rest(location)}


# -- occurrences -----------------------------------------------------------------------------------


def series_zone(resource: Mapping[str, Any] | None) -> str | None:
    """The zone a series repeats in (IANA, or Z); None when unknown."""
    if resource is None:
        return None
    recurrence = resource.get("recurrence")
    span = recurrence.get("range") if isinstance(recurrence, Mapping) else None
    for name in (
        span.get("recurrenceTimeZone") if isinstance(span, Mapping) else None,
        resource.get("originalStartTimeZone"),
    ):
        zone = event_zone(name)
        if zone is not None:
            return zone
    return None


def _day_of(moment: datetime, zone: str | None) -> date:
    """The day an all-day occurrence starting at ``moment`` is on: the nearest midnight in the
    series' zone (Outlook keeps such a start at local midnight)."""
    local = moment.astimezone(UTC if zone in (None, Z) else zone_info(str(zone)))
    return (local + timedelta(hours=12)).date()


def instance_key(
    moment: str | date | datetime | Mapping[str, Any], *, master: Mapping[str, Any] | None = None
) -> str:
    """The key of an occurrence, alike from Graph and from iCalendar: the UTC start
    ``YYYYMMDDTHHMMSSZ``, or the day ``YYYYMMDD`` of an all-day series.

    ``moment`` is an occurrence or exception resource (its ``originalStart``, a day when the
    series is all-day: ``master``'s ``isAllDay`` or else its own), a Graph DateTimeOffset text
    (``originalStart``), a datetime (naive: UTC) or a date."""
    if isinstance(moment, Mapping):
        series = master if master is not None else moment
        original = moment.get("originalStart")
        if original is None:
            raise MappingError(f"the occurrence {moment.get('id')!r} has no originalStart")
        start = graph_moment(original)
        if series.get("isAllDay") is True:
            return _day_of(start, series_zone(series)).strftime("%Y%m%d")
        return start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if isinstance(moment, date):
        return moment.strftime("%Y%m%d")
    text = str(moment).strip()
    if len(text) == 10:
        try:
            return date.fromisoformat(text).strftime("%Y%m%d")
        except ValueError:
            pass
    return graph_moment(text).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def rid_key(value: When, start: When, floating_zone: str) -> str:
    """The key of the occurrence a RECURRENCE-ID / EXDATE value names, in a series that starts
    at ``start`` (a day for an all-day series; a day in a timed one: at the start's time)."""
    if start.is_day:
        return value.value.strftime("%Y%m%d")
    if value.is_day:
        assert isinstance(start.value, datetime)
        wall = datetime.combine(value.value, start.value.time())
        return key_of(When(wall, start.zone), floating_zone)
    return key_of(value, floating_zone)


def key_when(key: str, start: When, floating_zone: str) -> When:
    """An occurrence's key written like the series' DTSTART (RECURRENCE-ID, EXDATE)."""
    if len(key) == 8:
        day = datetime.strptime(key, "%Y%m%d").date()
        if start.is_day:
            return When(day)
        assert isinstance(start.value, datetime)
        return When(datetime.combine(day, start.value.time()), start.zone)
    moment = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if start.is_day:
        return When(moment.date())
    return local_when(moment, start.zone, floating_zone)


def exdate_line(keys: Sequence[str], start: When, floating_zone: str) -> list[str]:
    if not keys:
        return []
    return [when_line("EXDATE", [key_when(key, start, floating_zone) for key in sorted(keys)])]


def exdate_keys(lines: Sequence[str], start: When, floating_zone: str) -> set[str]:
    return {rid_key(value, start, floating_zone) for line in lines for value in whens(line)}


# -- Kalends' extended properties ------------------------------------------------------------------


_EMPTY = Component(_SLOT)


@dataclass(frozen=True)
class State:
    """What Kalends keeps in a master's extended properties."""

    uid: str | None = None
    form: Mapping[str, Any] | None = None  # None: never written by Kalends
    carried: Component = _EMPTY  # the master's lines; overrides as OVERRIDE children

    def override_form(self, key: str) -> Mapping[str, Any]:
        overrides = (self.form or {}).get("overrides")
        found = overrides.get(key) if isinstance(overrides, Mapping) else None
        return found if isinstance(found, Mapping) else {}

    def master_items(self) -> tuple[list[str], list[Component]]:
        children = [c for c in self.carried.children if c.name != OVERRIDE]
        return list(self.carried.lines), children

    def override_items(self, key: str) -> tuple[list[str], list[Component]]:
        for child in self.carried.children:
            if child.name == OVERRIDE and child.first("RECURRENCE-ID") == key:
                lines = [line for line in child.lines if property_name(line) != "RECURRENCE-ID"]
                return lines, list(child.children)
        return [], []


def _own_values(resource: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in resource.get("singleValueExtendedProperties") or ():
        if isinstance(entry, Mapping) and is_own(entry.get("id")):
            value = entry.get("value")
            if isinstance(value, str):
                found[str(entry.get("id")).casefold()] = value
    return found


def read_state(resource: Mapping[str, Any] | None) -> State:
    if resource is None:
        return State()
    values = _own_values(resource)
    uid = values.get(UID_PROPERTY.casefold()) or None
    try:
        form = json.loads(values[FORM_PROPERTY.casefold()])
    except (KeyError, ValueError):
        return State(uid)
    if not isinstance(form, dict):
        return State(uid)
    count = form.get("carried", 0)
    texts = [
        values.get(carried_id(n).casefold(), "")
        for n in range(min(count if isinstance(count, int) else 0, SLOTS))
    ]
    text = "\r\n".join(t for t in texts if t)
    try:
        carried = parse(f"BEGIN:{_SLOT}\r\n{text}\r\nEND:{_SLOT}\r\n")
    except ICalError:
        carried = Component(_SLOT)
    return State(uid, form, carried)


def _item_name(text: str) -> str:
    if text.startswith(f"BEGIN:{OVERRIDE}"):
        return "what Outlook has no field for in one overridden instance"
    return text[6:].split("\r\n", 1)[0] if text.startswith("BEGIN:") else property_name(text)


def override_item(key: str, lines: Sequence[str], children: Sequence[Component]) -> str:
    """An overridden instance's carried lines and components, for a slot."""
    return serialize(Component(OVERRIDE, (f"RECURRENCE-ID:{key}", *lines), tuple(children)))


def state_properties(
    uid: str | None, form: Mapping[str, Any], items: Sequence[str]
) -> list[dict[str, str]]:
    """The extended properties holding Kalends' state: ``items`` (lines, components) one per
    slot, any beyond the last slot joined into it. Notes in ``form["kept"]`` too long for one
    property are dropped, longest first (they only restore how iCalendar wrote something); a
    carried line that long is refused."""
    for item in items:
        if len(item) > MAX_VALUE:
            raise MappingError(
                f"{_item_name(item)} is {len(item)} characters long; Kalends keeps at most "
                f"{MAX_VALUE} in one Outlook extended property"
            )
    texts = [item.rstrip("\r\n") for item in items]
    if len(texts) > SLOTS:
        texts = [*texts[: SLOTS - 1], "\r\n".join(texts[SLOTS - 1 :])]
    if texts and len(texts[-1]) > MAX_VALUE:  # only the shared last slot can be
        raise MappingError(
            f"the properties Outlook has no field for take {len(texts[-1])} characters in "
            f"the last extended property; Kalends keeps at most {MAX_VALUE} in one"
        )
    notes: dict[str, Any] = json.loads(to_json({**form, "carried": len(texts)}))
    encoded = to_json(notes)
    while len(encoded) > MAX_VALUE:
        if not _drop_longest_note(notes):
            raise MappingError(
                f"Kalends' notes on this event take {len(encoded)} characters; it keeps at "
                f"most {MAX_VALUE} in one Outlook extended property"
            )
        encoded = to_json(notes)
    found = [] if uid is None else [{"id": UID_PROPERTY, "value": uid}]
    found.append({"id": FORM_PROPERTY, "value": encoded})
    found.extend({"id": carried_id(n), "value": text} for n, text in enumerate(texts))
    return found


def _drop_longest_note(form: dict[str, Any]) -> bool:
    """Drops the longest kept note of the master or an override (False: there is none)."""
    owners = [form, *(form.get("overrides") or {}).values()]
    notes = [
        (len(to_json(value)), name, kept)
        for owner in owners
        for kept in [owner.get("kept")]
        if isinstance(kept, dict)
        for name, value in kept.items()
    ]
    if not notes:
        return False
    _, name, kept = max(notes, key=lambda note: (note[0], note[1]))
    del kept[name]
    return True
