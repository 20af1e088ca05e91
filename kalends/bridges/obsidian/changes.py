"""What the file watchers saw since the last listing: the names of the notes they reported.

A listing may trust these names (and read only those notes) only while a watcher has run
without a break since the listing before it. Every break moves ``epoch`` on: a watcher
registered or stopped, or one that can no longer tell what happens in the folder (the folder
itself was moved or deleted, or it is not the folder the watcher was started on). A listing
that finds the epoch moved since the previous one lists everything.

The watchers feed this from the event loop, listings read it from worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ChangeLog", "Identity", "Taken"]

Identity = tuple[int, int]  # (st_dev, st_ino) of the folder a watcher watches


@dataclass(frozen=True, slots=True)
class Taken:
    """The log's state when a listing began."""

    epoch: int
    names: frozenset[str]  # note file names reported since the previous take
    watching: dict[int, Identity]  # live watchers (by key) and the folder each one watches


class ChangeLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch = 0
        self._names: set[str] = set()
        self._watching: dict[int, Identity] = {}

    def attach(self, key: int, identity: Identity) -> None:
        """A watcher is registered on the folder that had ``identity`` just before."""
        with self._lock:
            self._watching[key] = identity
            self._epoch += 1

    def detach(self, key: int) -> None:
        """The watcher stopped, failed, or cannot tell what changes any more (for good)."""
        with self._lock:
            if self._watching.pop(key, None) is not None:
                self._epoch += 1

    def record(self, names: Iterable[str]) -> None:
        with self._lock:
            self._names.update(names)

    def take(self) -> Taken:
        """The names reported so far (cleared), with the epoch and the live watchers."""
        with self._lock:
            names, self._names = frozenset(self._names), set()
            return Taken(self._epoch, names, dict(self._watching))
