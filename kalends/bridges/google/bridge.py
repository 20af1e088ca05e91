"""Google Calendar as a Kalends source: one Google calendar, synced with syncTokens.

Listings use ``singleEvents=false`` with the same parameters every time (Google requires it for
incremental sync), so a series arrives as its master plus the exceptions that changed; whenever
a page touches a recurring series, the whole series is read again by its iCalUID and handed to
the engine as one calendar object. A 410 on a sync token is an invalid cursor: the engine
reconciles a full listing against what it knows, it never wipes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
from kalends.bridges.google.api import CalendarApi
from kalends.bridges.google.mapping import (
    GoogleDraft,
    GoogleSeries,
    MappingError,
    from_ical,
    to_ical,
)
from kalends.bridges.google.overrides import write_overrides
from kalends.bridges.google.series import (
    event_id_for,
    members_of,
    series_id,
    series_version,
)
from kalends.bridges.http import Conflict, Gone
from kalends.bridges.versions import is_composite
from kalends.ical_zones import ZoneBlocks

__all__ = ["GoogleBridge"]

logger = logging.getLogger(__name__)

Resource = Mapping[str, Any]
Watcher = Callable[[Callable[[], None]], Awaitable[Watch]]


class GoogleBridge:
    def __init__(
        self,
        api: CalendarApi,
        *,
        time_zone: str | None = None,
        page_size: int = 250,
        watcher: Watcher | None = None,
    ) -> None:
        self.api = api
        self._time_zone = time_zone  # the admin's choice; else the calendar's own
        self._calendar_zone: str | None = None
        self._page_size = page_size
        self._watcher = watcher
        self._zones = ZoneBlocks()

    def __repr__(self) -> str:
        return f"GoogleBridge({self.api.calendar_id!r})"

    @property
    def capabilities(self) -> Capability:
        flags = Capability.RECURRENCE | Capability.OVERRIDES | Capability.X_PROPERTIES
        return flags | Capability.PUSH if self._watcher is not None else flags

    @property
    def default_zone(self) -> str:
        return self._time_zone or self._calendar_zone or "UTC"

    # -- reading ---------------------------------------------------------------------------

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        params: dict[str, str | int] = {"singleEvents": "false", "maxResults": self._page_size}
        if cursor is not None:
            params["syncToken"] = cursor
        if page is not None:
            params["pageToken"] = page
        try:
            body = await self.api.list_events(params)
        except Gone as error:
            if cursor is None:
                raise
            raise InvalidCursor(f"Google asks for a full sync ({error.reason})") from None
        self._calendar_zone = body.get("timeZone") or self._calendar_zone
        changes = await self._changes(body.get("items", []))
        next_page = body.get("nextPageToken")
        sync_token = None if next_page else body.get("nextSyncToken")
        if not next_page and not sync_token:
            raise Transient("Google ended a listing without a sync token")
        return ChangePage(changes, next_page, sync_token, complete=cursor is None)

    async def _changes(self, items: Sequence[Resource]) -> list[RemoteChange]:
        grouped: dict[str, list[Resource]] = {}
        for item in items:
            grouped.setdefault(series_id(item), []).append(item)
        return list(await asyncio.gather(*(self._change(sid, g) for sid, g in grouped.items())))

    async def _change(self, sid: str, group: Sequence[Resource]) -> RemoteChange:
        master, exceptions = members_of(sid, group)
        if master is not None and master.get("status") == "cancelled":
            return RemoteDeletion(sid)
        if master is not None and not master.get("recurrence") and not exceptions:
            return self._event(sid, master, [])
        event = await self._series(sid, group)
        return event if event is not None else RemoteDeletion(sid)

    async def _series(self, sid: str, known: Sequence[Resource] = ()) -> RemoteEvent | None:
        """Series ``sid`` read whole; None when it is gone."""
        uid = next((str(r["iCalUID"]) for r in known if r.get("iCalUID")), None)
        if uid is None:
            try:
                master = await self.api.get(sid)
            except (NotFound, Gone):
                return None
            if master.get("status") == "cancelled":
                return None
            uid = str(master["iCalUID"])
        master_now, exceptions = members_of(sid, await self.api.series_by_uid(uid))
        if master_now is not None and master_now.get("status") == "cancelled":
            return None
        if master_now is None and all(e.get("status") == "cancelled" for e in exceptions):
            return None
        return self._event(sid, master_now, exceptions)

    def _event(
        self, sid: str, master: Resource | None, exceptions: Sequence[Resource]
    ) -> RemoteEvent:
        series = GoogleSeries(master, tuple(exceptions))
        ical = to_ical(series, zones=self._zones)
        uid = str((master or exceptions[0])["iCalUID"])
        return RemoteEvent(sid, series_version(master, exceptions), ical, uid)

    async def get(self, remote_id: str) -> RemoteEvent:
        try:
            master = await self.api.get(remote_id)
        except Gone:
            raise NotFound(f"Google event {remote_id} is gone") from None
        if master.get("status") == "cancelled":
            raise NotFound(f"Google event {remote_id} was deleted")
        if not master.get("recurrence"):
            return self._event(remote_id, master, [])
        event = await self._series(remote_id, [master])
        if event is None:
            raise NotFound(f"Google event {remote_id} was deleted")
        return event

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        resources = await self.api.series_by_uid(uid)
        live = [
            r for r in resources if not r.get("recurringEventId") and r.get("status") != "cancelled"
        ]
        if not live:
            return None
        sid = str(live[0]["id"])
        master, exceptions = members_of(sid, resources)
        return self._event(sid, master, exceptions)

    # -- writing ---------------------------------------------------------------------------

    def _draft(self, ical: str) -> GoogleDraft:
        try:
            return from_ical(ical, default_zone=self.default_zone)
        except MappingError as error:
            raise Unsupported(f"Google cannot hold this event: {error}") from None

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        draft = self._draft(ical)
        master = await self._insert({**draft.master, "iCalUID": uid}, uid)
        if not draft.overrides and not draft.cancelled:
            return self._event(str(master["id"]), master, [])
        sid = str(master["id"])
        await write_overrides(self.api, master, draft, [])
        return await self._reload(sid)

    async def _insert(self, body: Mapping[str, Any], uid: str) -> Resource:
        """Insert under an id derived from the UID: a retry after a lost reply finds its own
        event (409) instead of making a second one. When the UID is held by an event deleted
        earlier (Google never frees an id or iCalUID), import brings that event back instead."""
        event_id = event_id_for(uid)
        try:
            return await self.api.insert({**body, "id": event_id})
        except Conflict:
            existing = await self._existing(event_id)
            if existing is not None and existing.get("iCalUID") == uid:
                return existing
        return await self.api.import_event(body)

    async def _existing(self, event_id: str) -> Resource | None:
        try:
            found = await self.api.get(event_id)
        except (NotFound, Gone):
            return None
        return None if found.get("status") == "cancelled" else found

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        draft = self._draft(ical)
        if not is_composite(if_match) and not draft.overrides:
            updated = await self.api.update(remote_id, draft.master, if_match)
            if not updated.get("recurrence"):
                return self._event(remote_id, updated, [])
            return await self._reload(remote_id)
        master, exceptions = await self._checked(remote_id, if_match)
        updated = await self.api.update(remote_id, draft.master, str(master.get("etag")))
        await write_overrides(self.api, updated, draft, exceptions)
        return await self._reload(remote_id)

    async def _checked(self, remote_id: str, if_match: str) -> tuple[Resource, list[Resource]]:
        """The series now, when it is still at version ``if_match``."""
        event = await self._series(remote_id)
        if event is None:
            raise NotFound(f"Google event {remote_id} was deleted")
        if event.version != if_match:
            raise PreconditionFailed(f"Google event {remote_id} changed since {if_match}")
        master, exceptions = members_of(remote_id, await self.api.series_by_uid(event.uid))
        if master is None:
            raise NotFound(f"Google event {remote_id} has no master event")
        return master, exceptions

    async def _reload(self, remote_id: str) -> RemoteEvent:
        event = await self._series(remote_id)
        if event is None:
            raise Transient(f"Google event {remote_id} vanished right after it was written")
        return event

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        etag = if_match
        if is_composite(if_match):
            assert if_match is not None
            master, _ = await self._checked(remote_id, if_match)
            etag = str(master.get("etag"))
        try:
            await self.api.delete(remote_id, etag)
        except Gone:
            raise NotFound(f"Google event {remote_id} was deleted already") from None

    # -- push ------------------------------------------------------------------------------

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        if self._watcher is None:
            return None
        return await self._watcher(notify)

    async def aclose(self) -> None:
        await self.api.aclose()
