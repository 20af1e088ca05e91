"""Notes read as events, re-read only when a file's (mtime, size, inode) changes.

A listing of ten thousand unchanged notes then costs one ``stat`` each. A note that does not
parse is remembered with its reason (logged once per file version) and never modified.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from kalends.bridges.base import RemoteEvent, Unsupported
from kalends.bridges.obsidian.frontmatter import FrontmatterError, Note, split
from kalends.bridges.obsidian.icalout import ZoneBlocks, to_ical
from kalends.bridges.obsidian.model import EventData, NoteError
from kalends.bridges.obsidian.noteread import event_from_note
from kalends.bridges.obsidian.vault import Vault, file_version

__all__ = ["Catalog", "Entry", "ParsedNote", "derived_uid", "parse_note"]

logger = logging.getLogger(__name__)

_SETTLE_NS = 2_000_000_000  # as git's "racy" index entries: a file this fresh is hashed again
_LINK = "link"  # the "version" of a symbolic link: there is nothing of it to read


def derived_uid(remote_id: str) -> str:
    """The UID of a note without a ``uid`` key: stable while the note keeps its path."""
    digest = hashlib.sha1(remote_id.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"obsidian-{digest[:16]}@kalends"


@dataclass(frozen=True, slots=True)
class ParsedNote:
    note: Note
    fields: dict[str, object]
    event: EventData


def parse_note(remote_id: str, data: bytes) -> ParsedNote:
    """The note's parts and event; NoteError with a reason when it is not an event."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("the note is not UTF-8 text") from None
    try:
        note = split(text)
        if not note.has_frontmatter:
            raise NoteError("the note has no frontmatter (--- lines at the top)")
        fields = note.mapping()
    except FrontmatterError as error:
        raise NoteError(str(error)) from None
    basename = PurePosixPath(remote_id).name.removesuffix(".md")
    event = event_from_note(fields, uid=derived_uid(remote_id), fallback_title=basename)
    return ParsedNote(note, fields, event)


@dataclass(frozen=True, slots=True)
class Entry:
    """What one version of a note file is: an event, or the reason it is not one."""

    stat_key: tuple[int, int, int]
    version: str
    event: RemoteEvent | None
    problem: str | None
    settled: bool = True  # False when read so soon after a write that its stat may not show
    # the next one (a same-size edit within one timestamp tick): then it is hashed again


class Catalog:
    """The parsed notes of one events folder, by remote id."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._zones = ZoneBlocks()
        self._entries: dict[str, Entry] = {}
        self._logged: dict[str, str] = {}  # remote id -> version whose problem was logged
        self._lock = threading.RLock()  # calls come from several worker threads
        self._unsettled: set[str] = set()
        self.problems: dict[str, str] = {}

    def remote_ids(self) -> list[str]:
        """Every note of the folder, in path order; forgets notes no longer there."""
        found = [self._vault.remote_id(name) for name in self._vault.note_names()]
        self.retain(found)
        return found

    def retain(self, remote_ids: Iterable[str]) -> None:
        """Forget every note but these (the notes a full listing found)."""
        present = set(remote_ids)
        with self._lock:
            for cache in (self._entries, self._logged, self.problems):
                for gone in [key for key in cache if key not in present]:
                    del cache[gone]
            self._unsettled &= present

    def forget(self, remote_id: str) -> None:
        with self._lock:
            self._entries.pop(remote_id, None)
            self._logged.pop(remote_id, None)
            self.problems.pop(remote_id, None)
            self._unsettled.discard(remote_id)

    def unsettled(self) -> list[str]:
        """Notes read so soon after a write that the next edit may not show in their stat:
        a listing that reads only the notes that changed must read these again too."""
        with self._lock:
            return list(self._unsettled)

    def entry(self, remote_id: str, path: str) -> Entry | None:
        """The note at ``path`` now (None when gone), from the cache while its stat is the same."""
        with self._lock:
            return self._entry(remote_id, path)

    def _entry(self, remote_id: str, path: str) -> Entry | None:
        try:
            status = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            self.forget(remote_id)
            return None
        key = (status.st_mtime_ns, status.st_size, status.st_ino)
        cached = self._entries.get(remote_id)
        if cached is not None and cached.stat_key == key and cached.settled:
            return cached
        if stat.S_ISLNK(status.st_mode):
            reason = "the note is a symbolic link; Kalends does not follow links"
            return self._store(remote_id, Entry(key, _LINK, None, reason))
        try:
            data, status = self._vault.read(Path(path))
        except FileNotFoundError:
            self.forget(remote_id)
            return None
        except Unsupported as error:
            return self._store(remote_id, Entry(key, _LINK, None, str(error)))
        key = (status.st_mtime_ns, status.st_size, status.st_ino)
        version = file_version(data)
        settled = time.time_ns() - status.st_mtime_ns > _SETTLE_NS
        if cached is not None and cached.version == version:
            return self._store(remote_id, replace(cached, stat_key=key, settled=settled))
        entry = self._parse(remote_id, data, key, version)
        return self._store(remote_id, replace(entry, settled=settled))

    def _parse(self, remote_id: str, data: bytes, key: tuple[int, int, int], version: str) -> Entry:
        try:
            parsed = parse_note(remote_id, data)
        except NoteError as error:
            return Entry(key, version, None, str(error))
        stamp = datetime.fromtimestamp(key[0] / 1e9, UTC)
        ical = to_ical(parsed.event, stamp=stamp, zones=self._zones)
        return Entry(key, version, RemoteEvent(remote_id, version, ical, parsed.event.uid), None)

    def _store(self, remote_id: str, entry: Entry) -> Entry:
        self._entries[remote_id] = entry
        if entry.settled:
            self._unsettled.discard(remote_id)
        else:
            self._unsettled.add(remote_id)
        if entry.problem is None:
            self.problems.pop(remote_id, None)
            self._logged.pop(remote_id, None)
            return entry
        self.problems[remote_id] = entry.problem
        if self._logged.get(remote_id) != entry.version:
            self._logged[remote_id] = entry.version
            logger.warning("%s is not read as an event: %s", remote_id, entry.problem)
        return entry
