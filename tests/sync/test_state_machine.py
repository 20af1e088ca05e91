"""Random edits on both sides of a bridge, with faults and restarts, then sync.

After every sync (a faulty round that may die at any call, a restart, then rounds until quiet):
both sides hold the same events, and the model of what each side did says exactly which events
must exist (none lost, none duplicated, none resurrected) and which property values may win a
clash, whose loser must then be in the journal.

The provider's side is a ``RemoteSide`` (``tests.sync.remote_sides``): here the memory bridge;
``test_google_machine`` runs the same machine against the Google fake.

The number of examples follows the hypothesis profile: HYPOTHESIS_PROFILE=long runs 1,000.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kalends.ical import parse
from kalends.sync.executor import Report, Retry, Round
from kalends.sync.memory_store import MemoryStore
from kalends.sync.model import Policy
from tests.sync.faults import Crash, CrashingStore, Faults, FaultyBridge
from tests.sync.remote_sides import MemorySide, RemoteSide

FIELDS = ("SUMMARY", "LOCATION", "DESCRIPTION")
FAULT_KINDS = st.sampled_from(["fail", "lost-reply", "crash", "crash-after"])


async def _no_wait(_seconds: float) -> None:
    return None


async def _run(round_: Round) -> Report:
    """One round in its own process: the bridge is closed however the round ends."""
    try:
        return await round_.run()
    finally:
        await round_.bridge.aclose()


def event_text(uid: str, values: dict[str, str], stamp: int) -> str:
    lines = [f"{name}:{value}" for name, value in sorted(values.items())]
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Kalends//machine//EN", "BEGIN:VEVENT",
            f"UID:{uid}", "DTSTAMP:20260101T000000Z", "DTSTART:20260301T090000Z",
            "DTEND:20260301T100000Z", _stamp(stamp), *lines, "END:VEVENT", "END:VCALENDAR", "",
        ]
    )  # fmt: skip


def _stamp(n: int) -> str:
    """A LAST-MODIFIED that grows with n (one second per step)."""
    minutes, seconds = divmod(n, 60)
    hours, minutes = divmod(minutes, 60)
    return f"LAST-MODIFIED:20260101T{hours:02d}{minutes:02d}{seconds:02d}Z"


def values_of(text: str) -> dict[str, str]:
    event = parse(text).sub("VEVENT")[0]
    return {name: value for name in FIELDS if (value := event.first(name)) is not None}


@dataclass
class Pending:
    """What one side did to one event since the last sync."""

    created: bool = False
    deleted: bool = False
    edits: dict[str, str] = field(default_factory=dict)
    stamp: int = 0


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.provider = self.new_provider()
        self.store = MemoryStore()
        self.policy = Policy(min_items_for_rails=10**9)
        self.clock = 0
        self.serial = 0
        self.expected: dict[str, dict[str, str]] = {}  # uid -> values after the last sync
        self.local: dict[str, Pending] = {}
        self.remote: dict[str, Pending] = {}
        self.href_of: dict[str, str] = {}

    def new_provider(self) -> RemoteSide:
        return MemorySide()

    # -- helpers -------------------------------------------------------------------------------

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def local_uids(self) -> dict[str, str]:
        return {parse(text).sub("VEVENT")[0].first("UID") or "": href
                for href, (_, text) in self.store.items.items()}  # fmt: skip

    # -- edits ---------------------------------------------------------------------------------

    @rule(summary=st.sampled_from(["Lunch", "Standup", "Review"]))
    def local_create(self, summary: str) -> None:
        self.serial += 1
        uid, stamp = f"local-{self.serial}@test", self.tick()
        self.store.client_put(
            f"local-{self.serial}.ics", event_text(uid, {"SUMMARY": summary}, stamp)
        )
        self.local[uid] = Pending(created=True, edits={"SUMMARY": summary}, stamp=stamp)

    @rule(summary=st.sampled_from(["Gym", "Call", "Dentist"]))
    def remote_create(self, summary: str) -> None:
        self.serial += 1
        uid, stamp = f"remote-{self.serial}@test", self.tick()
        self.provider.add(event_text(uid, {"SUMMARY": summary}, stamp))
        self.remote[uid] = Pending(created=True, edits={"SUMMARY": summary}, stamp=stamp)

    @precondition(lambda self: bool(self.store.items))
    @rule(data=st.data(), name=st.sampled_from(FIELDS), value=st.sampled_from(["a", "b", "c"]))
    def local_edit(self, data: st.DataObject, name: str, value: str) -> None:
        self.edit_here(data.draw(st.sampled_from(sorted(self.local_uids()))), name, value)

    def edit_here(self, uid: str, name: str, value: str) -> None:
        href = self.local_uids()[uid]
        values = values_of(self.store.items[href][1]) | {name: f"{value}-L{self.clock}"}
        stamp = self.tick()
        self.store.client_put(href, event_text(uid, values, stamp))
        pending = self.local.setdefault(uid, Pending())
        pending.edits[name], pending.stamp = values[name], stamp

    @precondition(lambda self: bool(self.provider.uids()))
    @rule(data=st.data(), name=st.sampled_from(FIELDS), value=st.sampled_from(["x", "y"]))
    def remote_edit(self, data: st.DataObject, name: str, value: str) -> None:
        self.edit_there(data.draw(st.sampled_from(sorted(self.provider.uids()))), name, value)

    def edit_there(self, uid: str, name: str, value: str) -> None:
        values = values_of(self.provider.events()[uid]) | {name: f"{value}-R{self.clock}"}
        stamp = self.tick()
        self.provider.edit(uid, event_text(uid, values, stamp))
        pending = self.remote.setdefault(uid, Pending())
        pending.edits[name], pending.stamp = values[name], stamp

    @precondition(lambda self: bool(self.store.items))
    @rule(data=st.data())
    def local_delete(self, data: st.DataObject) -> None:
        uids = self.local_uids()
        uid = data.draw(st.sampled_from(sorted(uids)))
        self.store.client_delete(uids[uid])
        self.local.setdefault(uid, Pending()).deleted = True

    @precondition(lambda self: bool(self.provider.uids()))
    @rule(data=st.data())
    def remote_delete(self, data: st.DataObject) -> None:
        uid = data.draw(st.sampled_from(sorted(self.provider.uids())))
        self.provider.remove(uid)
        self.remote.setdefault(uid, Pending()).deleted = True

    @rule()
    def remote_forgets_its_change_log(self) -> None:
        self.provider.forget_change_log()  # the next listing reconciles from a full one

    # -- sync ----------------------------------------------------------------------------------

    @rule(plan=st.dictionaries(st.integers(1, 12), FAULT_KINDS, max_size=3))
    def sync(self, plan: dict[int, str]) -> None:
        faults = Faults(plan)
        retry = Retry(attempts=3, sleep=_no_wait)
        faulty = Round(
            FaultyBridge(self.provider.new_bridge(), faults),
            CrashingStore(self.store, faults), self.policy, retry,
        )  # fmt: skip
        try:
            asyncio.run(_run(faulty))
        except Crash:
            event(
                "restart after a crash"
            )  # restart: a new process with nothing but what was stored
        self.provider.calm()  # the clean rounds see no fault left armed at the provider
        for _ in range(6):
            clean = Round(self.provider.new_bridge(), self.store, self.policy, retry)
            report = asyncio.run(_run(clean))
            for kind in report.counts:
                event(f"applied {kind}")
            assert report.error is None and not report.failed, (report.error, report.failed)
            if not report.actions:
                break
        else:
            raise AssertionError("sync does not settle")
        self.check_after_sync()

    def check_after_sync(self) -> None:
        local = {
            uid: values_of(self.store.items[href][1]) for uid, href in self.local_uids().items()
        }
        remote = {uid: values_of(text) for uid, text in self.provider.events().items()}
        assert local == remote, "both sides hold the same events"
        assert len(self.local_uids()) == len(self.store.items), "no UID twice here"
        for uid in set(self.expected) | set(self.local) | set(self.remote):
            self.check_event(uid, local.get(uid))
        self.expected = local
        self.local, self.remote = {}, {}

    def check_event(self, uid: str, now: dict[str, str] | None) -> None:
        ours, theirs = self.local.get(uid, Pending()), self.remote.get(uid, Pending())
        edited_ours = bool(ours.edits) and not ours.deleted
        edited_theirs = bool(theirs.edits) and not theirs.deleted
        gone = (ours.deleted and not edited_theirs) or (theirs.deleted and not edited_ours)
        if ours.deleted and theirs.deleted:
            gone = True
        if gone:
            assert now is None, f"{uid} was deleted and came back"
            return
        assert now is not None, f"{uid} was lost"
        base = dict(self.expected.get(uid, {}))
        if ours.deleted or theirs.deleted:  # the edit beat the delete: the editor's version
            return
        winner = self.provider.clash_winner(ours.stamp, theirs.stamp)
        for name in set(ours.edits) | set(theirs.edits) | set(base):
            mine, other = ours.edits.get(name), theirs.edits.get(name)
            if mine is not None and other is not None and mine != other:
                kept, lost = (mine, other) if winner == "local" else (other, mine)
                assert now.get(name) == kept, f"{uid} {name}: the newer side wins the clash"
                assert self.journal_holds(uid, lost), f"{uid}: the loser {lost} is journaled"
            else:
                want = mine if mine is not None else other if other is not None else base.get(name)
                assert now.get(name) == want, f"{uid} {name}: {now.get(name)} != {want}"

    def journal_holds(self, uid: str, value: str) -> bool:
        return any(
            entry.conflict and entry.uid == uid and entry.before and value in entry.before
            for entry in self.store.journal
        )

    @invariant()
    def never_a_duplicate_uid_remotely(self) -> None:
        uids = self.provider.uids()
        assert len(uids) == len(set(uids)), sorted(uids)


TestSync = SyncMachine.TestCase
