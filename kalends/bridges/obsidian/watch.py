"""Push for a vault: a file watcher on the events folder (inotify, FSEvents, or polling)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import watchfiles

from kalends.bridges.obsidian.vault import NOTE_SUFFIX

__all__ = ["FolderWatch"]

logger = logging.getLogger(__name__)

_DEBOUNCE_MS = 100  # changes are grouped this long, so an edit is signalled well under 1 s
_STEP_MS = 20


def _is_note(_change: watchfiles.Change, path: str) -> bool:
    """A note of the folder; hidden files (our temporary files among them) are not."""
    name = Path(path).name
    return name.endswith(NOTE_SUFFIX) and not name.startswith(".")


class FolderWatch:
    """Calls ``notify`` after notes of ``folder`` are added, changed or removed."""

    def __init__(self, folder: Path, notify: Callable[[], None]) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run(folder, notify))

    async def started(self) -> None:
        """Return once the folder is watched: awatch registers it synchronously on its first
        step, which the task reaches as soon as it is scheduled."""
        await asyncio.sleep(0)

    async def _run(self, folder: Path, notify: Callable[[], None]) -> None:
        changes = watchfiles.awatch(
            folder,
            watch_filter=_is_note,
            debounce=_DEBOUNCE_MS,
            step=_STEP_MS,
            stop_event=self._stop,
            recursive=False,
        )
        try:
            async for _batch in changes:
                _call(notify)
        except (OSError, RuntimeError) as error:  # the folder was removed, the watcher failed
            logger.warning("watching %s stopped: %s", folder, error)

    async def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _call(notify: Callable[[], None]) -> None:
    try:
        notify()
    except Exception:  # a listener's bug must not end the watch
        logger.exception("a change listener failed")
