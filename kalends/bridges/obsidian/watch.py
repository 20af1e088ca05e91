"""Push for a vault: a file watcher on the events folder (inotify, FSEvents, or polling).

Besides waking the sync, the watcher tells the bridge which notes changed (``ChangeLog``), so
a listing reads only those instead of every note. It stops vouching for the folder (and the
listings go back to reading everything) when the folder itself is moved or deleted: a watch
follows the directory it was started on, not its path.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

from kalends.bridges.obsidian.changes import ChangeLog, Identity
from kalends.bridges.obsidian.vault import NOTE_SUFFIX

__all__ = ["FolderWatch", "folder_identity"]

logger = logging.getLogger(__name__)

_DEBOUNCE_MS = 100  # changes are grouped this long, so an edit is signalled well under 1 s
_STEP_MS = 20
# No timeout: watchfiles clears its pending changes when a wait times out, and a change
# arriving in that instant would be lost; the stop event ends the wait instead.
_NO_TIMEOUT = 0
_KEYS = itertools.count(1)


def folder_identity(folder: Path | str) -> Identity | None:
    """(device, inode) of a directory, None when it is not one (links are not followed)."""
    try:
        status = os.stat(folder, follow_symlinks=False)
    except OSError:
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISDIR(status.st_mode) else None


def is_note_name(name: str) -> bool:
    """A note of the folder; hidden files (our temporary files among them) are not."""
    return name.endswith(NOTE_SUFFIX) and not name.startswith(".")


def sort_out(
    folder: str, identity: Identity | None, batch: Iterable[tuple[watchfiles.Change, str]]
) -> tuple[set[str], bool]:
    """The note names a batch of changes names, and whether it holds a change the watch cannot
    vouch for: the folder moved or deleted, or a path outside it. A "modified" folder (its mode
    or times) is fine while the folder at its path is still the one watched."""
    names: set[str] = set()
    lost = False
    for change, path in batch:
        parent, name = os.path.split(path)
        if parent == folder:
            if is_note_name(name):
                names.add(name)
        else:
            lost = lost or not _folder_itself_modified(folder, identity, change, path)
    return names, lost


def _folder_itself_modified(
    folder: str, identity: Identity | None, change: watchfiles.Change, path: str
) -> bool:
    return (
        path == folder
        and change is watchfiles.Change.modified
        and folder_identity(folder) == identity
    )


class FolderWatch:
    """Calls ``notify`` after notes of ``folder`` are added, changed or removed, and records
    their names in ``changes``."""

    def __init__(
        self, folder: Path, notify: Callable[[], None], changes: ChangeLog | None = None
    ) -> None:
        self._changes = changes if changes is not None else ChangeLog()
        self._key = next(_KEYS)
        # Taken before the watch registers: should the folder be replaced in between, the
        # identity is the old one, the check in the listings fails and they read everything.
        self._identity = folder_identity(folder)
        self._entered = False
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run(folder, notify))

    async def started(self) -> None:
        """Return once the folder is watched, and vouch for it from then on.

        awatch creates its watcher (which registers the folder) synchronously when iterating
        starts, before its first await; the task gets there on its first step, which runs
        before this coroutine resumes. Changes after that moment are all reported.
        """
        await asyncio.sleep(0)
        if self._entered and not self._task.done() and self._identity is not None:
            self._changes.attach(self._key, self._identity)

    async def _run(self, folder: Path, notify: Callable[[], None]) -> None:
        changes = watchfiles.awatch(
            folder,
            debounce=_DEBOUNCE_MS,
            step=_STEP_MS,
            rust_timeout=_NO_TIMEOUT,
            stop_event=self._stop,
            recursive=False,
        )
        self._entered = True
        try:
            async for batch in changes:
                names, lost = sort_out(str(folder), self._identity, batch)
                if lost:  # the folder itself moved or went: this watch can no longer tell
                    self._changes.detach(self._key)
                if names:
                    self._changes.record(names)
                if names or lost:
                    _call(notify)
        except (OSError, RuntimeError) as error:  # the folder was removed, the watcher failed
            logger.warning("watching %s stopped: %s", folder, error)
        finally:
            self._changes.detach(self._key)

    async def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _call(notify: Callable[[], None]) -> None:
    try:
        notify()
    except Exception:  # a listener's bug must not end the watch
        logger.exception("a change listener failed")
