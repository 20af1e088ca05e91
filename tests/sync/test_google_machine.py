"""The sync state machine of ``test_state_machine`` against the Google bridge, over real HTTP to
the local Google fake, with Google's own faults on top of the process faults: rate limits (429
and 403), backend errors, replies lost after the request was applied, short and empty pages,
expired sync tokens (a full listing reconciles) and access tokens refused mid-round.

Google stamps LAST-MODIFIED itself with the wall clock, so here the Google side wins every
same-property clash (the loser is still journaled).

One fake serves the whole module, with a fresh calendar per example. The default run stays
short; HYPOTHESIS_PROFILE=long runs 200 examples of longer programs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from tests.fakes.google import GoogleFake, running_google_fake
from tests.sync.provider_machine import SETTINGS, ProviderMachine
from tests.sync.remote_sides import GOOGLE_FAULTS, GoogleSide, RemoteSide

METHODS = st.sampled_from([None, "GET", "POST", "PUT", "DELETE"])


class GoogleSyncMachine(ProviderMachine):
    fake: GoogleFake | None = None  # set by the test for the duration of its run

    def new_provider(self) -> RemoteSide:
        assert self.fake is not None, "run this machine through test_google_sync_machine"
        self.google = GoogleSide(self.fake)
        return self.google

    @rule(kind=st.sampled_from(GOOGLE_FAULTS), count=st.integers(1, 3), method=METHODS)
    def google_misbehaves(self, kind: str, count: int, method: str | None) -> None:
        self.google.arm(kind, count, method)


@pytest.fixture(scope="module")
def google_fake() -> Iterator[GoogleFake]:
    with running_google_fake() as fake:
        yield fake


def test_google_sync_machine(google_fake: GoogleFake) -> None:
    GoogleSyncMachine.fake = google_fake
    try:
        run_state_machine_as_test(GoogleSyncMachine, settings=SETTINGS)
    finally:
        GoogleSyncMachine.fake = None
