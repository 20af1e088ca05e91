"""The Obsidian bridge: a folder of Full Calendar notes as a calendar.

remote_id is the note's vault-relative path, version a hash of its bytes. A folder has no
change log: a listing is a full one, unless the file watcher (``watch``) ran since the previous
listing and can say which notes changed (``listing``). Listings are paged by offset. File work
runs in a worker thread; writes are serialised by a lock and re-check the file's hash right
before replacing it, since Obsidian, Obsidian Sync, iCloud or git may write the same note at
any time.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from kalends.bridges.base import (
    BridgeError,
    Capability,
    ChangePage,
    InvalidCursor,
    NotFound,
    PreconditionFailed,
    RemoteChange,
    RemoteDeletion,
    RemoteEvent,
    SourceOptionError,
    Unsupported,
    Watch,
)
from kalends.bridges.obsidian.catalog import Catalog, parse_note
from kalends.bridges.obsidian.changes import ChangeLog
from kalends.bridges.obsidian.frontmatter import FrontmatterError, rewrite, split
from kalends.bridges.obsidian.icalin import event_from_ical
from kalends.bridges.obsidian.listing import FULL_EVERY, Lister, Scope
from kalends.bridges.obsidian.mapping import note_updates
from kalends.bridges.obsidian.model import EventData, NoteError, zone_named
from kalends.bridges.obsidian.notewrite import frontmatter_updates
from kalends.bridges.obsidian.vault import Vault, check_folder_option, file_version, safe_stem
from kalends.bridges.obsidian.watch import FolderWatch
from kalends.ical import ICalError, uid_of

__all__ = ["ObsidianBridge", "check_options"]


def check_options(folder: str, timezone: str | None) -> None:
    """SourceOptionError naming the option when the folder leaves the vault or the zone is
    not an IANA name."""
    try:
        check_folder_option(folder)
    except ValueError as error:
        raise SourceOptionError(f"folder {folder!r}: {error}") from None
    if timezone is not None:
        try:
            zone_named(timezone)
        except NoteError as error:
            raise SourceOptionError(f"timezone {timezone!r}: {error}") from None


class ObsidianBridge:
    """Full Calendar notes (one note per event) in ``folder`` of the vault at ``vault``."""

    def __init__(
        self,
        vault: Path,
        folder: str = "calendar",
        timezone: str | None = None,
        *,
        page_size: int = 500,
        full_listing_every: float = FULL_EVERY,
    ) -> None:
        """``full_listing_every``: seconds after which a listing reads every note again even
        while a watcher reports the changes (a safety net for events a watcher missed)."""
        check_options(folder, timezone)
        self.timezone = timezone
        self.page_size = page_size
        self._vault = Vault(vault, folder)
        self._catalog = Catalog(self._vault)
        self._changes = ChangeLog()
        self._lister = Lister(self._vault, self._catalog, self._changes, full_listing_every)
        self._lock = threading.Lock()  # one write at a time; held inside worker threads
        self._listing: tuple[str, Scope] | None = None
        self._watches: list[FolderWatch] = []

    @property
    def capabilities(self) -> Capability:
        return Capability.RECURRENCE | Capability.PUSH

    @property
    def problems(self) -> dict[str, str]:
        """Notes of the folder that are not events, with the reason (path -> reason)."""
        return self._catalog.problems

    def check_folder(self) -> None:
        """BridgeError when the events folder is a link or not a directory (absent is fine)."""
        folder = self._vault.events_folder()
        if folder is None and self._vault.folder_path.exists():
            raise BridgeError(f"{self._vault.folder_path} is not a directory")

    # -- reading -------------------------------------------------------------------------------

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        return await asyncio.to_thread(self._page, cursor, page)

    def _page(self, cursor: str | None, page: str | None) -> ChangePage:
        # A page token is "<listing id>:<offset>" into the notes this listing reads.
        if page is None:
            listing, scope = secrets.token_hex(6), self._lister.scope(cursor)
            self._listing = (listing, scope)
            offset = 0
        else:
            listing, _, number = page.partition(":")
            if self._listing is None or self._listing[0] != listing or not number.isdigit():
                raise InvalidCursor("this page belongs to a listing that is no longer kept")
            scope, offset = self._listing[1], int(number)
            self._vault.events_folder()  # refuses the folder if it became a link meanwhile
        chunk = scope.remote_ids[offset : offset + self.page_size]
        changes: list[RemoteChange] = []
        if offset == 0:
            changes.extend(RemoteDeletion(remote_id) for remote_id in scope.deleted)
        unreadable: list[str] = []
        for remote_id in chunk:
            entry = self._catalog.entry(remote_id, self._vault.listed_path(remote_id))
            if entry is None:  # gone since the listing began: a full one simply omits it
                if not scope.complete:
                    changes.append(RemoteDeletion(remote_id))
            elif entry.event is not None:
                changes.append(entry.event)
            else:
                unreadable.append(remote_id)
        end = offset + len(chunk)
        if end < len(scope.remote_ids):
            return ChangePage(changes, f"{listing}:{end}", None, scope.complete, unreadable)
        return ChangePage(changes, None, scope.cursor, scope.complete, unreadable)

    async def get(self, remote_id: str) -> RemoteEvent:
        return await asyncio.to_thread(self._get, remote_id)

    def _get(self, remote_id: str) -> RemoteEvent:
        entry = self._catalog.entry(remote_id, str(self._vault.note_path(remote_id)))
        if entry is None:
            raise NotFound(remote_id)
        if entry.event is None:  # the note exists, so not NotFound: it is left alone
            raise Unsupported(f"{remote_id} is not read as an event: {entry.problem}")
        return entry.event

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        return await asyncio.to_thread(self._find, uid)

    def _find(self, uid: str) -> RemoteEvent | None:
        for remote_id in self._catalog.remote_ids():
            entry = self._catalog.entry(remote_id, self._vault.listed_path(remote_id))
            if entry is not None and entry.event is not None and entry.event.uid == uid:
                return entry.event
        return None

    # -- writing -------------------------------------------------------------------------------

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        return await asyncio.to_thread(self._create, ical, uid)

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        return await asyncio.to_thread(self._update, remote_id, ical, if_match)

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        await asyncio.to_thread(self._delete, remote_id, if_match)

    def _incoming(self, ical: str, uid: str) -> EventData:
        try:
            if uid_of(ical) != uid:
                raise PreconditionFailed("the UID argument differs from the event's UID")
        except ICalError as error:
            raise Unsupported(f"not an iCalendar object: {error}") from None
        return replace(event_from_ical(ical, default_zone=self.timezone), uid=uid)

    def _create(self, ical: str, uid: str) -> RemoteEvent:
        with self._lock:
            existing = self._find(uid)
            if existing is not None:  # a retried create: the note is already there
                return existing
            event = self._incoming(ical, uid)
            text = rewrite(split(""), frontmatter_updates({}, None, event, write_uid=True))
            day = event.start.date() if isinstance(event.start, datetime) else event.start
            path = self._write_new(safe_stem(f"{day.isoformat()} {event.summary}"), text)
            return self._written(self._vault.remote_id(path.name), path)

    def _write_new(self, stem: str, text: str) -> Path:
        """A new note named like Full Calendar's: "{date} {title}.md", " (2)" when taken."""
        self._vault.events_folder(create=True)
        for _attempt in range(100):
            path = self._vault.unique_path(stem)
            try:
                self._vault.write(path, text.encode("utf-8"))
                return path
            except FileExistsError:
                continue  # another program took the name between our look and our write
        raise BridgeError(f"no free file name for {stem!r}")

    def _written(self, remote_id: str, path: Path) -> RemoteEvent:
        entry = self._catalog.entry(remote_id, str(path))
        if entry is None or entry.event is None:
            raise BridgeError(f"{remote_id} was written but cannot be read back")
        return entry.event

    def _current(self, remote_id: str, path: Path, if_match: str | None) -> tuple[bytes, int]:
        """The note's bytes and mode, after checking its version is still ``if_match``."""
        try:
            data, status = self._vault.read(path)
        except FileNotFoundError:
            raise NotFound(remote_id) from None
        if if_match is not None and file_version(data) != if_match:
            raise PreconditionFailed(f"{remote_id} changed on disk since version {if_match}")
        return data, status.st_mode

    def _update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        path = self._vault.note_path(remote_id)
        with self._lock:
            data, _ = self._current(remote_id, path, if_match)
            try:
                old = parse_note(remote_id, data)
            except NoteError as error:
                raise Unsupported(f"{remote_id} is not read as an event: {error}") from None
            new = self._incoming(ical, old.event.uid)
            updates = note_updates(old, new)
            if not updates:
                return self._get(remote_id)
            try:
                text = rewrite(old.note, updates)
            except FrontmatterError as error:
                raise Unsupported(f"{remote_id} cannot be rewritten safely: {error}") from None
            _, mode = self._current(remote_id, path, if_match)  # re-read right before writing
            self._vault.write(path, text.encode("utf-8"), mode=mode)
            return self._written(remote_id, path)

    def _delete(self, remote_id: str, if_match: str | None) -> None:
        path = self._vault.note_path(remote_id)
        with self._lock:
            self._current(remote_id, path, if_match)
            self._vault.trash(path)
            self._catalog.forget(remote_id)

    # -- push ----------------------------------------------------------------------------------

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        folder = await asyncio.to_thread(self._vault.events_folder, create=True)
        if folder is None:
            raise BridgeError(f"the events folder {self._vault.folder!r} is not a directory")
        watch = FolderWatch(folder, notify, self._changes)
        await watch.started()
        self._watches.append(watch)
        return watch

    async def aclose(self) -> None:
        watches, self._watches = self._watches, []
        for watch in watches:
            await watch.close()
