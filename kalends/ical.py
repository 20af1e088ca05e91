"""iCalendar at the level of content lines: parse, fold, compare, without reinterpreting values.

The sync engine merges events property by property and must hand back every line it did not
change exactly as it was (unknown X- properties, parameters, escaping). Value-level libraries
re-serialise what they read, so this module keeps each property as its unfolded content line
and only splits off the name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "Component",
    "ICalError",
    "content_hash",
    "fold",
    "normalized",
    "parse",
    "property_name",
    "property_value",
    "recurrence_key",
    "serialize",
    "uid_of",
]

# Lines a server or provider rewrites on every save: they never make two versions differ.
VOLATILE = frozenset({"DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "PRODID", "CREATED"})
PROVENANCE_PREFIX = "X-KALENDS-"


class ICalError(ValueError):
    """The text is not an iCalendar object (with the reason)."""


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    lines: tuple[str, ...] = ()
    children: tuple[Component, ...] = field(default=())

    def first(self, name: str) -> str | None:
        """The value of the first property called ``name``."""
        for line in self.lines:
            if property_name(line) == name:
                return property_value(line)
        return None

    def sub(self, name: str) -> list[Component]:
        return [child for child in self.children if child.name == name]


def property_name(line: str) -> str:
    end = len(line)
    for separator in (";", ":"):
        index = line.find(separator)
        if index != -1:
            end = min(end, index)
    return line[:end].upper()


def property_value(line: str) -> str:
    """The value after the first colon outside a quoted parameter."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[index + 1 :]
    return ""


def _unfold(text: str) -> Iterator[str]:
    current: str | None = None
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw.startswith((" ", "\t")) and current is not None:
            current += raw[1:]
            continue
        if current:
            yield current
        current = raw
    if current:
        yield current


def parse(text: str) -> Component:
    """The top-level component (normally VCALENDAR) of ``text``."""
    stack: list[tuple[str, list[str], list[Component]]] = []
    top: Component | None = None
    for line in _unfold(text.lstrip("\ufeff")):
        name = property_name(line)
        if name == "BEGIN":
            if top is not None:
                raise ICalError("content after the end of the calendar")
            stack.append((property_value(line).upper(), [], []))
        elif name == "END":
            if not stack or stack[-1][0] != property_value(line).upper():
                raise ICalError(f"unbalanced {line!r}")
            component_name, lines, children = stack.pop()
            done = Component(component_name, tuple(lines), tuple(children))
            if stack:
                stack[-1][2].append(done)
            else:
                top = done
        elif stack:
            stack[-1][1].append(line)
        else:
            raise ICalError(f"property outside of a component: {line[:60]!r}")
    if stack:
        raise ICalError(f"{stack[-1][0]} is never closed")
    if top is None:
        raise ICalError("no BEGIN:VCALENDAR")
    return top


def fold(line: str) -> str:
    """One content line folded at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts: list[str] = []
    start, limit = 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74
    return "\r\n ".join(parts) + "\r\n"


def _emit(component: Component) -> Iterator[str]:
    yield f"BEGIN:{component.name}\r\n"
    for line in component.lines:
        yield fold(line)
    for child in component.children:
        yield from _emit(child)
    yield f"END:{component.name}\r\n"


def serialize(component: Component) -> str:
    return "".join(_emit(component))


def events(calendar: Component) -> list[Component]:
    return calendar.sub("VEVENT")


def uid_of(text: str) -> str:
    """The UID shared by the object's VEVENTs; ICalError when there is none or several."""
    uids = {event.first("UID") for event in events(parse(text))}
    uids.discard(None)
    if len(uids) != 1:
        raise ICalError("a calendar object needs exactly one UID" if uids else "no UID")
    return str(uids.pop())


def recurrence_key(event: Component) -> str:
    """ "" for a master VEVENT, the RECURRENCE-ID value for an overridden instance."""
    return event.first("RECURRENCE-ID") or ""


def _significant(lines: Iterable[str]) -> list[str]:
    return sorted(
        line
        for line in lines
        if property_name(line) not in VOLATILE
        and not property_name(line).startswith(PROVENANCE_PREFIX)
    )


def _normal_component(component: Component) -> str:
    body = "\n".join(_significant(component.lines))
    children = sorted(_normal_component(child) for child in component.children)
    return f"{component.name}\n{body}\n" + "".join(children)


def normalized(text: str) -> str:
    """A canonical form of the events: equal for two texts that differ only in what servers
    rewrite on save (DTSTAMP, SEQUENCE, PRODID, property order, folding, time zone blocks)."""
    parsed = events(parse(text))
    return "".join(sorted(_normal_component(event) for event in parsed))


def content_hash(text: str) -> str:
    return hashlib.sha256(normalized(text).encode("utf-8")).hexdigest()
