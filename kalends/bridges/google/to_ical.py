"""Google Calendar event resources of one iCalUID -> one iCalendar calendar object.

The master becomes the VEVENT without RECURRENCE-ID, each confirmed exception a VEVENT with
RECURRENCE-ID (written like the master's DTSTART), each cancelled exception an EXDATE value.
Pure: the output depends on the resources only (DTSTAMP is the resource's ``updated``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kalends.bridges.google.lines import (
    CARRIED_PREFIX,
    FORM_KEY,
    MAPPED_FIELDS,
    OWN_PREFIX,
    PARTSTAT,
    USE_DEFAULT,
    property_for,
)
from kalends.bridges.google.times import from_google, in_form, instance_key
from kalends.bridges.icalmap import calendar_text, end_lines, first_stamp, stamp_lines
from kalends.bridges.icaltext import (
    MappingError,
    When,
    Z,
    escape_text,
    key_of,
    param,
    to_json,
    when_line,
    whens,
)
from kalends.ical import Component, ICalError, parse, property_name
from kalends.ical_zones import ZoneBlocks

__all__ = ["PRODID", "GoogleSeries", "to_ical"]

PRODID = "-//Kalends//Google Calendar bridge//EN"
_CREATED, _UPDATED = "created", "updated"  # the resource's timestamps
_STATUS = {"confirmed": "CONFIRMED", "tentative": "TENTATIVE"}
_TRANSP = {"opaque": "OPAQUE", "transparent": "TRANSPARENT"}
_CLASS = {"public": "PUBLIC", "private": "PRIVATE", "confidential": "CONFIDENTIAL"}
_ACTION = {"popup": "DISPLAY", "email": "EMAIL"}
ALARM_TEXT = "Reminder"

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class GoogleSeries:
    """What Google holds for one iCalUID."""

    master: Resource | None  # a single event or a recurring master; None: only instances visible
    exceptions: Sequence[Resource] = ()  # resources with recurringEventId, confirmed or cancelled


def to_ical(series: GoogleSeries, *, zones: ZoneBlocks) -> str:
    """One VCALENDAR: VERSION, PRODID, a VTIMEZONE for every TZID icalendar can describe, the
    master VEVENT and one VEVENT per confirmed exception (ordered by occurrence)."""
    master = series.master
    if master is not None and master.get("status") == "cancelled":
        raise MappingError("the event is cancelled: Google keeps it only as a deletion")
    confirmed: dict[str, Resource] = {}
    cancelled: dict[str, Resource] = {}
    for exception in series.exceptions:
        original = exception.get("originalStartTime")
        if not isinstance(original, Mapping):
            raise MappingError(f"the instance {exception.get('id')!r} has no originalStartTime")
        key = instance_key(original)
        confirmed.pop(key, None)
        cancelled.pop(key, None)
        (cancelled if exception.get("status") == "cancelled" else confirmed)[key] = exception
    if master is None and not confirmed:
        raise MappingError("nothing to show: no master and every instance is cancelled")
    uid = next(
        (str(r["iCalUID"]) for r in [master, *confirmed.values()] if r and r.get("iCalUID")), None
    )
    if uid is None:
        raise MappingError("no resource of the series names its iCalUID")
    events: list[Component] = []
    form: When | None = None
    floating: str | None = None
    if master is not None:
        floating = _floating_zone(master)
        form = from_google(master["start"], floating) if "start" in master else None
        excluded = _excluded(master, form, floating)
        extra = [
            in_form(r["originalStartTime"], form, floating)
            for key, r in sorted(cancelled.items())
            if form is not None and key not in excluded
        ]
        events.append(_vevent(master, uid, None, extra))
    for _key, exception in sorted(confirmed.items()):
        original = exception["originalStartTime"]
        rid = in_form(original, form, floating) if form else from_google(original, None)
        events.append(_vevent(exception, uid, rid, []))
    return calendar_text(events, zones, PRODID)


def _own(resource: Resource) -> dict[str, Any]:
    """Kalends' keys in the resource's private extended properties."""
    extended = resource.get("extendedProperties")
    private = extended.get("private") if isinstance(extended, Mapping) else None
    if not isinstance(private, Mapping):
        return {}
    return {str(k): v for k, v in private.items() if str(k).startswith(OWN_PREFIX)}


def _form(resource: Resource) -> dict[str, Any]:
    try:
        found = json.loads(str(_own(resource).get(FORM_KEY, "{}")))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _floating_zone(resource: Resource) -> str | None:
    zone = _form(resource).get("floating")
    return zone if isinstance(zone, str) else None


def _excluded(master: Resource, form: When | None, floating: str | None) -> set[str]:
    """Keys of the occurrences the master's own EXDATE lines remove."""
    keys: set[str] = set()
    for line in master.get("recurrence") or ():
        if property_name(str(line)) == "EXDATE":
            try:
                values = whens(str(line))
            except MappingError:
                continue
            zone = floating or (form.zone if form and form.zone not in (None, Z) else None)
            keys.update(key_of(value, zone or "UTC") for value in values)
    return keys


