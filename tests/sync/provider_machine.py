"""What the state machines over real provider bridges (Google, Outlook) share: the settings,
a few events synced before the first step, and clashing edits of one property on both sides.

A provider stamps LAST-MODIFIED itself with the wall clock, so its side wins every
same-property clash there (the loser is still journaled); see ``RemoteSide.clash_winner``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from tests.sync.test_state_machine import FIELDS, SyncMachine

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
SETTINGS = settings(
    max_examples=200 if LONG else 15,
    stateful_step_count=25 if LONG else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class ProviderMachine(SyncMachine):
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
        the provider's side wins, the loser goes to the journal."""
        uid = data.draw(st.sampled_from(self.on_both_sides()))
        if local_first:
            self.edit_here(uid, name, "a")
        self.edit_there(uid, name, "x")
        if not local_first:
            self.edit_here(uid, name, "b")
