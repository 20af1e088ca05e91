"""A source brought in with less than its full detail (``privacy = "busy-only"`` or
``"title-only"``): its events reduced on the way in, and nothing ever written back.

Writing back would replace the real events with their reduced copies, so a reduced source is
read-only whatever its direction says.
"""

from __future__ import annotations

from collections.abc import Callable

from kalends.bridges.base import (
    Bridge,
    Capability,
    ChangePage,
    RemoteEvent,
    Unsupported,
    Watch,
)
from kalends.ical import Component, parse, property_name, serialize

__all__ = ["LEVELS", "ReducedBridge", "reduce_event"]

LEVELS = ("full", "title-only", "busy-only")

# What is left of an event: when it happens and whether it blocks time.
_TIMING = frozenset(
    {
        "UID", "DTSTAMP", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE",
        "RECURRENCE-ID", "TRANSP", "STATUS", "SEQUENCE", "LAST-MODIFIED", "CREATED",
    }
)  # fmt: skip


def _reduced(event: Component, level: str) -> Component:
    lines = [line for line in event.lines if property_name(line) in _TIMING]
    if level == "title-only":
        lines += [line for line in event.lines if property_name(line) == "SUMMARY"] or [
            "SUMMARY:Busy"
        ]
    else:
        lines.append("SUMMARY:Busy")
    return Component(event.name, tuple(lines), ())


def reduce_event(ical: str, level: str) -> str:
    """The calendar object with only what ``level`` lets through (time zones stay)."""
    if level == "full":
        return ical
    calendar = parse(ical)
    children = tuple(
        _reduced(child, level) if child.name == "VEVENT" else child
        for child in calendar.children
        if child.name in ("VEVENT", "VTIMEZONE")
    )
    return serialize(Component(calendar.name, calendar.lines, children))


class ReducedBridge:
    """Another bridge, read through ``reduce_event``."""

    def __init__(self, inner: Bridge, level: str) -> None:
        self.inner = inner
        self.level = level

    def __repr__(self) -> str:
        return f"ReducedBridge({self.inner!r}, {self.level!r})"

    @property
    def capabilities(self) -> Capability:
        return self.inner.capabilities | Capability.READ_ONLY

    def _event(self, event: RemoteEvent) -> RemoteEvent:
        ical = reduce_event(event.ical, self.level)
        return RemoteEvent(event.remote_id, event.version, ical, event.uid)

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        got = await self.inner.list_changes(cursor, page)
        changes = [self._event(c) if isinstance(c, RemoteEvent) else c for c in got.changes]
        return ChangePage(changes, got.next_page, got.cursor, got.complete, got.unreadable)

    async def get(self, remote_id: str) -> RemoteEvent:
        return self._event(await self.inner.get(remote_id))

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        found = await self.inner.find_by_uid(uid)
        return None if found is None else self._event(found)

    def _refuse(self) -> Unsupported:
        return Unsupported(f"this source is brought in {self.level}: it is read-only")

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        raise self._refuse()

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        raise self._refuse()

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        raise self._refuse()

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        return await self.inner.watch(notify)

    async def aclose(self) -> None:
        await self.inner.aclose()
