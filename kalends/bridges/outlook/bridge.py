"""Outlook (Microsoft Graph) as a Kalends source: one calendar, synced with calendarView delta.

Delta listings cover a fixed window (from ``past_days`` ago to ``future_days`` ahead) and hand
out occurrences stripped to their ids and times, so every page is read as "these series and
events changed": each is then fetched whole (the master with Kalends' extended properties, and
its occurrences in the window) and handed to the engine as one calendar object. A ``410`` or
``SyncStateNotFound`` on a delta link is an invalid cursor: the engine reconciles, never wipes.
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
    InvalidCursor,
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
)
from kalends.bridges.outlook.series import (
    expected_keys,
    series_version,
)
from kalends.bridges.versions import is_composite
from kalends.ical import uid_of
from kalends.ical_zones import ZoneBlocks

__all__ = ["OutlookBridge", "Window"]

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
        try:
            if page is not None:
                body = await self.api.follow(page)
            elif cursor is not None:
                body = await self.api.follow(cursor)
            else:
                w = self.window
                body = await self.api.delta(w.text(w.start), w.text(w.end))
        except (Gone, ApiFailure) as error:
            if cursor is not None and _is_reset(error):
                raise InvalidCursor(f"Graph asks for a new delta listing ({error})") from None
            raise
        changes = await self._changes(body.get("value", []))
        next_page = body.get("@odata.nextLink")
        if not next_page:
            self._bulk = None
        delta = None if next_page else body.get("@odata.deltaLink")
        if not next_page and not delta:
            raise Transient("Graph ended a delta listing without a delta link")
        return ChangePage(changes, next_page, delta, complete=cursor is None)

    async def _changes(self, items: Sequence[Resource]) -> list[RemoteChange]:
        touched: dict[str, bool] = {}  # series or event id -> removed
        listed: dict[str, Resource] = {}  # single events and series masters Graph sent whole
        for item in items:
            sid = str(item.get("seriesMasterId") or item["id"])
            removed = "@removed" in item and sid == item["id"]
            touched[sid] = touched.get(sid, True) and removed
            if item.get("type") in ("singleInstance", "seriesMaster") and "subject" in item:
                listed[sid] = item
        reads = (self._change(sid, gone, listed.get(sid)) for sid, gone in touched.items())
        return list(await asyncio.gather(*reads))

    async def _change(self, sid: str, removed: bool, listed: Resource | None) -> RemoteChange:
        if removed:
            return RemoteDeletion(sid)
        known = None
        if listed is not None and self._bulk is not None and sid in self._bulk:
            known = {**listed, "singleValueExtendedProperties": self._bulk[sid]}
        event = await self._read(sid, known)
        return event if event is not None else RemoteDeletion(sid)

    async def _read(self, sid: str, known: Resource | None = None) -> RemoteEvent | None:
        """Event or series ``sid`` read whole (``known``: its master as listed, with Kalends'
        properties); None when it is gone."""
        try:
            master = known if known is not None else await self.api.get(sid)
        except (NotFound, Gone):
            return None
        except ApiFailure as error:
            if error.reason == "ErrorInvalidIdMalformed":  # not an id Graph ever gave out
                return None
            raise
        if master.get("type") != "seriesMaster":
            return self._event(sid, master, [], ())
        w = self.window
        occurrences = await self.api.instances(sid, w.text(w.start), w.text(w.end))
        exceptions = [o for o in occurrences if o.get("type") == "exception"]
        present = {_original_key(o, master) for o in occurrences}
        rule_only = to_ical(GraphSeries(master, ()), zones=self._zones)
        deleted = sorted(expected_keys(rule_only, w.start, w.end) - present)
        return self._event(sid, master, exceptions, deleted)

    def _event(
        self, sid: str, master: Resource, exceptions: Sequence[Resource], deleted: Sequence[str]
    ) -> RemoteEvent:
        series = GraphSeries(master, tuple(exceptions), tuple(deleted))
        ical = to_ical(series, zones=self._zones)
        version = series_version(master, exceptions, deleted)
        return RemoteEvent(sid, version, ical, uid_of(ical))

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

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        draft = self._draft(ical)
        if not is_composite(if_match) and not draft.overrides and not draft.cancelled:
            await self.api.update(remote_id, draft.master, if_match)
            return await self.get(remote_id)
        current = await self.get(remote_id)
        if current.version != if_match:
            raise PreconditionFailed(f"Outlook event {remote_id} changed since {if_match}")
        master = await self.api.get(remote_id)
        await self.api.update(remote_id, draft.master, str(master.get("@odata.etag") or ""))
        await self._write_occurrences(remote_id, draft)
        return await self.get(remote_id)

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
        await self.api.aclose()


def _is_reset(error: Exception) -> bool:
    if isinstance(error, Gone):
        return True
    return isinstance(error, ApiFailure) and error.reason.lower() in (
        "syncstatenotfound", "syncstateinvalid", "resyncrequired",
    )  # fmt: skip


def _original_key(occurrence: Resource, master: Resource) -> str:
    """An occurrence's key, alike from Graph's originalStart and from a RECURRENCE-ID."""
    return instance_key(occurrence, master=master)
