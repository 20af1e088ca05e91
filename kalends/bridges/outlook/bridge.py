"""Outlook (Microsoft Graph) as a Kalends source: one calendar, synced with calendarView delta.

Delta listings cover a fixed window (from ``past_days`` ago to ``future_days`` ahead) and hand
out occurrences stripped to their ids and times, so every page is read as "these series and
events changed": each is then fetched whole (the master with Kalends' extended properties, and
its occurrences in the window) and handed to the engine as one calendar object. A page comes
with the occurrences of the series it lists, read in batch requests, and the next page is read
while this one is turned into iCalendar (``pages``). A ``410`` or ``SyncStateNotFound`` on a
delta link is an invalid cursor: the engine reconciles, never wipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from kalends.bridges.base import (
    Capability,
    ChangePage,
    NotFound,
    PreconditionFailed,
    RemoteChange,
    RemoteDeletion,
    RemoteEvent,
    Transient,
    Unsupported,
    Watch,
)
from kalends.bridges.http import ApiFailure, Gone
from kalends.bridges.outlook.api import GraphApi
from kalends.bridges.outlook.mapping import (
    UID_PROPERTY,
    GraphDraft,
    GraphSeries,
    MappingError,
    from_ical,
    instance_key,
    to_ical,
    to_ical_with_uid,
)
from kalends.bridges.outlook.pages import Pages
from kalends.bridges.outlook.series import (
    expected_keys,
    series_version,
)
from kalends.bridges.versions import is_composite
from kalends.ical_zones import ZoneBlocks

__all__ = ["OutlookBridge", "Window"]

PROPERTIES = "singleValueExtendedProperties"  # where Kalends keeps the UID and its own state

Resource = Mapping[str, Any]
Watcher = Callable[[Callable[[], None]], Awaitable[Watch]]


class Window:
    """The span of time a source syncs (Graph's delta needs one)."""

    def __init__(self, past_days: int, future_days: int) -> None:
        now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.start = now - timedelta(days=past_days)
        self.end = now + timedelta(days=future_days)

    @staticmethod
    def text(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class OutlookBridge:
    def __init__(
        self,
        api: GraphApi,
        window: Window,
        *,
        time_zone: str = "UTC",
        watcher: Watcher | None = None,
    ) -> None:
        self.api = api
        self.window = window
        self._time_zone = time_zone
        self._watcher = watcher
        self._zones = ZoneBlocks()
        # During a full listing: every event's extended properties, read in bulk at its start,
        # so that a listed event need not be read again one by one for them.
        self._bulk: dict[str, list[dict[str, Any]]] | None = None
        self._pages = Pages(api, window.text(window.start), window.text(window.end))

    def __repr__(self) -> str:
        return f"OutlookBridge({self.api.calendar_id or 'default calendar'!r})"

    @property
    def capabilities(self) -> Capability:
        flags = Capability.RECURRENCE | Capability.OVERRIDES | Capability.X_PROPERTIES
        return flags | Capability.PUSH if self._watcher is not None else flags

    # -- reading ---------------------------------------------------------------------------

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        if cursor is None and page is None:
            self._bulk = await self.api.properties()
        read = await self._pages.read(cursor, page)
        next_page = read.body.get("@odata.nextLink")
        if next_page:
            self._pages.read_ahead(cursor, str(next_page))
        try:
            changes = await self._changes(read.body.get("value", []), read.occurrences)
        except BaseException:
            self._pages.drop()
            raise
        if not next_page:
            self._bulk = None
        delta = None if next_page else read.body.get("@odata.deltaLink")
        if not next_page and not delta:
            raise Transient("Graph ended a delta listing without a delta link")
        return ChangePage(changes, next_page, delta, complete=cursor is None)

    async def _changes(
        self, items: Sequence[Resource], occurrences: Mapping[str, Sequence[Resource]]
    ) -> list[RemoteChange]:
        """What a page says, each event or series read whole (``occurrences``: those of the
        series read with the page already)."""
        touched: dict[str, bool] = {}  # series or event id -> removed
        listed: dict[str, Resource] = {}  # single events and series masters Graph sent whole
        for item in items:
            sid = str(item.get("seriesMasterId") or item["id"])
            removed = "@removed" in item and sid == item["id"]
            touched[sid] = touched.get(sid, True) and removed
            if item.get("type") in ("singleInstance", "seriesMaster") and "subject" in item:
                listed[sid] = item
        live = [sid for sid, removed in touched.items() if not removed]
        read = await asyncio.gather(*(self._master(sid, self._known(sid, listed)) for sid in live))
        masters = {sid: master for sid, master in zip(live, read, strict=True) if master}
        series = [sid for sid, master in masters.items() if master.get("type") == "seriesMaster"]
        unread = [sid for sid in series if sid not in occurrences]
        # The occurrences still to read, in batch requests; the single events are turned into
        # iCalendar meanwhile.
        w = self.window
        reading = asyncio.ensure_future(
            self.api.instances_of(unread, w.text(w.start), w.text(w.end))
        )
        made: dict[str, RemoteChange] = {}
        try:
            for sid, master in masters.items():
                if sid not in series:
                    made[sid] = self._whole(sid, master, ())
                    await asyncio.sleep(0)  # the page read ahead moves on meanwhile
            found = {**occurrences, **dict(zip(unread, await reading, strict=True))}
        finally:
            reading.cancel()
        for sid in series:
            made[sid] = self._whole(sid, masters[sid], found[sid])
            await asyncio.sleep(0)
        return [made[sid] if sid in made else RemoteDeletion(sid) for sid in touched]

    def _known(self, sid: str, listed: Mapping[str, Resource]) -> Resource | None:
        """The event or series master as a full listing sent it, with Kalends' properties."""
        if sid not in listed or self._bulk is None or sid not in self._bulk:
            return None
        return {**listed[sid], PROPERTIES: self._bulk[sid]}

    async def _master(self, sid: str, known: Resource | None) -> Resource | None:
        """The single event or series master ``sid`` (``known``: as listed); None: gone."""
        if known is not None:
            return known
        try:
            return await self.api.get(sid)
        except (NotFound, Gone):
            return None
        except ApiFailure as error:
            if error.reason == "ErrorInvalidIdMalformed":  # not an id Graph ever gave out
                return None
            raise

    async def _read(self, sid: str) -> RemoteEvent | None:
        """Event or series ``sid`` read whole; None when it is gone."""
        master = await self._master(sid, None)
        if master is None:
            return None
        if master.get("type") != "seriesMaster":
            return self._whole(sid, master, ())
        w = self.window
        occurrences = await self.api.instances(sid, w.text(w.start), w.text(w.end))
        return self._whole(sid, master, occurrences)

    def _whole(self, sid: str, master: Resource, occurrences: Sequence[Resource]) -> RemoteEvent:
        """The calendar object of a single event, or of a series and its ``occurrences`` in
        the window (those missing from them are its deleted occurrences)."""
        if master.get("type") != "seriesMaster":
            return self._event(sid, master, [], ())
        w = self.window
        exceptions = [o for o in occurrences if o.get("type") == "exception"]
        present = {_original_key(o, master) for o in occurrences}
        rule_only = to_ical(GraphSeries(master, ()), zones=self._zones)
        deleted = sorted(expected_keys(rule_only, w.start, w.end) - present)
        return self._event(sid, master, exceptions, deleted)

    def _event(
        self, sid: str, master: Resource, exceptions: Sequence[Resource], deleted: Sequence[str]
    ) -> RemoteEvent:
        series = GraphSeries(master, tuple(exceptions), tuple(deleted))
        ical, uid = to_ical_with_uid(series, zones=self._zones)
        version = series_version(master, exceptions, deleted)
        return RemoteEvent(sid, version, ical, uid)

    async def get(self, remote_id: str) -> RemoteEvent:
        event = await self._read(remote_id)
        if event is None:
            raise NotFound(f"Outlook event {remote_id} is gone")
        return event

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        found = await self.api.find_by_property(UID_PROPERTY, uid)
        live = [e for e in found if e.get("type") != "occurrence" and e.get("type") != "exception"]
        return await self._read(str(live[0]["id"])) if live else None

    # -- writing ---------------------------------------------------------------------------

    def _draft(self, ical: str) -> GraphDraft:
        try:
            return from_ical(ical, default_zone=self._time_zone)
        except MappingError as error:
            raise Unsupported(f"Outlook cannot hold this event: {error}") from None

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        draft = self._draft(ical)
        # transactionId: Graph answers a retried POST with the event the first one made.
        # Graph remembers transaction ids per mailbox: the calendar is part of the key.
        seed = f"{self.api.calendar_id}\x00{uid}"
        transaction = hashlib.sha256(seed.encode()).hexdigest()[:36]
        made = await self.api.create({**draft.master, "transactionId": transaction})
        sid = str(made["id"])
        if draft.overrides or draft.cancelled:
            await self._write_occurrences(sid, draft)
            return await self.get(sid)
        return await self._as_written(sid, made)

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        draft = self._draft(ical)
        if not is_composite(if_match) and not draft.overrides and not draft.cancelled:
            written = await self.api.update(remote_id, draft.master, if_match)
            return await self._as_written(remote_id, written)
        current = await self.get(remote_id)
        if current.version != if_match:
            raise PreconditionFailed(f"Outlook event {remote_id} changed since {if_match}")
        master = await self.api.get(remote_id)
        await self.api.update(remote_id, draft.master, str(master.get("@odata.etag") or ""))
        await self._write_occurrences(remote_id, draft)
        return await self.get(remote_id)

    async def _as_written(self, sid: str, written: Resource) -> RemoteEvent:
        """The event as the write answered by ``written`` left it. Its master is that answer,
        not one read afterwards: a change made in Outlook in between would pass for ours and
        never reach CalDAV. Read are only what the answer may lack: Kalends' properties (Graph
        may ignore ``$expand`` on a write) and a series' occurrences."""
        master = dict(written)
        if PROPERTIES not in master:
            read = await self._master(sid, None)
            if read is None:
                raise NotFound(f"Outlook event {sid} is gone")
            master[PROPERTIES] = read.get(PROPERTIES, [])
        if master.get("type") != "seriesMaster":
            return self._whole(sid, master, ())
        w = self.window
        return self._whole(
            sid, master, await self.api.instances(sid, w.text(w.start), w.text(w.end))
        )

    async def _write_occurrences(self, sid: str, draft: GraphDraft) -> None:
        """Overridden instances patched, excluded ones deleted, by their original start."""
        master = await self.api.get(sid)
        w = self.window
        by_key = {
            _original_key(o, master): o
            for o in await self.api.instances(sid, w.text(w.start), w.text(w.end))
        }
        for key, body in draft.overrides.items():
            target = by_key.get(key)
            if target is None:
                raise Unsupported(
                    f"the overridden instance {key} is not an occurrence in the window"
                )
            await self.api.update(str(target["id"]), body, None)
        for key in draft.cancelled:
            target = by_key.get(key)
            if target is not None:
                with contextlib.suppress(NotFound, Gone):  # deleted already
                    await self.api.delete(str(target["id"]), None)

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        etag = if_match
        if is_composite(if_match):
            current = await self.get(remote_id)
            if current.version != if_match:
                raise PreconditionFailed(f"Outlook event {remote_id} changed since {if_match}")
            etag = str((await self.api.get(remote_id)).get("@odata.etag") or "")
        try:
            await self.api.delete(remote_id, etag)
        except Gone:
            raise NotFound(f"Outlook event {remote_id} was deleted already") from None

    # -- push ------------------------------------------------------------------------------

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        if self._watcher is None:
            return None
        return await self._watcher(notify)

    async def aclose(self) -> None:
        self._pages.drop()
        await self.api.aclose()


def _original_key(occurrence: Resource, master: Resource) -> str:
    """An occurrence's key, alike from Graph's originalStart and from a RECURRENCE-ID."""
    return instance_key(occurrence, master=master)
