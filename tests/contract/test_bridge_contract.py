"""The contract every bridge keeps, run over every registered harness."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kalends.bridges.base import (
    Bridge,
    BridgeError,
    ChangePage,
    NotFound,
    PreconditionFailed,
    RemoteDeletion,
    RemoteEvent,
)
from kalends.ical import normalized
from tests.contract.harnesses import HARNESSES, Harness

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def event(uid: str, summary: str, start: str = "20260105T100000Z") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kalends//contract//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\n"
        f"DTEND:{start[:9]}113000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with HARNESSES[request.param](tmp_path) as made:
        yield made


async def listing(bridge: Bridge, cursor: str | None) -> tuple[list[Any], str, bool]:
    """Every change of one listing, following pages; the cursor must come on the last page only."""
    changes: list[Any] = []
    page: ChangePage = await bridge.list_changes(cursor)
    while True:
        changes.extend(page.changes)
        if page.next_page is None:
            assert page.cursor is not None, "the last page carries the cursor"
            return changes, page.cursor, page.complete
        assert page.cursor is None, "only the last page carries a cursor"
        page = await bridge.list_changes(cursor, page.next_page)


def summaries(changes: list[Any]) -> dict[str, str]:
    return {c.uid: normalized(c.ical) for c in changes if isinstance(c, RemoteEvent)}


def test_a_full_listing_holds_every_event_and_is_complete(harness: Harness) -> None:
    for n in range(7):
        harness.add(event(f"full-{n}@test", f"Event {n}"))
    changes, _, complete = run(listing(harness.bridge, None))
    assert complete
    assert sorted(summaries(changes)) == sorted(f"full-{n}@test" for n in range(7))


def test_changes_since_a_cursor_show_edits_and_deletions(harness: Harness) -> None:
    kept = harness.add(event("kept@test", "Kept"))
    gone = harness.add(event("gone@test", "Gone"))
    _, cursor, _ = run(listing(harness.bridge, None))
    harness.edit(kept, event("kept@test", "Kept and renamed"))
    harness.remove(gone)
    new = harness.add(event("new@test", "New"))
    changes, _, complete = run(listing(harness.bridge, cursor))
    events = {c.remote_id: c for c in changes if isinstance(c, RemoteEvent)}
    if complete:  # a bridge that always lists everything says so; absence means deleted
        assert gone not in events
    else:
        assert gone in {c.remote_id for c in changes if isinstance(c, RemoteDeletion)}
    assert "Kept and renamed" in events[kept].ical
    assert new in events


def test_get_and_find_by_uid_return_the_current_event(harness: Harness) -> None:
    remote_id = harness.add(event("find@test", "Find me"))
    got = run(harness.bridge.get(remote_id))
    assert got.uid == "find@test" and "Find me" in got.ical
    found = run(harness.bridge.find_by_uid("find@test"))
    assert found is not None and found.remote_id == remote_id
    assert run(harness.bridge.find_by_uid("nobody@test")) is None
    with pytest.raises(NotFound):
        run(harness.bridge.get("no-such-id"))


def test_create_update_delete_round_trip(harness: Harness) -> None:
    bridge = harness.bridge
    if not harness.writable:
        with pytest.raises(BridgeError):
            run(bridge.create(event("ro@test", "Refused"), "ro@test"))
        return
    created = run(bridge.create(event("crud@test", "Created"), "crud@test"))
    assert created.uid == "crud@test"
    assert run(bridge.get(created.remote_id)).version == created.version
    updated = run(bridge.update(created.remote_id, event("crud@test", "Updated"), created.version))
    assert updated.version != created.version
    assert "Updated" in run(bridge.get(created.remote_id)).ical
    run(bridge.delete(created.remote_id, updated.version))
    with pytest.raises(NotFound):
        run(bridge.get(created.remote_id))
    with pytest.raises(NotFound):
        run(bridge.delete(created.remote_id, None))


def test_stale_versions_are_refused(harness: Harness) -> None:
    if not harness.writable:
        pytest.skip("a read-only bridge has no preconditions to keep")
    remote_id = harness.add(event("stale@test", "First"))
    old_version = run(harness.bridge.get(remote_id)).version
    harness.edit(remote_id, event("stale@test", "Edited in the provider"))
    with pytest.raises(PreconditionFailed):
        run(harness.bridge.update(remote_id, event("stale@test", "Ours"), old_version))
    with pytest.raises(PreconditionFailed):
        run(harness.bridge.delete(remote_id, old_version))
    assert "Edited in the provider" in run(harness.bridge.get(remote_id)).ical


def test_created_events_appear_in_the_next_listing(harness: Harness) -> None:
    if not harness.writable:
        pytest.skip("read-only")
    _, cursor, _ = run(listing(harness.bridge, None))
    created = run(harness.bridge.create(event("echo@test", "Echo"), "echo@test"))
    changes, _, _ = run(listing(harness.bridge, cursor))
    listed = {c.remote_id: c for c in changes if isinstance(c, RemoteEvent)}
    assert listed[created.remote_id].version == created.version
