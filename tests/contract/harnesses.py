"""One harness per bridge: how the contract suite builds a bridge and edits its provider.

A harness plays both parts: the bridge under test, and a person editing the calendar in the
provider's own app (``add``, ``edit``, ``remove``), as the engine sees such edits in practice.
Register a new bridge by adding its harness to ``HARNESSES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from kalends.bridges.base import Bridge
from kalends.bridges.memory import MemoryBridge, MemoryCalendar
from tests.contract.google_harness import google_harness
from tests.contract.ics_harness import ics_harness
from tests.contract.obsidian_harness import obsidian_harness
from tests.contract.outlook_harness import outlook_harness


class Harness(Protocol):
    bridge: Bridge
    writable: bool  # False for read-only sources: create/update/delete are refused

    def add(self, ical: str) -> str:
        """Create the event in the provider; return its remote id."""
        ...

    def edit(self, remote_id: str, ical: str) -> None: ...

    def remove(self, remote_id: str) -> None: ...


class MemoryHarness:
    writable = True

    def __init__(self) -> None:
        self.calendar = MemoryCalendar()
        self.bridge: Bridge = MemoryBridge(self.calendar, page_size=3)

    def add(self, ical: str) -> str:
        return self.calendar.add(ical).remote_id

    def edit(self, remote_id: str, ical: str) -> None:
        self.calendar.edit(remote_id, ical)

    def remove(self, remote_id: str) -> None:
        self.calendar.remove(remote_id)


@contextmanager
def memory_harness(_tmp_path: Path) -> Iterator[Harness]:
    yield MemoryHarness()


HARNESSES: dict[str, Callable[[Path], AbstractContextManager[Harness]]] = {
    "memory": memory_harness,
    "ics": ics_harness,
    "obsidian": obsidian_harness,
    "google": google_harness,
    "outlook": outlook_harness,
}
