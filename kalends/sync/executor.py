"""One sync round at the I/O edge: list the source, plan, apply with idempotent retries.

Order of effects, chosen so a crash between any two steps loses nothing:
- a push lands at the source first, then its status, journal and outbox rows in one transaction
  (a crash in between shows up next round as the source echoing our own change: linked, not
  duplicated, because creates look up the UID before trying again);
- a merge writes our side first with the old base kept and the outbox row left in place, then
  the source, then the status (a crash in between merges again, to the same result);
- pulled changes land in batches, each one transaction; the cursor is saved last, and only
  when every change of the listing has landed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from kalends.bridges.base import (
    Bridge,
    BridgeError,
    ChangePage,
    InvalidCursor,
    NotFound,
    PreconditionFailed,
    RemoteChange,
    RemoteEvent,
)
from kalends.ical import ICalError, content_hash
from kalends.sync.model import Action, Kind, Listing, Plan, Policy, Snapshot, Status
from kalends.sync.planner import plan as make_plan
from kalends.sync.store import Applied, Outcome, RoundEnd, RoundState, SyncStore

T = TypeVar("T")
PULL_BATCH = 200
_PULL_SIDE = frozenset({Kind.PULL_CREATE, Kind.PULL_UPDATE, Kind.PULL_DELETE, Kind.MERGE})


@dataclass(frozen=True, slots=True)
class Retry:
    attempts: int = 4
    delay: float = 0.5  # doubled after every failed attempt
    max_delay: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass
class Report:
    """What a round did (or, in a dry run, would do)."""

    run_id: str
    actions: list[Action] = field(default_factory=list)
    failed: list[tuple[Action, str]] = field(default_factory=list)
    quarantine: str | None = None
    error: str | None = None
    dry_run: bool = False
    full_listing: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for action in self.actions:
            counts[action.kind.value] = counts.get(action.kind.value, 0) + 1
        return counts


async def _retrying(call: Callable[[], Awaitable[T]], retry: Retry) -> T:
    delay = retry.delay
    for attempt in range(1, retry.attempts + 1):
        try:
            return await call()
        except BridgeError as error:
            if not error.retryable or attempt == retry.attempts:
                raise
            wait = getattr(error, "retry_after", None) or delay
            await retry.sleep(min(wait, retry.max_delay))
            delay = min(delay * 2, retry.max_delay)
    raise AssertionError("unreachable")


async def fetch_listing(bridge: Bridge, cursor: str | None, retry: Retry) -> Listing:
    """Every page of the changes since ``cursor``; an invalid cursor means a full listing,
    reconciled against the status table by the planner (never a wipe and reload)."""
    try:
        return await _all_pages(bridge, cursor, retry)
    except InvalidCursor:
        return await _all_pages(bridge, None, retry)


async def _all_pages(bridge: Bridge, cursor: str | None, retry: Retry) -> Listing:
    changes: list[RemoteChange] = []
    unreadable: set[str] = set()
    token: str | None = None
    while True:
        page: ChangePage = await _retrying(
            lambda token=token: bridge.list_changes(cursor, token),  # type: ignore[misc]
            retry,
        )
        changes.extend(page.changes)
        unreadable.update(page.unreadable)
        if page.next_page is None:
            return Listing(changes, page.complete, page.cursor, frozenset(unreadable))
        token = page.next_page


def _same(a: str, b: str) -> bool:
    try:
        return content_hash(a) == content_hash(b)
    except ICalError:
        return a == b


async def _create(bridge: Bridge, action: Action, retry: Retry) -> RemoteEvent:
    assert action.remote_text is not None
    existing = await _retrying(lambda: bridge.find_by_uid(action.uid), retry)
    if existing is not None:  # an earlier attempt landed (or the source has it already)
        return existing
    attempts = 0

    async def attempt() -> RemoteEvent:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            found = await bridge.find_by_uid(action.uid)
            if found is not None:
                return found
        assert action.remote_text is not None
        return await bridge.create(action.remote_text, action.uid)

    return await _retrying(attempt, retry)


async def _update(bridge: Bridge, action: Action, if_match: str, retry: Retry) -> RemoteEvent:
    assert action.remote_id is not None and action.remote_text is not None
    remote_id, text = action.remote_id, action.remote_text
    attempts = 0

    async def attempt() -> RemoteEvent:
        nonlocal attempts
        attempts += 1
        try:
            return await bridge.update(remote_id, text, if_match)
        except PreconditionFailed:
            if attempts == 1:
                raise
            current = await bridge.get(remote_id)  # did an attempt that "failed" land?
            if _same(current.ical, text):
                return current
            raise

    return await _retrying(attempt, retry)


async def _delete(bridge: Bridge, action: Action, retry: Retry) -> None:
    assert action.remote_id is not None
    remote_id, version = action.remote_id, action.remote_version

    async def attempt() -> None:
        try:
            await bridge.delete(remote_id, version)
        except NotFound:  # gone already: an earlier attempt, or the source's own delete
            return

    await _retrying(attempt, retry)


async def push(bridge: Bridge, action: Action, retry: Retry) -> RemoteEvent | None:
    """Make the source hold ``action.remote_text``; what it holds afterwards."""
    if action.remote_text is None:
        await _delete(bridge, action, retry)
        return None
    if action.kind is Kind.PUSH_CREATE or action.remote_id is None:
        return await _create(bridge, action, retry)
    assert action.remote_version is not None
    return await _update(bridge, action, action.remote_version, retry)


def listed(action: Action) -> RemoteEvent | None:
    """The source's side of an action that does not write to it."""
    if action.remote_id is None or action.remote_text is None:
        return None
    return RemoteEvent(
        action.remote_id, action.remote_version or "", action.remote_text, action.uid
    )


