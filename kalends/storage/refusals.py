"""Writes the storage refuses, with the status and reason the client should get.

Radicale turns any ValueError of the storage into a bare "400 Bad Request"; a ``Refused`` is a
ValueError too (so Radicale stays consistent), and the storage also leaves it in a per-thread
slot where the application in front of Radicale finds it to answer with the real reason.
"""

from __future__ import annotations

import threading


class Refused(ValueError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RefusalSlot:
    """The last refusal made in the calling thread (one request runs in one thread)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def refuse(self, status: int, reason: str) -> Refused:
        """A refusal to raise, remembered for ``take``."""
        refused = Refused(status, reason)
        self._local.last = refused
        return refused

    def take(self) -> Refused | None:
        """The refusal remembered since the last ``take``, if any (and forget it)."""
        refused: Refused | None = getattr(self._local, "last", None)
        self._local.last = None
        return refused
