"""Which notes a listing reads: every one, or only those that may have changed since the last.

A full listing stats every note of the folder (the catalog re-reads those whose stat changed).
While a file watcher runs, a listing reads only what may have changed since the previous one:

- the notes the watcher reported;
- notes read so soon after a write that their stat may not show the next edit (``Catalog``);
- when a report names a note the previous listing did not hold, or one no longer there: the
  folder's names too (no ``stat`` per note, a tenth of the cost), so every note that appeared
  or vanished since the previous listing is listed, reported or not, and under its name on
  disk (which on a case-insensitive file system may differ from the reported one).

Such a listing is not complete: it holds what changed, and deletions, each read from disk just
now, so it never claims anything that is not so; what it may miss is a change no watcher
reported. A full listing is made instead whenever the watcher cannot vouch for that:

- at the first listing, and whenever the cursor is not the one handed out last (a round that
  did not finish, a restart, another process: what happened meanwhile is not known);
- when no watcher runs, or one started, stopped or lost track since the previous listing;
- when the folder is no longer the one the watcher was started on (replaced, or moved along
  with its vault: a watch follows the directory, not the path);
- after a burst of changes, when a kernel's event queue may have overflowed (watchfiles does
  not pass that notice on);
- at least every ``full_every`` seconds, so that an edit no watcher saw (on a network file
  system inotify sees only this machine's writes) waits no longer than that.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, replace

from kalends.bridges.obsidian.catalog import Catalog
from kalends.bridges.obsidian.changes import ChangeLog, Taken
from kalends.bridges.obsidian.vault import Vault
from kalends.bridges.obsidian.watch import folder_identity

__all__ = ["BURST", "FULL_EVERY", "Lister", "Scope"]

FULL_EVERY = 60.0  # seconds between full listings while a watcher reports the changes
BURST = 1000  # more reported notes than this: list everything (and reading them costs more)


@dataclass(frozen=True, slots=True)
class Scope:
    """What one listing reads."""

    cursor: str  # handed out on the listing's last page
    complete: bool
    remote_ids: list[str]  # the notes to read, in path order
    deleted: list[str]  # notes gone since the previous listing (incomplete listings only)


@dataclass(frozen=True, slots=True)
class _Handed:
    """The last listing made: the cursor it handed out and what it was based on."""

    cursor: str
    epoch: int
    names: frozenset[str]  # the note names the folder held
    full_at: float  # monotonic time of the last full listing


class Lister:
    def __init__(
        self, vault: Vault, catalog: Catalog, changes: ChangeLog, full_every: float = FULL_EVERY
    ) -> None:
        self.full_every = full_every
        self._vault = vault
        self._catalog = catalog
        self._changes = changes
        self._token = secrets.token_hex(6)
        self._serial = 0
        self._handed: _Handed | None = None
        self._lock = threading.Lock()

    def scope(self, cursor: str | None) -> Scope:
        """The notes a listing after ``cursor`` reads (Transient when the vault is gone)."""
        with self._lock:
            taken = self._changes.take()
            handed, self._handed = self._handed, None  # a listing that fails hands out nothing
            now = time.monotonic()
            self._serial += 1
            new_cursor = f"{self._token}.{self._serial}"
            if self._can_increment(cursor, taken, handed, now):
                assert handed is not None
                return self._incremental(new_cursor, taken, handed)
            return self._full(new_cursor, taken, now)

    def _can_increment(
        self, cursor: str | None, taken: Taken, handed: _Handed | None, now: float
    ) -> bool:
        if handed is None or cursor != handed.cursor or taken.epoch != handed.epoch:
            return False
        if not taken.watching or len(taken.names) > BURST:
            return False
        if now - handed.full_at >= self.full_every:
            return False
        folder = self._vault.events_folder()  # Transient when the vault is gone
        identity = folder_identity(folder) if folder is not None else None
        moved = [key for key, watched in taken.watching.items() if watched != identity]
        for key in moved:  # for good: the watcher's directory is not at the folder's path now
            self._changes.detach(key)
        return identity is not None and not moved

    def _full(self, cursor: str, taken: Taken, now: float) -> Scope:
        names = self._vault.note_names()
        remote_ids = [self._vault.remote_id(name) for name in names]
        self._catalog.retain(remote_ids)
        self._handed = _Handed(cursor, taken.epoch, frozenset(names), now)
        return Scope(cursor, True, remote_ids, [])

    def _incremental(self, cursor: str, taken: Taken, handed: _Handed) -> Scope:
        unsettled = {remote_id.rpartition("/")[2] for remote_id in self._catalog.unsettled()}
        if all(name in handed.names and self._vault.is_note(name) for name in taken.names):
            # Only edits of notes the folder held (their exact names, from reading it): no
            # need to read the folder again. Any other report (a name new or gone, which may
            # also differ from the name on disk only in case) reads it.
            read = (taken.names | unsettled) & handed.names
            self._handed = replace(handed, cursor=cursor)
            return Scope(cursor, False, [self._vault.remote_id(name) for name in sorted(read)], [])
        present = self._vault.note_name_set()
        appeared = present - handed.names
        read = (taken.names | appeared | unsettled) & present
        gone = (handed.names - present) | (taken.names - present)
        deleted = [self._vault.remote_id(name) for name in sorted(gone)]
        for remote_id in deleted:
            self._catalog.forget(remote_id)
        self._handed = _Handed(cursor, taken.epoch, frozenset(present), handed.full_at)
        return Scope(cursor, False, [self._vault.remote_id(name) for name in sorted(read)], deleted)