@dataclass
class Round:
    bridge: Bridge
    store: SyncStore
    policy: Policy
    retry: Retry = field(default_factory=Retry)

    async def run(self, confirmed: bool = False, dry_run: bool = False) -> Report:
        report = Report(uuid.uuid4().hex, dry_run=dry_run)
        state = await asyncio.to_thread(self.store.load)
        try:
            listing = await fetch_listing(self.bridge, state.cursor, self.retry)
        except BridgeError as error:
            report.error = f"listing the source failed: {error}"
            if not dry_run:
                end = RoundEnd(state.cursor, False, state.quarantine, report.error)
                await asyncio.to_thread(self.store.finish, report.run_id, end)
            return report
        report.full_listing = listing.complete
        changed = _changed_ids(listing, state)
        try:
            plan = await self._plan(state, listing, changed, confirmed)
        except ICalError as error:
            report.error = f"an event could not be read: {error}"
            if not dry_run:
                end = RoundEnd(state.cursor, False, state.quarantine, report.error)
                await asyncio.to_thread(self.store.finish, report.run_id, end)
            return report
        report.actions, report.quarantine = list(plan.actions), plan.quarantine
        if dry_run:
            return report
        if plan.actions:  # a quiet round leaves no run behind
            await asyncio.to_thread(self.store.start_run, report.run_id)
        await self._apply(plan, state.outbox_through, report)
        # The cursor moves on only when nothing this listing told still waits to land: a pull
        # that failed, or a push planned from it (an edit re-creating an event deleted there)
        # would otherwise never be seen again, the next listing starting after it.
        kept_back = any(
            action.kind in _PULL_SIDE or _rests_on(action, changed) for action, _ in report.failed
        )
        end = RoundEnd(
            plan.cursor, plan.cursor is not None and not kept_back, plan.quarantine,
            report.error, plan.remote_versions, report.counts,
        )  # fmt: skip
        await asyncio.to_thread(self.store.finish, report.run_id, end)
        return report

    async def _plan(
        self, state: RoundState, listing: Listing, changed: set[str], confirmed: bool
    ) -> Plan:
        touched = [s.href for s in state.statuses.values() if s.remote_id in changed]
        texts = await asyncio.to_thread(self.store.current, touched)
        statuses = await self._with_bases(state, changed)
        snapshot = Snapshot(statuses, state.local_changes, texts, state.cursor, state.quarantine)
        # Off the event loop: a full listing of thousands of events takes a while to compare.
        return await asyncio.to_thread(make_plan, snapshot, listing, self.policy, confirmed)

    async def _apply(self, plan: Plan, through: int, report: Report) -> None:
        pulls: list[Applied] = []
        for action in plan.actions:
            if not action.write_remote:
                pulls.append(Applied(action, listed(action)))
                continue
            try:
                await self._push_one(action, through, report)
            except BridgeError as error:
                report.failed.append((action, str(error) or type(error).__name__))
                if not isinstance(error, PreconditionFailed | NotFound) and error.retryable:
                    report.error = f"the source failed: {error}"
        for start in range(0, len(pulls), PULL_BATCH):
            batch = pulls[start : start + PULL_BATCH]
            outcomes = await asyncio.to_thread(self.store.apply, report.run_id, batch, through)
            _note_failures(outcomes, report)

    async def _push_one(self, action: Action, through: int, report: Report) -> None:
        local_etag: str | None = None
        prepared = False
        if action.write_local or action.conflict_loser is not None:
            # Our side and the journal first (the loser is kept before the source's copy is
            # overwritten), the status marked so that a crash before the push re-merges.
            pending = Applied(action, None, write_local=action.write_local, local_pending=True)
            outcome = (
                await asyncio.to_thread(self.store.apply, report.run_id, [pending], through)
            )[0]
            if not outcome.ok:
                report.failed.append((action, "changed here meanwhile; merged next round"))
                return
            local_etag, prepared = outcome.local_etag, True
        remote = await push(self.bridge, action, self.retry)
        done = Applied(
            action, remote, write_local=not prepared, local_etag=local_etag, journaled=prepared
        )
        outcomes = await asyncio.to_thread(self.store.apply, report.run_id, [done], through)
        _note_failures(outcomes, report)

    async def _with_bases(self, state: RoundState, changed: set[str]) -> dict[str, Status]:
        """The statuses, with the merge base read for those this round may merge or restore."""
        needed = {
            s.remote_id
            for s in state.statuses.values()
            if s.remote_id in changed or s.href in state.local_changes
        }
        bases = await asyncio.to_thread(self.store.bases, needed)
        return {
            remote_id: status._replace(base=bases[remote_id]) if remote_id in bases else status
            for remote_id, status in state.statuses.items()
        }


def _changed_ids(listing: Listing, state: RoundState) -> set[str]:
    """Remote ids whose status row may need our current text (changed or gone)."""
    changed = set()
    for change in listing.changes:
        status = state.statuses.get(change.remote_id)
        if (
            not isinstance(change, RemoteEvent)
            or status is None
            or change.version != status.remote_version
        ):
            changed.add(change.remote_id)
    if listing.complete:
        present = {change.remote_id for change in listing.changes}
        changed.update(rid for rid in state.statuses if rid not in present)
    return changed


def _rests_on(action: Action, changed: set[str]) -> bool:
    """Whether the action was planned from what this listing said about its event."""
    linked = action.status.remote_id if action.status is not None else None
    return action.remote_id in changed or linked in changed


def _note_failures(outcomes: Sequence[Outcome], report: Report) -> None:
    for outcome in outcomes:
        if not outcome.ok:
            report.failed.append((outcome.action, "changed here meanwhile; synced next round"))
