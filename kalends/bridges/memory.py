"""The reference bridge: a provider held in memory, with the behaviour real APIs have.

``MemoryCalendar`` is the provider's side (it outlives any one bridge, as a real account
outlives a process restart) and offers the edits a person makes in the provider's own app.
``MemoryBridge`` is the client: paginated change listings whose cursor comes only on the last
page, cursors that expire when the change log is compacted, rotating versions with
preconditions, provider-assigned ids, a UID that may exist only once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from kalends.bridges.base import (
    Capability,
    ChangePage,
    InvalidCursor,
    NotFound,
    PreconditionFailed,
    RemoteChange,
    RemoteDeletion,
    RemoteEvent,
    Watch,
)
from kalends.ical import ICalError, uid_of

FULL_CAPABILITIES = (
    Capability.RECURRENCE | Capability.OVERRIDES | Capability.PUSH | Capability.X_PROPERTIES
)


@dataclass
class MemoryCalendar:
    """The provider's state: events, a change log, and who is listening for pushes."""

    events: dict[str, RemoteEvent] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)  # (sequence, remote_id)
    sequence: int = 0
    compacted_through: int = 0  # cursors older than this are invalid
    listeners: list[Callable[[], None]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- what a person does in the provider's app -------------------------------------------

    def add(self, ical: str) -> RemoteEvent:
        uid = uid_of(ical)
        if self.by_uid(uid) is not None:
            raise PreconditionFailed(f"an event with UID {uid!r} already exists")
        return self._store(f"m{next(self._ids)}", ical, uid)

    def edit(self, remote_id: str, ical: str) -> RemoteEvent:
        if remote_id not in self.events:
            raise NotFound(remote_id)
        return self._store(remote_id, ical, self.events[remote_id].uid)

    def remove(self, remote_id: str) -> None:
        if self.events.pop(remote_id, None) is None:
            raise NotFound(remote_id)
        self._log(remote_id)

    def compact(self) -> None:
        """Forget the change log, as providers do after a while: old cursors stop working."""
        self.log.clear()
        self.compacted_through = self.sequence

    def by_uid(self, uid: str) -> RemoteEvent | None:
        return next((event for event in self.events.values() if event.uid == uid), None)

    # -- internals ---------------------------------------------------------------------------

    def _store(self, remote_id: str, ical: str, uid: str) -> RemoteEvent:
        event = RemoteEvent(remote_id, f"v{next(self._versions)}", ical, uid)
        self.events[remote_id] = event
        self._log(remote_id)
        return event

    def _log(self, remote_id: str) -> None:
        self.sequence += 1
        self.log.append((self.sequence, remote_id))
        for notify in list(self.listeners):
            notify()


class _Listening:
    def __init__(self, calendar: MemoryCalendar, notify: Callable[[], None]) -> None:
        self._calendar = calendar
        self._notify = notify
        calendar.listeners.append(notify)

    async def close(self) -> None:
        if self._notify in self._calendar.listeners:
            self._calendar.listeners.remove(self._notify)


class MemoryBridge:
    """A client of one ``MemoryCalendar``."""

    def __init__(
        self,
        calendar: MemoryCalendar,
        page_size: int = 50,
        capabilities: Capability = FULL_CAPABILITIES,
    ) -> None:
        self.calendar = calendar
        self.page_size = page_size
        self._capabilities = capabilities

    @property
    def capabilities(self) -> Capability:
        return self._capabilities

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        # A page token is "<listing kind>:<cursor the listing started from>:<offset>:<final>".
        if page is not None:
            kind, *numbers = page.split(":")
            start, offset, final = (int(n) for n in numbers)
            return self._page(kind == "full", start, offset, final)
        if cursor is None:
            return self._page(True, 0, 0, self.calendar.sequence)
        if not cursor.isdigit():
            raise InvalidCursor(f"not a cursor: {cursor!r}")
        since = int(cursor)
        if since < self.calendar.compacted_through or since > self.calendar.sequence:
            raise InvalidCursor("the change log no longer reaches back to this cursor")
        return self._page(False, since, 0, self.calendar.sequence)

    def _page(self, full: bool, since: int, offset: int, final: int) -> ChangePage:
        if full:
            ids = sorted(self.calendar.events)
        else:
            changed = [rid for seq, rid in self.calendar.log if since < seq <= final]
            ids = list(dict.fromkeys(reversed(changed)))[::-1]
        chunk = ids[offset : offset + self.page_size]
        changes: list[RemoteChange] = [
            self.calendar.events.get(rid) or RemoteDeletion(rid) for rid in chunk
        ]
        end = offset + len(chunk)
        if end < len(ids):
            kind = "full" if full else "delta"
            return ChangePage(changes, f"{kind}:{since}:{end}:{final}", None, full)
        return ChangePage(changes, None, str(final), full)

    async def get(self, remote_id: str) -> RemoteEvent:
        event = self.calendar.events.get(remote_id)
        if event is None:
            raise NotFound(remote_id)
        return event

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        return self.calendar.by_uid(uid)

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        try:
            if uid_of(ical) != uid:
                raise PreconditionFailed("the UID argument differs from the event's UID")
        except ICalError as error:
            raise PreconditionFailed(str(error)) from error
        return self.calendar.add(ical)

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        current = await self.get(remote_id)
        if current.version != if_match:
            raise PreconditionFailed(f"{remote_id} is at {current.version}, not {if_match}")
        return self.calendar.edit(remote_id, ical)

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        current = await self.get(remote_id)
        if if_match is not None and current.version != if_match:
            raise PreconditionFailed(f"{remote_id} is at {current.version}, not {if_match}")
        self.calendar.remove(remote_id)

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        if Capability.PUSH not in self._capabilities:
            return None
        return _Listening(self.calendar, notify)

    async def aclose(self) -> None:
        return None
