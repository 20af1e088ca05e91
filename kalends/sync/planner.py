"""The pure heart of sync: our side's snapshot + the source's listing -> what to do.

No I/O and no clock: the same inputs always give the same plan, which is what makes the
property-based state machine in the tests meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalends.bridges.base import RemoteEvent
from kalends.ical import ICalError, content_hash, uid_of
from kalends.sync.merge import merge
from kalends.sync.model import Action, Kind, Listing, LocalItem, Plan, Policy, Snapshot, Status
from kalends.sync.vectors import Order, VersionVector

Remote = RemoteEvent | None  # None: deleted in the source


def _same_content(a: str, b: str) -> bool:
    try:
        return content_hash(a) == content_hash(b)
    except ICalError:
        return a == b


def _remote_view(snapshot: Snapshot, listing: Listing) -> dict[str, Remote]:
    """The latest state of every remote id the listing speaks of (absence in a full listing
    is a deletion, except for events the source could not read)."""
    remote: dict[str, Remote] = {}
    for change in listing.changes:
        remote[change.remote_id] = change if isinstance(change, RemoteEvent) else None
    if listing.complete:
        for remote_id in snapshot.statuses:
            remote.setdefault(remote_id, None)
    for remote_id in listing.unreadable:
        remote.pop(remote_id, None)
    return remote


@dataclass
class _Planner:
    snapshot: Snapshot
    policy: Policy
    remote: dict[str, Remote]

    def run(self) -> tuple[list[Action], dict[str, str]]:
        actions: list[Action] = []
        refreshed: dict[str, str] = {}
        renames = self._renames()
        linked_hrefs: set[str] = set()
        for status in self.snapshot.statuses.values():
            linked_hrefs.add(status.href)
            new_id = renames.get(status.remote_id)
            if new_id is not None:
                status = _relinked(status, new_id)
            action = self._linked(status, refreshed, renamed=new_id is not None)
            if action is not None:
                actions.append(action)
        unlinked = {
            item.uid: item
            for href, item in self.snapshot.local_changes.items()
            if href not in linked_hrefs and item.uid
        }
        taken = {s.remote_id for s in self.snapshot.statuses.values()} | set(renames.values())
        for remote_id, event in self.remote.items():
            if event is None or remote_id in taken:
                continue
            action = self._new_remote(event, unlinked.pop(event.uid, None))
            if action is not None:
                actions.append(action)
        for item in unlinked.values():
            if item.text is not None and self.policy.push:
                actions.append(_push_create(item, None))
        return actions, refreshed

    def _renames(self) -> dict[str, str]:
        """Old remote id -> new one, for events the source moved (an Obsidian note renamed on
        edit): deleted under one id and listed under another with the same UID."""
        deleted_by_uid = {
            status.uid: status.remote_id
            for status in self.snapshot.statuses.values()
            if status.remote_id in self.remote and self.remote[status.remote_id] is None
        }
        renames: dict[str, str] = {}
        for remote_id, event in self.remote.items():
            if event is None or remote_id in self.snapshot.statuses:
                continue
            old = deleted_by_uid.pop(event.uid, None)
            if old is not None:
                renames[old] = remote_id
        return renames

    def _remote_changed(self, status: Status) -> tuple[bool, Remote]:
        if status.remote_id not in self.remote:
            return False, None
        event = self.remote[status.remote_id]
        if event is None:
            return True, None
        if event.version == status.remote_version:
            return False, event
        return not _same_content(event.ical, status.base), event

    def _linked(self, status: Status, refreshed: dict[str, str], renamed: bool) -> Action | None:
        remote_changed, event = self._remote_changed(status)
        if not self.policy.pull:
            remote_changed = False
        if event is not None and not remote_changed and event.version != status.remote_version:
            refreshed[status.remote_id] = event.version
        local = self.snapshot.local_changes.get(status.href)
        local_changed = local is not None and local.etag != status.local_etag
        local_vector = status.vector.bump(local=local_changed)
        remote_vector = status.vector.bump(remote=remote_changed)
        order = local_vector.compare(remote_vector)
        vector = local_vector.join(remote_vector)
        if order is Order.EQUAL:
            if renamed and event is not None:  # the same event under its new id
                return Action(
                    Kind.LINK, status.href, status.uid, status, event.remote_id, event.version,
                    remote_text=event.ical, expect_etag=status.local_etag, vector=vector,
                )  # fmt: skip
            return None
        if order is Order.AFTER:
            assert local is not None
            return self._local_only(status, local, vector)
        if order is Order.BEFORE:
            return self._remote_only(status, event, vector)
        assert local is not None
        return self._both(status, local, event, vector)

    def _current_local(self, status: Status) -> LocalItem | None:
        item = self.snapshot.local_texts.get(status.href)
        return item if item is not None and item.text is not None else None

    def _remote_only(self, status: Status, event: Remote, vector: VersionVector) -> Action:
        current = self._current_local(status)
        before = current.text if current is not None else None
        if event is None:
            return Action(
                Kind.PULL_DELETE, status.href, status.uid, status, status.remote_id,
                before_local=before, expect_etag=status.local_etag, write_local=True,
                vector=vector,
            )  # fmt: skip
        text = event.ical
        if current is not None and current.text is not None:
            text = merge(status.base, current.text, event.ical, authority="remote").text
        return Action(
            Kind.PULL_UPDATE, status.href, status.uid, status, event.remote_id, event.version,
            local_text=text, remote_text=event.ical, before_local=before,
            expect_etag=current.etag if current is not None else status.local_etag,
            write_local=True, vector=vector,
        )  # fmt: skip

    def _local_only(self, status: Status, local: LocalItem, vector: VersionVector) -> Action:
        deleting = local.text is None
        allowed = self.policy.push and (self.policy.can_delete or not deleting)
        if not allowed:
            reason = "the source takes no deletions" if self.policy.push else "read-only source"
            return Action(
                Kind.REFUSED, status.href, status.uid, status, status.remote_id,
                status.remote_version, local_text=status.base, remote_text=status.base,
                before_local=local.text, expect_etag=local.etag, write_local=True,
                detail=f"not sent to the source ({reason}); restored", vector=vector,
            )  # fmt: skip
        kind = Kind.PUSH_DELETE if deleting else Kind.PUSH_UPDATE
        return Action(
            kind, status.href, status.uid, status, status.remote_id, status.remote_version,
            local_text=local.text, remote_text=local.text, before_local=status.base,
            expect_etag=local.etag, write_remote=True, vector=vector,
        )  # fmt: skip

    def _both(
        self, status: Status, local: LocalItem, event: Remote, vector: VersionVector
    ) -> Action:
        if local.text is None and event is None:
            return Action(Kind.UNLINK, status.href, status.uid, status, status.remote_id)
        if event is None:  # deleted there, edited here: the edit wins
            assert local.text is not None
            if not self.policy.push:
                return _pull_delete_over_edit(status, local, vector)
            return _push_create(
                local, status, "deleted in the source while edited here: the edit is kept"
            )
        if local.text is None:  # deleted here, edited there: the edit wins
            return Action(
                Kind.PULL_CREATE, status.href, status.uid, status, event.remote_id,
                event.version, local_text=event.ical, remote_text=event.ical,
                expect_etag=None, write_local=True, vector=vector,
                detail="deleted here while edited in the source: the edit is kept",
            )  # fmt: skip
        return self._merged(status, local, event, vector)

    def _merged(
        self,
        status: Status | None,
        local: LocalItem,
        event: RemoteEvent,
        vector: VersionVector,
    ) -> Action:
        assert local.text is not None
        base = status.base if status is not None else None
        result = merge(base, local.text, event.ical, tie=self.policy.tie)
        loser = None
        if result.clashes:
            loser = event.ical if result.clashes[0].winner == "local" else local.text
        detail = "; ".join(f"{c.group} kept from {c.winner}" for c in result.clashes)
        write_local = not _same_content(result.text, local.text)
        write_remote = self.policy.push and not _same_content(result.text, event.ical)
        return Action(
            Kind.MERGE, local.href, event.uid, status, event.remote_id, event.version,
            local_text=result.text, remote_text=result.text if write_remote else event.ical,
            before_local=local.text if write_local else event.ical, expect_etag=local.etag,
            write_local=write_local, write_remote=write_remote, conflict_loser=loser,
            detail=detail, vector=vector,
        )  # fmt: skip

    def _new_remote(self, event: RemoteEvent, local: LocalItem | None) -> Action | None:
        if local is not None and local.text is not None:
            if _same_content(event.ical, local.text):
                return Action(
                    Kind.LINK, local.href, event.uid, None, event.remote_id, event.version,
                    local_text=local.text, remote_text=event.ical, expect_etag=local.etag,
                    vector=VersionVector(1, 1),
                )  # fmt: skip
            return self._merged(None, local, event, VersionVector(1, 1))
        if not self.policy.pull:
            return None
        return Action(
            Kind.PULL_CREATE, None, event.uid, None, event.remote_id, event.version,
            local_text=event.ical, remote_text=event.ical, write_local=True,
            vector=VersionVector(0, 1),
        )  # fmt: skip


def _relinked(status: Status, remote_id: str) -> Status:
    return Status(
        remote_id, status.href, status.uid, status.remote_version, status.local_etag,
        status.base, status.vector,
    )  # fmt: skip


def _push_create(local: LocalItem, status: Status | None, detail: str = "") -> Action:
    assert local.text is not None
    uid = local.uid or uid_of(local.text)
    vector = status.vector.bump(local=True) if status is not None else VersionVector(1, 0)
    return Action(
        Kind.PUSH_CREATE, local.href, uid, status, None, None, local_text=local.text,
        remote_text=local.text, before_local=None, expect_etag=local.etag, write_remote=True,
        detail=detail, vector=vector,
    )  # fmt: skip


def _pull_delete_over_edit(status: Status, local: LocalItem, vector: VersionVector) -> Action:
    return Action(
        Kind.PULL_DELETE, status.href, status.uid, status, status.remote_id,
        before_local=local.text, expect_etag=local.etag, write_local=True,
        conflict_loser=local.text, vector=vector,
        detail="deleted in the read-only source while edited here: the edit is in the journal",
    )  # fmt: skip


def _rails(
    snapshot: Snapshot, listing: Listing, actions: list[Action], policy: Policy
) -> str | None:
    linked = len(snapshot.statuses)
    if linked < policy.min_items_for_rails:
        return None
    listed = sum(1 for change in listing.changes if isinstance(change, RemoteEvent))
    if listing.complete and listed == 0 and not listing.unreadable:
        return f"the source suddenly lists no events (it had {linked})"
    deletions = sum(1 for action in actions if action.deletes)
    if deletions > policy.max_delete_share * linked:
        return f"this round would delete {deletions} of {linked} events"
    return None


def plan(snapshot: Snapshot, listing: Listing, policy: Policy, confirmed: bool = False) -> Plan:
    """Decide every action of one round. Deletions are held back (and the cursor kept) while
    the source is quarantined, unless an admin ``confirmed`` this round."""
    remote = _remote_view(snapshot, listing)
    actions, refreshed = _Planner(snapshot, policy, remote).run()
    quarantine = None if confirmed else (snapshot.quarantine or _rails(
        snapshot, listing, actions, policy
    ))  # fmt: skip
    if quarantine is not None:
        actions = [action for action in actions if not action.deletes]
    cursor = listing.cursor if quarantine is None else snapshot.cursor
    return Plan(tuple(actions), quarantine, cursor, refreshed)
