"""One iCalendar calendar object -> the Google event bodies that hold it.

Whatever Google has no field for is kept in the event's private extended properties:
``kalends-ical-<n>`` holds a property line (or a component's text) in order, and
``kalends-form`` (compact JSON) notes how the iCalendar wrote what Google normalises, so the
object comes back as it went: ``floating`` (the zone a floating time was pinned to),
``duration`` (DURATION instead of DTEND), ``noEnd`` (neither), ``absent`` (ORGANIZER, STATUS,
X-GOOGLE-EVENT-TYPE: properties Google fills in with a default when the iCalendar had none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kalends.bridges.google.lines import (
    CARRIED_PREFIX,
    FORM_KEY,
    GOOGLE_PREFIX,
    MAPPED_FIELDS,
    MAX_CARRIED,
    OWN_PREFIX,
    PARTSTAT,
    USE_DEFAULT,
    field_of,
)
from kalends.bridges.google.times import google_time, in_form, instance_key
from kalends.bridges.icalmap import (
    carried_value,
    event_span,
    object_events,
    override_start,
    trigger_minutes,
)
from kalends.bridges.icaltext import (
    MappingError,
    When,
    key_of,
    param_map,
    split_line,
    to_json,
    unescape_text,
    when_line,
    whens,
)
from kalends.ical import Component, parse, property_name, serialize

__all__ = ["GoogleDraft", "from_ical"]

_IGNORED = frozenset({"DTSTAMP", "PRODID", "CREATED", "LAST-MODIFIED"})
_RECURRENCE = frozenset({"RRULE", "EXRULE", "RDATE", "EXDATE"})
_SINGLE = frozenset(
    {
        "UID",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RECURRENCE-ID",
        "SUMMARY",
        "DESCRIPTION",
        "LOCATION",
        "STATUS",
        "TRANSP",
        "CLASS",
        "SEQUENCE",
        "ORGANIZER",
        USE_DEFAULT,
    }
)
_TEXT = {"SUMMARY": "summary", "DESCRIPTION": "description", "LOCATION": "location"}
_ENUMS = {
    "STATUS": ("status", {"CONFIRMED": "confirmed", "TENTATIVE": "tentative"}),
    "TRANSP": ("transparency", {"OPAQUE": "opaque", "TRANSPARENT": "transparent"}),
    "CLASS": (
        "visibility",
        {"PUBLIC": "public", "PRIVATE": "private", "CONFIDENTIAL": "confidential"},
    ),
}
_PARTSTAT = {partstat: status for status, partstat in PARTSTAT.items()}
_METHOD = {"DISPLAY": "popup", "EMAIL": "email"}
_MAX_REMINDERS = 5  # Google's limit on reminders.overrides
_MAX_MINUTES = 40320  # four weeks, Google's limit on a reminder


@dataclass(frozen=True)
class GoogleDraft:
    """What to write to Google for one calendar object."""

    master: dict[str, Any]  # insert/update body of the master (iCalUID set; no id, no etag)
    # instance key -> body of that instance, with originalStartTime (recurringEventId: the caller's)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: frozenset[str] = frozenset()  # instance keys of removed occurrences (EXDATE)


def from_ical(ical: str, *, default_zone: str) -> GoogleDraft:
    """The Google bodies for ``ical``; MappingError(reason) for what Google cannot express.
    Floating times are read in ``default_zone`` (an IANA name)."""
    vevents, head = object_events(ical, default_zone, provider="Google", holder="Google Calendar")
    recurring = any(property_name(line) in _RECURRENCE for line in head.lines)
    master, start = _event(head, default_zone, master=True, series=recurring)
    overrides: dict[str, dict[str, Any]] = {}
    cancelled: set[str] = set()
    removed: list[When] = []
    for vevent in vevents:
        if vevent is head:
            continue
        if not recurring:
            raise MappingError(
                "an overridden instance (RECURRENCE-ID) of an event that does not repeat"
            )
        rid, original = _recurrence_id(vevent, start, default_zone)
        key = instance_key(original)
        if key in overrides or key in cancelled:
            raise MappingError(f"two VEVENTs override the occurrence {key}")
        if (vevent.first("STATUS") or "").strip().upper() == "CANCELLED":
            cancelled.add(key)
            removed.append(rid)
            continue
        body, _ = _event(vevent, default_zone, master=False, series=True)
        body["originalStartTime"] = original
        overrides[key] = body
    if removed:
        master["recurrence"].append(when_line("EXDATE", sorted(removed, key=_order)))
    for line in master.get("recurrence", ()):
        if property_name(line) == "EXDATE":
            cancelled.update(key_of(value, default_zone) for value in whens(line))
    return GoogleDraft(master, overrides, frozenset(cancelled))


def _order(value: When) -> str:
    return value.value.isoformat()


def _recurrence_id(vevent: Component, start: When, zone: str) -> tuple[When, dict[str, str]]:
    """(RECURRENCE-ID written like the master's DTSTART, Google's originalStartTime)."""
    value = override_start(vevent, provider="Google")
    original = google_time(
        in_form(google_time(value, zone, zone_needed=False), start, zone), zone, zone_needed=True
    )
    return in_form(original, start, zone), original


def _event(
    vevent: Component, default_zone: str, *, master: bool, series: bool
) -> tuple[dict[str, Any], When]:
    """(Google body, DTSTART) of one VEVENT."""
    body: dict[str, Any] = {}
    carried: list[str] = []
    fields: dict[str, Any] = {}
    timing: dict[str, str] = {}
    recurrence: list[str] = []
    attendees: list[dict[str, Any]] = []
    use_default = False
    seen: set[str] = set()
    for line in vevent.lines:
        name, params, value = split_line(line)
        if name in _IGNORED or name.startswith("X-KALENDS-") or name == "RECURRENCE-ID":
            continue
        if name in _SINGLE:
            if name in seen:
                carried.append(line)
                continue
            seen.add(name)
        if name in ("DTSTART", "DTEND", "DURATION"):
            timing[name] = line
        elif name == "UID":
            body["iCalUID"] = value
        elif name in _RECURRENCE:
            if not master:
                raise MappingError(f"an overridden instance has {name}: only its series repeats")
            if name in ("RDATE", "EXDATE"):
                whens(line)  # a PERIOD or an unknown TZID is refused here
            recurrence.append(line)
        elif name in _TEXT:
            body[_TEXT[name]] = unescape_text(value)
        elif name in _ENUMS and value.strip().upper() in _ENUMS[name][1]:
            body[_ENUMS[name][0]] = _ENUMS[name][1][value.strip().upper()]
        elif name == "STATUS" and value.strip().upper() == "CANCELLED":
            raise MappingError(
                "STATUS:CANCELLED: Google keeps a cancelled event only as a deletion"
            )
        elif name == "SEQUENCE" and value.strip().isdigit():
            body["sequence"] = int(value.strip())
        elif name in ("ORGANIZER", "ATTENDEE") and _email(value):
            person = _person(value, param_map(params), attendee=name == "ATTENDEE")
            attendees.extend([person] if name == "ATTENDEE" else [])
            body.update({} if name == "ATTENDEE" else {"organizer": person})
        elif name == USE_DEFAULT:
            use_default = value.strip().upper() == "TRUE"
        elif name.startswith(GOOGLE_PREFIX) and (
            carry := carried_value(field_of(name, params), value)
        ):
            if carry[0] not in MAPPED_FIELDS:
                fields[carry[0]] = carry[1]
        else:
            carried.append(line)
    reminders: list[dict[str, Any]] = []
    for child in vevent.children:
        reminder = _reminder(child) if child.name == "VALARM" else None
        if reminder is not None and len(reminders) < _MAX_REMINDERS and reminder not in reminders:
            reminders.append(reminder)
        else:
            carried.append(serialize(child))
    form: dict[str, Any] = {}
    start = _timing(body, timing, form, default_zone, zone_needed=series)
    if recurrence:
        body["recurrence"] = recurrence
    if attendees:
        body["attendees"] = attendees
    body["reminders"] = (
        {"useDefault": False, "overrides": reminders} if reminders else {"useDefault": use_default}
    )
    absent = [
        name
        for name, present in (
            ("ORGANIZER", "organizer" in body),
            ("STATUS", "status" in body),
            ("X-GOOGLE-EVENT-TYPE", "eventType" in fields),
        )
        if not present
    ]
    if absent:
        form["absent"] = absent
    _extended(fields, carried, form)
    body.update(fields)
    return body, start


def _timing(
    body: dict[str, Any],
    timing: dict[str, str],
    form: dict[str, Any],
    zone: str,
    *,
    zone_needed: bool,
) -> When:
    start, end = event_span(timing, form, zone)
    body["start"] = google_time(start, zone, zone_needed=zone_needed)
    body["end"] = google_time(end, zone, zone_needed=zone_needed)
    return start


def _email(value: str) -> str | None:
    scheme, _, address = value.strip().partition(":")
    return address if scheme.lower() == "mailto" and address else None


def _person(value: str, params: dict[str, str], *, attendee: bool) -> dict[str, Any]:
    person: dict[str, Any] = {"email": _email(value)}
    if "CN" in params:
        person["displayName"] = params["CN"]
    if not attendee:
        return person
    if params.get("CUTYPE", "").upper() in ("RESOURCE", "ROOM"):
        person["resource"] = True
    if params.get("ROLE", "").upper() == "OPT-PARTICIPANT":
        person["optional"] = True
    status = _PARTSTAT.get(params.get("PARTSTAT", "").upper())
    if status is not None:
        person["responseStatus"] = status
    if params.get("X-NUM-GUESTS", "").isdigit():
        person["additionalGuests"] = int(params["X-NUM-GUESTS"])
    if "X-RESPONSE-COMMENT" in params:
        person["comment"] = params["X-RESPONSE-COMMENT"]
    return person


def _reminder(alarm: Component) -> dict[str, Any] | None:
    """Google's reminder for a VALARM it can hold: DISPLAY or EMAIL, once, at a whole number
    of minutes (up to four weeks) before the start."""
    method = _METHOD.get((alarm.first("ACTION") or "").strip().upper())
    if method is None:
        return None
    minutes = trigger_minutes(alarm)
    if minutes is None or minutes > _MAX_MINUTES:
        return None
    return {"method": method, "minutes": minutes}


def _extended(fields: dict[str, Any], carried: list[str], form: dict[str, Any]) -> None:
    """The user's carried extendedProperties merged with Kalends' own keys."""
    extended = fields.pop("extendedProperties", None)
    extended = dict(extended) if isinstance(extended, dict) else {}
    users = extended.get("private")
    private: dict[str, Any] = (
        {k: v for k, v in users.items() if not str(k).startswith(OWN_PREFIX)}
        if isinstance(users, dict)
        else {}
    )
    for number, text in enumerate(carried):
        if len(text) > MAX_CARRIED:
            name = parse(text).name if text.startswith("BEGIN:") else property_name(text)
            raise MappingError(
                f"{name} is {len(text)} characters long; Google keeps at most {MAX_CARRIED} "
                "in one extended property"
            )
        private[f"{CARRIED_PREFIX}{number}"] = text
    if form:
        private[FORM_KEY] = to_json(form)
    if private:
        extended["private"] = private
    else:
        extended.pop("private", None)
    if extended:
        fields["extendedProperties"] = extended
