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

from collections.abc import Iterator

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from tests.contract.outlook_harness import DictVault
from tests.fakes.graph import GraphFake, running_graph_fake
from tests.sync.provider_machine import SETTINGS, ProviderMachine
from tests.sync.remote_sides import OUTLOOK_FAULTS, OutlookSide, RemoteSide, outlook_vault

METHODS = st.sampled_from([None, "GET", "POST", "PATCH", "DELETE"])


class OutlookSyncMachine(ProviderMachine):
    fake: GraphFake | None = None  # set by the test for the duration of its run
    vault: DictVault | None = None

    def new_provider(self) -> RemoteSide:
        assert self.fake is not None and self.vault is not None, (
            "run this machine through test_outlook_sync_machine"
        )
        self.outlook = OutlookSide(self.fake, self.vault)
        return self.outlook

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
