"""A fetched feed as calendar objects: VEVENTs grouped by UID, keyed by a content fingerprint.

Many feeds invent a new UID (and DTSTAMP) on every fetch. So an object's ``remote_id`` is not
its UID but a fingerprint of its master event (organizer, DTSTART line, SUMMARY), and its
``version`` hashes its normalized content without UID and DTSTAMP: a feed that only churns
those produces no change at all. An event whose UID stayed the same keeps the remote id it had
in the previous listing (``known``), so editing a title in the feed is an edit, not a
delete and a create. Events whose fingerprints collide get ``-2``, ``-3``... in a deterministic
order (their version, then their place in the feed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kalends.ical import Component, ICalError, content_hash, parse, property_name, serialize

__all__ = [
    "FeedCalendar",
    "FeedError",
    "FeedObject",
    "parse_feed",
    "poll_interval",
    "uid_key",
]

MIN_POLL = 300.0  # 5 minutes
MAX_POLL = 86400.0  # 1 day
MAX_DEPTH = 8  # VCALENDAR > VEVENT > VALARM is 3; anything this deep is hostile
_DURATION = re.compile(
    r"(?P<sign>[+-])?P(?:(?P<weeks>\d{1,9})W|(?=\d|T\d)(?:(?P<days>\d{1,9})D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d{1,9})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,9})S)?)?)"
)
_UNIT_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
_DEFAULT_PRODID = "PRODID:-//Kalends//ICS feed//EN"
_SYNTHETIC_UID_DOMAIN = "ics-feed.kalends.invalid"


class FeedError(ValueError):
    """The feed is not a calendar the bridge can read (with the reason)."""


@dataclass(frozen=True, slots=True)
class FeedObject:
    remote_id: str
    version: str
    ical: str
    uid: str


@dataclass(frozen=True, slots=True)
class FeedCalendar:
    objects: tuple[FeedObject, ...]
    poll_interval: float | None


@dataclass(frozen=True, slots=True)
class _Group:
    """The VEVENTs of one UID (or one VEVENT without a UID), as they stand in the feed."""

    uid: str | None
    events: tuple[Component, ...]
    position: int
    fingerprint: str
    version: str


def parse_feed(text: str, known: Mapping[str, str] | None = None) -> FeedCalendar:
    """The feed's calendar objects. ``known`` maps ``uid_key(uid)`` to the remote id that UID had
    in the previous listing. FeedError when ``text`` is not a readable calendar."""
    calendar = _parse_calendar(text)
    head = _calendar_head(calendar)
    zones = {zone.first("TZID") or "": zone for zone in calendar.sub("VTIMEZONE")}
    groups = _groups(calendar.sub("VEVENT"), head)
    ids = _assign_ids(groups, known or {})
    objects = tuple(_object(group, ids[index], head, zones) for index, group in enumerate(groups))
    return FeedCalendar(objects, poll_interval(calendar))


def uid_key(uid: str) -> str:
    """The short form of a UID kept in cursors (UIDs themselves can be long)."""
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()[:16]


# -- parsing ---------------------------------------------------------------------------------


def _parse_calendar(text: str) -> Component:
    try:
        calendar = parse(text)
    except ICalError as error:
        raise FeedError(f"the feed is not a valid iCalendar file: {error}") from None
    if calendar.name != "VCALENDAR":
        raise FeedError(f"the feed holds a {calendar.name}, not a VCALENDAR")
    if _depth(calendar) > MAX_DEPTH:
        raise FeedError(f"the feed nests components more than {MAX_DEPTH} levels deep")
    return calendar


def _depth(component: Component) -> int:
    deepest = 0
    stack = [(component, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in current.children)
    return deepest


def _calendar_head(calendar: Component) -> tuple[str, ...]:
    """The VCALENDAR lines each object carries: VERSION, PRODID, CALSCALE (never METHOD)."""
    lines = calendar.lines
    version = next((ln for ln in lines if property_name(ln) == "VERSION"), "VERSION:2.0")
    prodid = next((ln for ln in lines if property_name(ln) == "PRODID"), _DEFAULT_PRODID)
    calscale = [ln for ln in lines if property_name(ln) == "CALSCALE"][:1]
    return (version, prodid, *calscale)


# -- grouping, fingerprints, versions ------------------------------------------------------------


def _groups(events: list[Component], head: tuple[str, ...]) -> list[_Group]:
    by_uid: dict[str, list[Component]] = {}
    positions: dict[str, int] = {}
    singles: list[tuple[int, Component]] = []
    for position, event in enumerate(events):
        uid = event.first("UID")
        if uid is None:
            singles.append((position, event))
            continue
        positions.setdefault(uid, position)
        by_uid.setdefault(uid, []).append(event)
    made = [
        _group(uid, _deduplicated(members), positions[uid], head) for uid, members in by_uid.items()
    ]
    made += [_group(None, (event,), position, head) for position, event in singles]
    return sorted(made, key=lambda group: group.position)


def _deduplicated(members: list[Component]) -> tuple[Component, ...]:
    """Master first, then overrides; a repeated RECURRENCE-ID (or master) keeps its first copy."""
    seen: dict[str, Component] = {}
    for event in members:
        seen.setdefault(event.first("RECURRENCE-ID") or "", event)
    return tuple(seen[key] for key in sorted(seen))


def _group(
    uid: str | None, events: tuple[Component, ...], position: int, head: tuple[str, ...]
) -> _Group:
    return _Group(uid, events, position, _fingerprint(events[0]), _version(events, head))


def _fingerprint(master: Component) -> str:
    """organizer + DTSTART line + SUMMARY of the master (or first override), hashed."""
    organizer = (master.first("ORGANIZER") or "").casefold()
    start = next((line for line in master.lines if property_name(line) == "DTSTART"), "")
    summary = master.first("SUMMARY") or ""
    material = "\x1f".join((organizer, start, summary)).encode("utf-8")
    return hashlib.sha256(material).hexdigest()[:32]


def _version(events: tuple[Component, ...], head: tuple[str, ...]) -> str:
    """A hash of the normalized events without UID (DTSTAMP and the like are dropped by
    ``normalized`` already)."""
    stripped = tuple(_without(event, "UID") for event in events)
    return content_hash(serialize(Component("VCALENDAR", head, stripped)))[:32]


def _without(component: Component, name: str) -> Component:
    kept = tuple(line for line in component.lines if property_name(line) != name)
    return Component(component.name, kept, component.children)


def _assign_ids(groups: list[_Group], known: Mapping[str, str]) -> list[str]:
    """Remote ids: a UID seen in the previous listing keeps its id, the rest get fingerprints."""
    ids: dict[int, str] = {}
    used: set[str] = set()
    for index, group in enumerate(groups):
        previous = known.get(uid_key(group.uid)) if group.uid is not None else None
        if previous is not None and previous not in used:
            ids[index] = previous
            used.add(previous)
    pending = [index for index in range(len(groups)) if index not in ids]
    pending.sort(key=lambda i: (groups[i].fingerprint, groups[i].version, groups[i].position))
    for index in pending:
        ids[index] = _free_id(groups[index].fingerprint, used)
        used.add(ids[index])
    return [ids[index] for index in range(len(groups))]


def _free_id(fingerprint: str, used: set[str]) -> str:
    if fingerprint not in used:
        return fingerprint
    suffix = 2
    while f"{fingerprint}-{suffix}" in used:
        suffix += 1
    return f"{fingerprint}-{suffix}"


# -- one calendar object -----------------------------------------------------------------------


def _object(
    group: _Group, remote_id: str, head: tuple[str, ...], zones: Mapping[str, Component]
) -> FeedObject:
    uid = group.uid or f"{remote_id}@{_SYNTHETIC_UID_DOMAIN}"
    events = group.events
    if group.uid is None:  # a CalDAV resource needs one; derived from the stable remote id
        events = tuple(Component(e.name, (f"UID:{uid}", *e.lines), e.children) for e in events)
    used = sorted({tzid for event in events for tzid in _tzids(event)})
    children = tuple(zones[tzid] for tzid in used if tzid in zones) + events
    ical = serialize(Component("VCALENDAR", head, children))
    return FeedObject(remote_id, group.version, ical, uid)


def _tzids(component: Component) -> Iterator[str]:
    """Every TZID parameter value in the component and its subcomponents."""
    stack = [component]
    while stack:
        current = stack.pop()
        stack.extend(current.children)
        for line in current.lines:
            tzid = _parameters(line).get("TZID")
            if tzid:
                yield tzid


def _parameters(line: str) -> dict[str, str]:
    """The parameters of a content line (name upper-cased, surrounding quotes removed)."""
    found: dict[str, str] = {}
    quoted = False
    start = -1
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in ";:":
            if start >= 0:
                _add_parameter(found, line[start:index])
            if char == ":":
                break
            start = index + 1
    return found


def _add_parameter(found: dict[str, str], text: str) -> None:
    name, _, value = text.partition("=")
    found[name.strip().upper()] = value.strip().strip('"')


# -- poll hints --------------------------------------------------------------------------------


def poll_interval(calendar: Component) -> float | None:
    """REFRESH-INTERVAL (RFC 7986), else X-PUBLISHED-TTL, in seconds, clamped to 5 min .. 1 day."""
    for name in ("REFRESH-INTERVAL", "X-PUBLISHED-TTL"):
        value = calendar.first(name)
        seconds = _duration_seconds(value.strip()) if value else None
        if seconds is not None:
            return min(max(seconds, MIN_POLL), MAX_POLL)
    return None


def _duration_seconds(value: str) -> float | None:
    """A positive RFC 5545 duration in seconds; None for anything else."""
    match = _DURATION.fullmatch(value.upper())
    if match is None or match["sign"] == "-":
        return None
    total = sum(int(match[unit] or 0) * factor for unit, factor in _UNIT_SECONDS.items())
    return float(total) if total > 0 else None
