"""The values the planner reads and the actions it decides: plain data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, NamedTuple

from kalends.bridges.base import RemoteChange
from kalends.sync.vectors import VersionVector


class Status(NamedTuple):
    """What both sides held at the last sync of one linked event (a tuple: a round loads one
    per linked event, and frozen dataclasses cost several times more to build)."""

    remote_id: str
    href: str
    uid: str
    remote_version: str
    local_etag: str
    base: str  # the event as the source returned it: the merge base
    vector: VersionVector = VersionVector()


@dataclass(frozen=True, slots=True)
class LocalItem:
    """An item of our store as it is now; ``text`` None when it was deleted."""

    href: str
    etag: str | None
    text: str | None
    uid: str | None


@dataclass(frozen=True, slots=True)
class Policy:
    """How a source is synced (from the admin file)."""

    pull: bool = True  # source -> Kalends
    push: bool = True  # Kalends -> source
    can_delete: bool = True  # the source can remove events
    tie: Literal["local", "remote"] = "local"  # same-property clash with equal LAST-MODIFIED
    max_delete_share: float = 0.5  # more deletions than this share of items quarantines
    min_items_for_rails: int = 5  # below this many linked items the rails stay quiet


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Our side of one source at the start of a round."""

    statuses: Mapping[str, Status]  # by remote id
    local_changes: Mapping[str, LocalItem]  # by href: the outbox, with each item's content now
    local_texts: Mapping[str, LocalItem]  # by href: current items that remote changes touch
    cursor: str | None = None
    quarantine: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """The source's side: every change since the cursor (all pages)."""

    changes: Sequence[RemoteChange]
    complete: bool
    cursor: str | None
    unreadable: frozenset[str] = frozenset()


class Kind(Enum):
    PULL_CREATE = "pull-create"
    PULL_UPDATE = "pull-update"
    PULL_DELETE = "pull-delete"
    PUSH_CREATE = "push-create"
    PUSH_UPDATE = "push-update"
    PUSH_DELETE = "push-delete"
    MERGE = "merge"  # both sides changed: the merged event goes to both
    LINK = "link"  # both sides already agree: only the status moves
    UNLINK = "unlink"  # gone on both sides
    REFUSED = "refused"  # a change this source cannot take (read-only, no deletes)


@dataclass(frozen=True, slots=True)
class Action:
    """One event's resolution. ``local_text``/``remote_text`` are what each side must hold after
    it (None: absent); ``expect_etag`` guards our write against a client edit made meanwhile.
    ``before_local`` is what the action overwrites (ours for a pull, the source's for a push):
    what ``kalends undo`` puts back."""

    kind: Kind
    href: str | None
    uid: str
    status: Status | None  # the link before this round
    remote_id: str | None = None
    remote_version: str | None = None  # the source's version when listed
    local_text: str | None = None
    remote_text: str | None = None
    before_local: str | None = None
    expect_etag: str | None = None
    write_local: bool = False
    write_remote: bool = False
    conflict_loser: str | None = None  # the losing version when a clash was settled
    detail: str = ""
    vector: VersionVector = field(default_factory=VersionVector)

    @property
    def deletes(self) -> bool:
        return (self.write_local and self.local_text is None) or (
            self.write_remote and self.remote_text is None
        )


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    quarantine: str | None  # why deletions are held back this round
    cursor: str | None  # to save once every action is applied
    remote_versions: Mapping[str, str] = field(default_factory=dict)  # status-only refreshes
