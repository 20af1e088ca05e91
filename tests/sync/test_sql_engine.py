"""The engine on the real database (SQLite and PostgreSQL) against the memory bridge: the
outbox, status, journal, quarantine, reconcile and undo as they are stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, select

from kalends.bridges.base import RemoteEvent
from kalends.bridges.memory import MemoryBridge, MemoryCalendar
from kalends.storage.base import Transactions
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.storage.models import (
    collections,
    items,
    journal,
    outbox,
    sync_status,
    tombstones,
)
from kalends.storage.writes import delete_item, upsert_item
from kalends.sync.executor import Report, Round
from kalends.sync.model import Action, Kind, Policy
from kalends.sync.sqlstore import SqlSyncStore, find_source_collection
from kalends.sync.sqlwrites import prepare_item
from kalends.sync.store import Applied
from kalends.sync.undo import undo_run
from tests.sync.test_state_machine import event_text, values_of

PATH = "alice/work"


@pytest.fixture
def transactions(database_url: str) -> Iterator[Transactions]:
    migrate_database(database_url)
    engine = create_storage_engine(database_url, pool_size=2)
    with engine.begin() as conn:
        for path, parent, kind, source in (
            ("alice", "", "calendar", None),
            (PATH, "alice", "source", "work"),
            ("alice/all", "alice", "unified", None),
        ):
            conn.execute(
                insert(collections).values(
                    path=path, parent_path=parent, uid=path.replace("/", "-"), kind=kind,
                    source=source, props='{"tag": "VCALENDAR"}', tag="VCALENDAR",
                    modified_at=time.time(),
                )
            )  # fmt: skip
    yield Transactions(engine)
    engine.dispose()


class World:
    def __init__(self, transactions: Transactions, policy: Policy | None = None) -> None:
        self.transactions = transactions
        self.calendar = MemoryCalendar()
        self.store = SqlSyncStore(transactions, find_source_collection(transactions, "work"))
        self.policy = policy or Policy()

    def sync(self, confirmed: bool = False) -> Report:
        bridge = MemoryBridge(self.calendar, page_size=3)
        return asyncio.run(Round(bridge, self.store, self.policy).run(confirmed))

    def put(self, href: str, text: str) -> None:
        """A CalDAV client's PUT."""
        with self.transactions.write("alice") as conn:
            cid = self.store.collection.id
            upsert_item(conn, cid, href, prepare_item(PATH, href, text))

    def delete(self, href: str) -> None:
        with self.transactions.write("alice") as conn:
            delete_item(conn, self.store.collection.id, href)

    def local(self) -> dict[str, dict[str, str]]:
        with self.transactions.read() as conn:
            rows = conn.execute(
                select(items.c.uid, items.c.text).where(
                    items.c.collection_id == self.store.collection.id
                )
            ).all()
        return {row.uid: values_of(row.text) for row in rows}

    def remote(self) -> dict[str, dict[str, str]]:
        return {e.uid: values_of(e.ical) for e in self.calendar.events.values()}

    def count(self, table: object) -> int:
        with self.transactions.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_changes_flow_both_ways_and_never_echo(transactions: Transactions) -> None:
    world = World(transactions)
    for n in range(4):
        world.calendar.add(event_text(f"r{n}@test", {"SUMMARY": f"Remote {n}"}, n))
    world.put("mine.ics", event_text("mine@test", {"SUMMARY": "Mine"}, 10))
    assert world.count(outbox) == 1, "a client's write to a source queues an outbox row"
    report = world.sync()
    assert report.counts == {"pull-create": 4, "push-create": 1}
    assert world.local() == world.remote()
    assert world.count(outbox) == 0 and world.count(sync_status) == 5
    assert world.sync().actions == [], "the engine's own writes do not come back"


def test_a_clash_keeps_the_loser_in_the_journal_and_undo_restores(
    transactions: Transactions,
) -> None:
    world = World(transactions)
    remote_id = world.calendar.add(event_text("c@test", {"SUMMARY": "Start"}, 1)).remote_id
    world.sync()
    href = next(iter(world.store.load().statuses.values())).href
    world.put(href, event_text("c@test", {"SUMMARY": "Ours", "LOCATION": "Here"}, 3))
    world.calendar.edit(remote_id, event_text("c@test", {"SUMMARY": "Theirs"}, 2))
    report = world.sync()
    assert [a.kind.value for a in report.actions] == ["merge"]
    assert world.local()["c@test"] == {"SUMMARY": "Ours", "LOCATION": "Here"}
    assert world.remote() == world.local()
    with transactions.read() as conn:
        losers = conn.execute(select(journal.c.before).where(journal.c.conflict.is_(True))).all()
    assert len(losers) == 1 and "SUMMARY:Theirs" in losers[0].before
    lines = undo_run(transactions, report.run_id)
    assert lines[-1].endswith("1 of 1 changes undone")
    assert world.local()["c@test"] == {"SUMMARY": "Theirs"}, "the overwritten version is back"
    world.sync()
    assert world.remote()["c@test"] == {"SUMMARY": "Theirs"}, "the undo reaches the source"


