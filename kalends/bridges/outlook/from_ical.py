"""One iCalendar calendar object -> the Microsoft Graph event bodies that hold it.

Every body is complete (a PATCH clears what the iCalendar no longer says). The master keeps
Kalends' state in its single-value extended properties: the UID (Outlook makes up its own
iCalUId), ``KalendsForm`` (how each VEVENT wrote what Graph normalises, so the object comes
back as it went: ``floating`` zone, ``tzid`` spelling, ``duration``, ``noEnd``, ``text``
(the digest of a text body: Graph reads it back as HTML), ``kept`` lines) and
``KalendsIcal<n>`` (the lines and components Graph has no field for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kalends.bridges.icalmap import carried_value, event_span, object_events, override_start
from kalends.bridges.icaltext import MappingError, When, Z, split_line, whens
from kalends.bridges.outlook.fields import (
    MAPPED_FIELDS,
    ONE_WAY_FIELDS,
    ORIGINAL_END,
    ORIGINAL_START,
    PREFIX,
    READ_ONLY_FIELDS,
    field_of,
    is_default,
)
from kalends.bridges.outlook.groups import GROUPS
from kalends.bridges.outlook.htmltext import text_hash
from kalends.bridges.outlook.occurrences import exdate_keys, exdate_line, rid_key
from kalends.bridges.outlook.people import attendee_line, organizer_line, person_of
from kalends.bridges.outlook.recurrence import graph_recurrence, rrule_line
from kalends.bridges.outlook.reminder import reminder_alarm, reminder_minutes
from kalends.bridges.outlook.state import is_own, override_item, state_properties
from kalends.bridges.outlook.zones import event_zone, graph_time, graph_zone
from kalends.ical import Component, serialize

__all__ = ["GraphDraft", "from_ical"]

_IGNORED = frozenset(
    {"DTSTAMP", "PRODID", "CREATED", "LAST-MODIFIED", "SEQUENCE", "UID", "RECURRENCE-ID"}
)
_TIMING = ("DTSTART", "DTEND", "DURATION")


@dataclass(frozen=True)
class GraphDraft:
    """What to write to Graph for one calendar object."""

    master: dict[str, Any]  # POST / PATCH body of the master (Kalends' extended properties in)
    # instance key -> PATCH body of that occurrence (found by its originalStart)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: frozenset[str] = frozenset()  # instance keys of removed occurrences (to DELETE)


@dataclass
class _Event:
    """One VEVENT read: its Graph body, DTSTART, form, and what Graph has no field for."""

    body: dict[str, Any]
    start: When
    form: dict[str, Any]
    lines: list[str]
    children: list[Component]
    exdates: list[str]
    user_properties: list[Any]


def from_ical(ical: str, *, default_zone: str) -> GraphDraft:
    """The Graph bodies for ``ical``; MappingError(reason) for what Graph cannot express.
    Floating times are read in ``default_zone`` (an IANA name)."""
    vevents, head = object_events(
        ical, default_zone, provider="Outlook", holder="an Outlook calendar"
    )
    uid = str(head.first("UID"))
    master = _read(head, default_zone, master=True)
    repeats = master.body["recurrence"] is not None
    overrides: dict[str, dict[str, Any]] = {}
    forms: dict[str, dict[str, Any]] = {}
    items: list[str] = [*master.lines, *(serialize(child) for child in master.children)]
    removed = exdate_keys(master.exdates, master.start, default_zone)
    cancelled: set[str] = set()
    for vevent in vevents:
        if vevent is head:
            continue
        if not repeats:
            raise MappingError(
                "an overridden instance (RECURRENCE-ID) of an event that does not repeat"
            )
        key = _occurrence(vevent, master.start, default_zone)
        if key in overrides or key in cancelled:
            raise MappingError(f"two VEVENTs override the occurrence {key}")
        if (vevent.first("STATUS") or "").strip().upper() == "CANCELLED" or key in removed:
            cancelled.add(key)  # an excluded occurrence has no instance to override (RFC 5545)
            continue
        event = _read(vevent, default_zone, master=False)
        overrides[key] = event.body
        if event.form:
            forms[key] = event.form
        if event.lines or event.children:
            items.append(override_item(key, event.lines, event.children))
    cancelled |= removed
    written = exdate_line(sorted(removed), master.start, default_zone)
    if master.exdates and written != master.exdates:
        master.form.setdefault("kept", {})["exdate"] = master.exdates
    form = {**master.form, **({"overrides": forms} if forms else {})}
    master.body["singleValueExtendedProperties"] = [
        *master.user_properties,
        *state_properties(uid, form, items),
    ]
    return GraphDraft(master.body, overrides, frozenset(cancelled))


def _occurrence(vevent: Component, start: When, zone: str) -> str:
    """The key of the occurrence an overridden instance replaces."""
    return rid_key(override_start(vevent, provider="Outlook"), start, zone)


def _read(vevent: Component, zone: str, *, master: bool) -> _Event:
    """A VEVENT as a Graph body (of the master, or of an overridden instance)."""
    grouped: dict[str, list[str]] = {group.field: [] for group in GROUPS}
    people: dict[str, list[str]] = {"ORGANIZER": [], "ATTENDEE": []}
    timing: dict[str, str] = {}
    rules: list[str] = []
    exdates: list[str] = []
    notes: dict[str, str] = {}
    fields: dict[str, Any] = {}
    place: dict[str, Any] = {}
    user_properties: list[Any] = []
    carried: list[str] = []
    for line in vevent.lines:
        name, params, value = split_line(line)
        group = next((g for g in GROUPS if g.holds(line)), None)
        if name in _IGNORED or name.startswith("X-KALENDS-"):
            continue
        if name in _TIMING and name not in timing:
            timing[name] = line
        elif name in ("RRULE", "EXDATE", "RDATE", "EXRULE"):
            _recurrence_line(name, line, master, rules, exdates)
        elif group is not None:
            grouped[group.field].append(line)
        elif name in people and person_of(line) is not None:
            people[name].append(line)
        elif name == "STATUS" and value.strip().upper() == "CANCELLED":
            raise MappingError(
                "STATUS:CANCELLED: Outlook cancels an event only through its organizer's "
                "cancel action (delete the event instead)"
            )
        elif name in (ORIGINAL_START, ORIGINAL_END):
            notes[name] = line
        elif (
            name.startswith(PREFIX)
            and (carry := carried_value(field_of(name, params), value)) is not None
        ):
            _take_field(*carry, fields, place, user_properties)
        else:
            carried.append(line)
    form: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    body: dict[str, Any] = {}
    for group in GROUPS:
        lines = grouped[group.field]
        graph_value = group.read(lines)
        if group.write(graph_value) != lines:
            kept[group.field] = lines
        body[group.field] = graph_value
    body["location"] = {**place, "displayName": body["location"]}
    if body["body"]["contentType"] == "text":
        form["text"] = text_hash(body["body"]["content"])
    start, end = _timing(timing, form, zone)
    body["start"] = graph_time(start, zone)
    body["end"] = graph_time(end, zone)
    body["isAllDay"] = start.is_day
    for moment, note in ((start, ORIGINAL_START), (end, ORIGINAL_END)):
        if note in notes and moment.zone == Z:  # still in UTC: the note still holds
            carried.append(notes[note])
    _people(body, kept, carried, people, master=master)
    children = _alarms(vevent, body, kept)
    if master:
        body["recurrence"] = _recurrence(rules, start, form, kept, zone)
    body.update(sorted(fields.items()))
    defaults = sorted(name for name, value in fields.items() if is_default(name, value))
    if defaults:
        form["defaults"] = defaults
    if kept:
        form["kept"] = kept
    return _Event(body, start, form, carried, children, exdates, user_properties)


def _recurrence_line(
    name: str, line: str, master: bool, rules: list[str], exdates: list[str]
) -> None:
    if name == "RDATE":
        raise MappingError(
            "RDATE adds occurrences outside the rule; Outlook repeats an event by its pattern only"
        )
    if name == "EXRULE":
        raise MappingError("EXRULE removes occurrences by a rule; Outlook has no such thing")
    if not master:
        raise MappingError(f"an overridden instance has {name}: only its series repeats")
    if name == "RRULE":
        if rules:
            raise MappingError("several RRULEs; Outlook repeats an event by one pattern")
        rules.append(line)
    else:
        whens(line)  # a PERIOD or an unknown TZID is refused here
        exdates.append(line)


def _take_field(
    name: str, value: Any, fields: dict[str, Any], place: dict[str, Any], users: list[Any]
) -> None:
    if name == "location" and isinstance(value, dict):
        place.update(value)
    elif name == "locations" and isinstance(value, list):
        fields["locations"] = value
    elif name == "singleValueExtendedProperties" and isinstance(value, list):
        users.extend(e for e in value if not (isinstance(e, dict) and is_own(e.get("id"))))
    elif name not in READ_ONLY_FIELDS | ONE_WAY_FIELDS | MAPPED_FIELDS:
        fields[name] = value


def _timing(timing: dict[str, str], form: dict[str, Any], zone: str) -> tuple[When, When]:
    start, end = event_span(timing, form, zone)
    written = {
        which: str(value.zone)
        for which, value in (("start", start), ("end", end))
        if value.zone not in (None, Z) and event_zone(graph_zone(str(value.zone))) != value.zone
    }
    if written:
        form["tzid"] = written
    return start, end


def _people(
    body: dict[str, Any],
    kept: dict[str, Any],
    carried: list[str],
    people: dict[str, list[str]],
    *,
    master: bool,
) -> None:
    """ORGANIZER (of the master only: an occurrence has its series' organizer) and ATTENDEEs;
    the lines written otherwise than Kalends would are kept, an absent ORGANIZER noted."""
    organizers = people["ORGANIZER"]
    carried.extend(organizers[1:])
    if organizers:
        organizer = person_of(organizers[0])
        if master:
            body["organizer"] = organizer
        if organizer_line(organizer) != organizers[:1]:
            kept["organizer"] = organizers[:1]
    else:
        kept["organizer"] = []
    attendees = [person_of(line) for line in people["ATTENDEE"]]
    body["attendees"] = attendees
    differ = [
        line
        for line, person in zip(people["ATTENDEE"], attendees, strict=True)
        if attendee_line(person) != line
    ]
    if differ:
        kept["attendees"] = differ


def _alarms(vevent: Component, body: dict[str, Any], kept: dict[str, Any]) -> list[Component]:
    """The reminder (the first VALARM Outlook's one reminder can be); the other alarms are
    returned to be carried."""
    others: list[Component] = []
    minutes: int | None = None
    for child in vevent.children:
        found = reminder_minutes(child) if minutes is None else None
        if found is None:
            others.append(child)
            continue
        minutes = found
        if serialize(child) != serialize(reminder_alarm(found)):
            kept["reminder"] = serialize(child)
    body["isReminderOn"] = minutes is not None
    if minutes is not None:
        body["reminderMinutesBeforeStart"] = minutes
    return others


def _recurrence(
    rules: list[str], start: When, form: dict[str, Any], kept: dict[str, Any], zone: str
) -> dict[str, Any] | None:
    if not rules:
        return None
    recurrence = graph_recurrence(rules[0], start, zone)
    floating = zone if form.get("floating") else None
    if rrule_line(recurrence, start, floating) != rules[0]:
        kept["recurrence"] = rules
    return recurrence
