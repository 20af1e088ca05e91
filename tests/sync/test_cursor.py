"""The cursor waits for what its listing told: a push planned from it that failed is planned
again from the same listing, not lost behind a cursor that moved on."""

from __future__ import annotations

import asyncio

from kalends.bridges.memory import MemoryBridge, MemoryCalendar
from kalends.sync.executor import Retry, Round
from kalends.sync.memory_store import MemoryStore
from kalends.sync.model import Policy
from tests.sync.faults import Faults, FaultyBridge
from tests.sync.test_state_machine import event_text, values_of


async def _no_wait(_seconds: float) -> None:
    return None


def test_an_edit_that_must_recreate_a_deleted_event_survives_a_failed_push() -> None:
    calendar, store = MemoryCalendar(), MemoryStore()
    policy, retry = Policy(min_items_for_rails=10**9), Retry(attempts=1, sleep=_no_wait)
    remote_id = calendar.add(event_text("r@test", {"SUMMARY": "Planning"}, 1)).remote_id
    asyncio.run(Round(MemoryBridge(calendar), store, policy, retry).run())
    calendar.remove(remote_id)  # deleted in the source...
    [href] = store.items
    store.client_put(
        href, event_text("r@test", {"SUMMARY": "Planning, edited"}, 2)
    )  # ...edited here
    failing = FaultyBridge(MemoryBridge(calendar), Faults({2: "fail", 3: "fail"}))
    first = asyncio.run(Round(failing, store, policy, retry).run())
    assert first.failed, "the re-create did not get through"
    second = asyncio.run(Round(MemoryBridge(calendar), store, policy, retry).run())
    assert not second.failed, second.failed
    [kept] = calendar.events.values()
    assert kept.uid == "r@test" and values_of(kept.ical)["SUMMARY"] == "Planning, edited"
