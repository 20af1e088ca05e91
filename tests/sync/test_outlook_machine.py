"""The sync state machine of ``test_state_machine`` against the Outlook bridge, over HTTPS to
the local Graph fake, with Graph's own faults on top of the process faults: throttling (429 with
and without a Retry-After), outages (503, 504), replies lost after the request was applied,
empty pages, replayed and noisy delta pages, expired delta tokens (410 and 400: a full listing
reconciles) and access tokens refused mid-round.

Outlook stamps LAST-MODIFIED itself with the wall clock, so here the Outlook side wins every
same-property clash (the loser is still journaled).

One fake serves the whole module, signed in once, with a fresh calendar per example. The
default run stays short; HYPOTHESIS_PROFILE=long runs 200 examples of longer programs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule, run_state_machine_as_test

from tests.contract.outlook_harness import DictVault
from tests.fakes.graph import GraphFake, running_graph_fake
from tests.sync.remote_sides import OUTLOOK_FAULTS, OutlookSide, RemoteSide, outlook_vault
from tests.sync.test_state_machine import FIELDS, SyncMachine

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
SETTINGS = settings(
    max_examples=200 if LONG else 15,
    stateful_step_count=25 if LONG else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
METHODS = st.sampled_from([None, "GET", "POST", "PATCH", "DELETE"])


class OutlookSyncMachine(SyncMachine):
    fake: GraphFake | None = None  # set by the test for the duration of its run
    vault: DictVault | None = None

    def new_provider(self) -> RemoteSide:
        assert self.fake is not None and self.vault is not None, (
            "run this machine through test_outlook_sync_machine"
        )
        self.outlook = OutlookSide(self.fake, self.vault)
        return self.outlook

    @initialize(here=st.integers(0, 3), there=st.integers(0, 3))
    def synced_events(self, here: int, there: int) -> None:
        """A few events on both sides, synced: the short default run gets to edits, deletes,
        clashes and faulty pushes of known events from its first steps."""
        for summary in ("Lunch", "Standup", "Review")[:here]:
            self.local_create(summary)
        for summary in ("Gym", "Call", "Dentist")[:there]:
            self.remote_create(summary)
        if here or there:
            self.sync({})

    def on_both_sides(self) -> list[str]:
        return sorted(set(self.local_uids()) & set(self.provider.uids()))

    @precondition(lambda self: bool(self.on_both_sides()))
    @rule(data=st.data(), name=st.sampled_from(FIELDS), local_first=st.booleans())
    def clashing_edits(self, data: st.DataObject, name: str, local_first: bool) -> None:
        """Both sides edit the same property of one event (rare from the single edits alone):
        Outlook's side wins, the loser goes to the journal."""
        uid = data.draw(st.sampled_from(self.on_both_sides()))
        if local_first:
            self.edit_here(uid, name, "a")
        self.edit_there(uid, name, "x")
        if not local_first:
            self.edit_here(uid, name, "b")

    @rule(kind=st.sampled_from(OUTLOOK_FAULTS), count=st.integers(1, 3), method=METHODS)
    def outlook_misbehaves(self, kind: str, count: int, method: str | None) -> None:
        self.outlook.arm(kind, count, method)


@pytest.fixture(scope="module")
def graph_fake() -> Iterator[GraphFake]:
    with running_graph_fake() as fake:
        yield fake


def test_outlook_sync_machine(graph_fake: GraphFake) -> None:
    OutlookSyncMachine.fake = graph_fake
    OutlookSyncMachine.vault = outlook_vault(graph_fake)
    try:
        run_state_machine_as_test(OutlookSyncMachine, settings=SETTINGS)
    finally:
        OutlookSyncMachine.fake = OutlookSyncMachine.vault = None