def _vevent(resource: Resource, uid: str, rid: When | None, exdates: list[When]) -> Component:
    form = _form(resource)
    absent = set(form.get("absent") or ())
    floating = _floating_zone(resource)
    lines = [f"UID:{uid}", "DTSTAMP:" + first_stamp(resource, (_UPDATED, _CREATED))]
    if rid is not None:
        lines.append(when_line("RECURRENCE-ID", [rid]))
    if "start" in resource:
        start = from_google(resource["start"], floating)
        lines.append(when_line("DTSTART", [start]))
        if "end" in resource:
            lines.extend(end_lines(start, from_google(resource["end"], floating), form, floating))
    if rid is None:
        lines.extend(
            str(line)
            for line in resource.get("recurrence") or ()
            if property_name(str(line)) not in ("DTSTART", "DTEND")
        )
        if exdates:
            lines.append(when_line("EXDATE", exdates))
    for field, name in (("summary", "SUMMARY"), ("description", "DESCRIPTION")):
        if isinstance(resource.get(field), str):
            lines.append(f"{name}:" + escape_text(resource[field]))
    if isinstance(resource.get("location"), str):
        lines.append("LOCATION:" + escape_text(resource["location"]))
    status = _STATUS.get(str(resource.get("status")))
    if status and not (status == "CONFIRMED" and "STATUS" in absent):
        lines.append(f"STATUS:{status}")
    lines.extend(_enum("TRANSP", _TRANSP, resource.get("transparency")))
    lines.extend(_enum("CLASS", _CLASS, resource.get("visibility")))
    if isinstance(resource.get("sequence"), int):
        lines.append(f"SEQUENCE:{resource['sequence']}")
    lines.extend(stamp_lines(resource, ((_CREATED, "CREATED"), (_UPDATED, "LAST-MODIFIED"))))
    organizer = resource.get("organizer")
    implied = "ORGANIZER" in absent and isinstance(organizer, Mapping) and organizer.get("self")
    if isinstance(organizer, Mapping) and organizer.get("email") and not implied:
        lines.append(_address("ORGANIZER", organizer, []))
    for attendee in resource.get("attendees") or ():
        if isinstance(attendee, Mapping) and attendee.get("email"):
            lines.append(_address("ATTENDEE", attendee, _attendee_params(attendee)))
    reminders = resource.get("reminders")
    reminders = reminders if isinstance(reminders, Mapping) else {}
    if reminders.get("useDefault") is True:
        lines.append(f"{USE_DEFAULT}:TRUE")
    lines.extend(_carried_fields(resource, absent))
    children = [alarm for entry in reminders.get("overrides") or () for alarm in _alarm(entry)]
    for text in _carried(resource):
        if text.startswith("BEGIN:"):
            try:
                children.append(parse(text))
            except ICalError:
                continue
        elif "\n" not in text and "\r" not in text and ":" in text:
            lines.append(text)
    return Component("VEVENT", tuple(lines), tuple(children))


def _enum(name: str, values: Mapping[str, str], value: object) -> list[str]:
    mapped = values.get(str(value)) if value is not None else None
    return [f"{name}:{mapped}"] if mapped else []


def _address(name: str, person: Mapping[str, Any], params: list[str]) -> str:
    shown = person.get("displayName")
    cn = param("CN", str(shown)) if isinstance(shown, str) else ""
    return f"{name}{cn}{''.join(params)}:mailto:{person['email']}"


def _attendee_params(attendee: Mapping[str, Any]) -> list[str]:
    params: list[str] = []
    if attendee.get("resource") is True:
        params.append(";CUTYPE=RESOURCE")
    if attendee.get("optional") is True:
        params.append(";ROLE=OPT-PARTICIPANT")
    status = PARTSTAT.get(str(attendee.get("responseStatus")))
    if status:
        params.append(f";PARTSTAT={status}")
    if isinstance(attendee.get("additionalGuests"), int):
        params.append(f";X-NUM-GUESTS={attendee['additionalGuests']}")
    if isinstance(attendee.get("comment"), str):
        params.append(param("X-RESPONSE-COMMENT", attendee["comment"]))
    return params


def _alarm(entry: object) -> Iterator[Component]:
    if not isinstance(entry, Mapping):
        return
    action, minutes = _ACTION.get(str(entry.get("method"))), entry.get("minutes")
    if action is None or not isinstance(minutes, int) or isinstance(minutes, bool):
        return
    lines = [f"ACTION:{action}", f"TRIGGER:-PT{minutes}M", f"DESCRIPTION:{ALARM_TEXT}"]
    if action == "EMAIL":
        lines.append(f"SUMMARY:{ALARM_TEXT}")
    yield Component("VALARM", tuple(lines))


def _carried_fields(resource: Resource, absent: set[str]) -> Iterator[str]:
    """X-GOOGLE-* lines for the fields iCalendar has no property for."""
    for field in sorted(resource):
        value = resource[field]
        if field in MAPPED_FIELDS:
            continue
        if field == "extendedProperties":
            value = _users_extended(value)
            if value is None:
                continue
        if field == "eventType" and value == "default" and "X-GOOGLE-EVENT-TYPE" in absent:
            continue
        yield f"{property_for(field)}:" + escape_text(to_json(value))


def _users_extended(value: object) -> object | None:
    """extendedProperties without Kalends' own keys; None when nothing else is left."""
    if not isinstance(value, Mapping):
        return value
    kept = dict(value)
    private = kept.get("private")
    if isinstance(private, Mapping):
        rest = {k: v for k, v in private.items() if not str(k).startswith(OWN_PREFIX)}
        if rest:
            kept["private"] = rest
        else:
            del kept["private"]
    return kept or None


def _carried(resource: Resource) -> list[str]:
    """The iCalendar lines and components kept in ``kalends-ical-<n>``, in order."""
    numbered: list[tuple[int, str]] = []
    for key, value in _own(resource).items():
        suffix = key[len(CARRIED_PREFIX) :] if key.startswith(CARRIED_PREFIX) else ""
        if suffix.isdigit() and isinstance(value, str):
            numbered.append((int(suffix), value))
    return [value for _, value in sorted(numbered)]
