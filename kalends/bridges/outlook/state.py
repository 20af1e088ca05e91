"""Kalends' own state on a Graph event, in single-value extended properties of the master.

All under one GUID (``66f5a359-...``): ``KalendsUid`` (the iCalendar UID: Outlook makes up its
own iCalUId), ``KalendsForm`` (compact JSON: how each VEVENT wrote what Graph normalises) and
``KalendsIcal<n>`` (iCalendar lines and components Graph has no field for, the overridden
instances' ones wrapped in an ``X-KALENDS-OVERRIDE`` component naming the occurrence).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kalends.bridges.icaltext import MappingError, to_json
from kalends.ical import Component, ICalError, parse, property_name, serialize

__all__ = [
    "FORM_PROPERTY",
    "MAX_VALUE",
    "OVERRIDE",
    "PROPERTIES",
    "SLOTS",
    "UID_PROPERTY",
    "State",
    "carried_id",
    "is_own",
    "override_item",
    "read_state",
    "state_properties",
]

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


def is_own(property_id: object) -> bool:
    """Whether an extended property id is one of Kalends' own."""
    return str(property_id).casefold().startswith(_OWN_PREFIX)


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
