"""Three-way merge of one calendar object, property by property, against the last synced base.

A property (or group of properties that only make sense together, like the event's timing)
changed on one side only is taken from that side; changed on both sides to different values it
is a clash, settled by the newer LAST-MODIFIED and, on a tie, by the configured preference. An
overridden instance removed on one side and edited on the other is kept: an edit beats a delete.
Lines are compared and copied verbatim, so what a side did not change stays byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from kalends.ical import Component, parse, property_name, recurrence_key, serialize

Side = Literal["local", "remote"]
Group = tuple[str, ...]

# Properties that change together: a clash on one is a clash on the group.
_GROUPS = {"DTSTART": "timing", "DTEND": "timing", "DURATION": "timing", "DUE": "timing"}
# Bookkeeping a merge recomputes instead of merging.
_BOOKKEEPING = frozenset({"UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE"})


@dataclass(frozen=True, slots=True)
class Clash:
    component: str  # "" for the master event, else the overridden instance's RECURRENCE-ID
    group: str  # property name, or "timing" for DTSTART/DTEND/DURATION
    local: Group
    remote: Group
    winner: Side


@dataclass(frozen=True, slots=True)
class MergeResult:
    text: str
    clashes: tuple[Clash, ...]


def _group_name(line: str) -> str:
    name = property_name(line)
    return _GROUPS.get(name, name)


def _groups(event: Component) -> dict[str, Group]:
    """The event's lines by merge group, plus its sub-components (alarms) as one group each kind."""
    grouped: dict[str, list[str]] = {}
    for line in event.lines:
        if property_name(line) not in _BOOKKEEPING:
            grouped.setdefault(_group_name(line), []).append(line)
    for child in event.children:
        grouped.setdefault(f"BEGIN:{child.name}", []).append(serialize(child))
    return {name: tuple(lines) for name, lines in grouped.items()}


def _same(a: Group | None, b: Group | None) -> bool:
    if a is None or b is None:
        return a is b
    return sorted(a) == sorted(b)


def _newer_side(local: Component, remote: Component, tie: Side) -> Side:
    local_stamp = local.first("LAST-MODIFIED") or ""
    remote_stamp = remote.first("LAST-MODIFIED") or ""
    if local_stamp == remote_stamp:
        return tie
    return "local" if local_stamp > remote_stamp else "remote"


def _bookkeeping(local: Component, remote: Component) -> list[str]:
    lines = [line for line in local.lines if property_name(line) in ("UID", "DTSTAMP")]
    stamps = [c.first("LAST-MODIFIED") for c in (local, remote)]
    newest = max((s for s in stamps if s), default=None)
    if newest:
        lines.append(f"LAST-MODIFIED:{newest}")
    sequences = [c.first("SEQUENCE") for c in (local, remote)]
    numbers = [int(s) for s in sequences if s and s.strip().isdigit()]
    if numbers:
        lines.append(f"SEQUENCE:{max(numbers)}")
    return lines


def _merge_event(
    key: str, base: Component | None, local: Component, remote: Component, rule: _Rule
) -> tuple[Component, list[Clash]]:
    base_groups = _groups(base) if base is not None else {}
    local_groups, remote_groups = _groups(local), _groups(remote)
    winner = rule.authority or _newer_side(local, remote, rule.tie)
    merged: list[Group] = []
    clashes: list[Clash] = []
    for name in dict.fromkeys([*local_groups, *remote_groups]):
        ours, theirs, was = local_groups.get(name), remote_groups.get(name), base_groups.get(name)
        if _same(ours, theirs) or _same(theirs, was):
            chosen = ours
        elif _same(ours, was):
            chosen = theirs
        else:
            if rule.authority is None:
                clashes.append(Clash(key, name, ours or (), theirs or (), winner))
            chosen = ours if winner == "local" else theirs
        if chosen:
            merged.append(chosen)
    lines = _bookkeeping(local, remote)
    children: list[Component] = []
    for group in merged:
        if group[0].startswith("BEGIN:"):
            children.extend(child for text in group for child in _children_of(text))
        else:
            lines.extend(group)
    return Component(local.name, tuple(lines), tuple(children)), clashes


@dataclass(frozen=True, slots=True)
class _Rule:
    tie: Side
    authority: Side | None


def _children_of(text: str) -> Iterable[Component]:
    """A serialized sub-component back as a Component (wrapped so ``parse`` accepts it)."""
    wrapper = parse(f"BEGIN:X-WRAP\r\n{text}END:X-WRAP\r\n")
    return wrapper.children


def _keep_one_sided(base: Component | None, only: Component) -> bool:
    """An instance present on one side only: keep it unless the other side deleted it unchanged."""
    return base is None or _groups(base) != _groups(only)


def _by_key(calendar: Component | None) -> dict[str, Component]:
    if calendar is None:
        return {}
    return {recurrence_key(event): event for event in calendar.sub("VEVENT")}


def _timezones(local: Component, remote: Component) -> list[Component]:
    zones = {zone.first("TZID"): zone for zone in remote.sub("VTIMEZONE")}
    zones.update({zone.first("TZID"): zone for zone in local.sub("VTIMEZONE")})
    return list(zones.values())


def merge(
    base: str | None,
    local: str,
    remote: str,
    tie: Side = "local",
    authority: Side | None = None,
) -> MergeResult:
    """Merge ``local`` and ``remote`` (both changed since ``base``; None: never synced).

    ``authority`` names a side whose differences always win without counting as clashes: the
    side that changed when the other did not (its base may differ from it only in what the
    source cannot represent, which is not an edit).
    """
    rule = _Rule(tie, authority)
    base_cal = parse(base) if base is not None else None
    local_cal, remote_cal = parse(local), parse(remote)
    base_events, local_events, remote_events = map(_by_key, (base_cal, local_cal, remote_cal))
    events: list[Component] = []
    clashes: list[Clash] = []
    for key in sorted(dict.fromkeys([*local_events, *remote_events])):
        was, ours, theirs = base_events.get(key), local_events.get(key), remote_events.get(key)
        if ours is not None and theirs is not None:
            event, found = _merge_event(key, was, ours, theirs, rule)
            events.append(event)
            clashes.extend(found)
        else:
            only = ours if ours is not None else theirs
            assert only is not None
            if _keep_one_sided(was, only):
                events.append(only)
    calendar_lines = local_cal.lines or remote_cal.lines
    children = (*_timezones(local_cal, remote_cal), *events)
    text = serialize(Component("VCALENDAR", calendar_lines, tuple(children)))
    return MergeResult(text, tuple(clashes))
