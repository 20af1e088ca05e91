"""Our side of a source, as the executor needs it: what a round starts from and how it lands.

Two implementations keep this contract: ``kalends.sync.sqlstore`` over the storage database,
and ``kalends.sync.memory_store`` for the state-machine tests. Every ``apply`` is one
transaction: an item, its status row, its journal entries and the consumed outbox rows land
together or not at all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kalends.bridges.base import RemoteEvent
from kalends.sync.model import Action, LocalItem, Status


@dataclass(frozen=True, slots=True)
class RoundState:
    statuses: Mapping[str, Status]  # by remote id
    local_changes: Mapping[str, LocalItem]  # by href
    outbox_through: int  # the newest outbox row read; only rows up to it are consumed
    cursor: str | None
    quarantine: str | None


@dataclass(frozen=True, slots=True)
class Applied:
    """An action whose source side is done: ``remote`` is what the source holds now.

    ``local_pending``: the merged text was written here, the source's write is still to come
    (the status keeps its old base, so a crash in between re-merges instead of losing a side).
    ``local_etag``: our item's etag when our side was written earlier in the round;
    ``journaled``: that earlier step also wrote the journal (a losing version is journaled
    before the source's copy of it is overwritten).
    """

    action: Action
    remote: RemoteEvent | None
    write_local: bool = True
    local_pending: bool = False
    local_etag: str | None = None
    journaled: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    ok: bool  # False: our item changed meanwhile, nothing was written
    local_etag: str | None = None
    href: str | None = None


@dataclass(frozen=True, slots=True)
class RoundEnd:
    cursor: str | None
    save_cursor: bool
    quarantine: str | None
    error: str | None
    refreshed: Mapping[str, str] = field(default_factory=dict)  # remote id -> version
    summary: Mapping[str, int] = field(default_factory=dict)


class SyncStore(Protocol):
    def load(self) -> RoundState:
        """Statuses may come without their ``base``: ``bases`` reads it where a round needs it."""
        ...

    def bases(self, remote_ids: Collection[str]) -> dict[str, str]: ...

    def current(self, hrefs: Collection[str]) -> dict[str, LocalItem]:
        """Our items at ``hrefs`` now (absent ones are left out)."""
        ...

    def start_run(self, run_id: str) -> None: ...

    def apply(
        self, run_id: str, applied: Sequence[Applied], outbox_through: int
    ) -> list[Outcome]: ...

    def finish(self, run_id: str, end: RoundEnd) -> None: ...