def test_a_source_that_lists_nothing_is_quarantined_until_confirmed(
    transactions: Transactions,
) -> None:
    world = World(transactions)
    ids = [world.calendar.add(event_text(f"q{n}@test", {"SUMMARY": "Q"}, n)).remote_id
           for n in range(6)]  # fmt: skip
    world.sync()
    for remote_id in ids:
        world.calendar.remove(remote_id)
    world.calendar.compact()  # and its change log is gone: a full listing with nothing in it
    report = world.sync()
    assert report.quarantine and "lists no events" in report.quarantine
    assert len(world.local()) == 6, "nothing deleted while quarantined"
    assert world.sync().quarantine, "the quarantine holds until an admin confirms"
    assert len(world.local()) == 6
    confirmed = world.sync(confirmed=True)
    assert confirmed.quarantine is None and world.local() == {}


def test_mass_deletion_share_is_quarantined(transactions: Transactions) -> None:
    world = World(transactions, Policy(max_delete_share=0.3))
    ids = [world.calendar.add(event_text(f"m{n}@test", {"SUMMARY": "M"}, n)).remote_id
           for n in range(10)]  # fmt: skip
    world.sync()
    for remote_id in ids[:4]:
        world.calendar.remove(remote_id)
    report = world.sync()
    assert report.quarantine == "this round would delete 4 of 10 events"
    assert len(world.local()) == 10


def test_an_invalid_cursor_reconciles_instead_of_reloading(transactions: Transactions) -> None:
    world = World(transactions)
    kept = world.calendar.add(event_text("k@test", {"SUMMARY": "Kept"}, 1)).remote_id
    gone = world.calendar.add(event_text("g@test", {"SUMMARY": "Gone"}, 2)).remote_id
    world.sync()
    world.calendar.edit(kept, event_text("k@test", {"SUMMARY": "Kept and edited"}, 3))
    world.calendar.remove(gone)
    world.calendar.compact()
    report = world.sync()
    assert report.full_listing
    assert sorted(a.kind.value for a in report.actions) == ["pull-delete", "pull-update"]
    assert world.local() == {"k@test": {"SUMMARY": "Kept and edited"}}


def test_local_delete_reaches_the_source(transactions: Transactions) -> None:
    world = World(transactions)
    world.put("d.ics", event_text("d@test", {"SUMMARY": "Doomed"}, 1))
    world.sync()
    world.delete("d.ics")
    assert [a.kind.value for a in world.sync().actions] == ["push-delete"]
    assert world.remote() == {} and world.count(sync_status) == 0


def _unified_log(transactions: Transactions) -> tuple[int, int, set[str]]:
    with transactions.read() as conn:
        row = conn.execute(
            select(collections.c.id, collections.c.rev, collections.c.pruned_rev).where(
                collections.c.path == "alice/all"
            )
        ).one()
        hrefs = conn.execute(
            select(tombstones.c.href).where(tombstones.c.collection_id == row.id)
        ).scalars()
        return row.rev, row.pruned_rev, set(hrefs)


def test_the_unified_calendar_follows_small_rounds_and_resyncs_after_imports(
    transactions: Transactions,
) -> None:
    world = World(transactions)
    for n in range(3):
        world.calendar.add(event_text(f"s{n}@test", {"SUMMARY": f"Small {n}"}, n))
    world.sync()
    rev, _pruned, hrefs = _unified_log(transactions)
    # (distinct summaries: events at one time with one title are collapsed in the unified view)
    assert hrefs == {f"s{n}@test.ics" for n in range(3)}, "exact deltas for a small round"
    for n in range(30):
        world.calendar.add(event_text(f"b{n}@test", {"SUMMARY": "Bulk"}, n))
    world.sync()
    new_rev, new_pruned, _ = _unified_log(transactions)
    assert new_pruned > rev and new_rev >= new_pruned, "an import invalidates old tokens once"


def test_a_pulled_event_the_store_refuses_is_journaled_and_the_batch_lands(
    transactions: Transactions,
) -> None:
    """Two source events with one UID: the second cannot be stored (a UID is unique in a
    calendar); it is journaled as rejected and everything else in the batch still lands."""
    world = World(transactions)
    first = event_text("twin@test", {"SUMMARY": "First"}, 1)
    second = event_text("twin@test", {"SUMMARY": "Second"}, 2)
    other = event_text("other@test", {"SUMMARY": "Other"}, 3)
    batch = [
        Applied(
            Action(
                Kind.PULL_CREATE,
                None,
                uid,
                None,
                rid,
                "v1",
                local_text=text,
                remote_text=text,
                write_local=True,
            ),
            RemoteEvent(rid, "v1", text, uid),
        )
        for rid, uid, text in (
            ("a", "twin@test", first),
            ("b", "twin@test", second),
            ("c", "other@test", other),
        )
    ]
    world.store.start_run("run-twins")
    outcomes = world.store.apply("run-twins", batch, 0)
    assert all(outcome.ok for outcome in outcomes)
    assert world.local() == {"twin@test": {"SUMMARY": "First"}, "other@test": {"SUMMARY": "Other"}}
    with transactions.read() as conn:
        actions = conn.execute(select(journal.c.action).order_by(journal.c.id)).scalars().all()
    assert actions == ["pull-create", "rejected", "pull-create"]
