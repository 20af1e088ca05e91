"""A large batch of new items (an import) is inserted in bulk: what it stores, journals and
refuses is what the same batch written item by item stores, journals and refuses (SQLite and
PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from kalends.bridges.base import RemoteEvent
from kalends.storage.base import Transactions
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.storage.models import (
    collections,
    items,
    journal,
    occurrences,
    sync_status,
    tombstones,
)
from kalends.storage.writes import upsert_item
from kalends.sync.model import Action, Kind
from kalends.sync.sqlstore import SqlSyncStore, find_source_collection
from kalends.sync.sqlwrites import BULK, BatchWriter, prepare_item
from kalends.sync.store import Applied, Outcome

SOURCES = ("bulk", "single")  # one collection written in bulk, one item by item


@pytest.fixture
def transactions(database_url: str) -> Iterator[Transactions]:
    migrate_database(database_url)
    engine = create_storage_engine(database_url, pool_size=2)
    with engine.begin() as conn:
        conn.execute(
            insert(collections).values(
                path="alice", parent_path="", uid="alice", modified_at=time.time()
            )
        )
        for source in SOURCES:
            conn.execute(
                insert(collections).values(
                    path=f"alice/{source}", parent_path="alice", uid=source, kind="source",
                    source=source, props='{"tag": "VCALENDAR"}', tag="VCALENDAR",
                    modified_at=time.time(),
                )
            )  # fmt: skip
    yield Transactions(engine)
    engine.dispose()


def text_of(uid: str, n: int, extra: tuple[str, ...] = ()) -> str:
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Kalends//bulk//EN",
            "BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD",
            "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD", "BEGIN:DAYLIGHT",
            "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT", "END:VTIMEZONE",
            "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
            f"DTSTART;TZID=Europe/Berlin:202603{1 + n % 28:02d}T{8 + n % 10:02d}0000",
            f"DTEND;TZID=Europe/Berlin:202603{1 + n % 28:02d}T{8 + n % 10:02d}4500",
            f"SUMMARY:Event {n}", *extra, "END:VEVENT", "END:VCALENDAR", "",
        ]
    )  # fmt: skip


def create(remote_id: str, uid: str, text: str) -> Applied:
    action = Action(
        Kind.PULL_CREATE, None, uid, None, remote_id, "v1",
        local_text=text, remote_text=text, write_local=True,
    )  # fmt: skip
    return Applied(action, RemoteEvent(remote_id, "v1", text, uid))


def import_batch() -> list[Applied]:
    """Plain, recurring and all-day events, with every case an item-by-item write refuses or
    steers: a UID twice in the batch, a UID the collection holds, an href a client's item of
    another UID holds, a UID a tombstone's href is made of, a text that is no event, texts
    naming another UID than their action."""
    batch = [create(f"r{n}", f"e{n}@test", text_of(f"e{n}@test", n)) for n in range(BULK + 5)]
    batch[3] = create("r3", "e3@test", text_of("e3@test", 3, ("RRULE:FREQ=WEEKLY;COUNT=5",)))
    batch[4] = create("r4", "e4@test", text_of("e4@test", 4).replace("T120000", "T110000"))
    batch.append(create("twin-a", "twin@test", text_of("twin@test", 40)))
    batch.append(create("twin-b", "twin@test", text_of("twin@test", 41)))
    batch.append(create("held", "held@test", text_of("held@test", 42)))
    batch.append(create("steered", "steered@test", text_of("steered@test", 43)))
    batch.append(create("buried", "buried@test", text_of("buried@test", 44)))
    broken = text_of("broken@test", 45).replace("DTSTART;TZID=Europe/Berlin:20260318", "DTSTART:x")
    batch.append(create("broken", "broken@test", broken))
    # Texts whose UID is not their action's: one the collection holds, one the batch took.
    batch.append(create("liar", "liar@test", text_of("held@test", 46)))
    batch.append(create("echo", "echo@test", text_of("e0@test", 47)))
    all_day = text_of("day@test", 45).replace(
        "DTSTART;TZID=Europe/Berlin:20260318T130000", "DTSTART;VALUE=DATE:20260318"
    )
    batch.append(create("day", "day@test", all_day.replace(
        "DTEND;TZID=Europe/Berlin:20260318T134500", "DTEND;VALUE=DATE:20260319"
    )))  # fmt: skip
    return batch


def prepare_collection(transactions: Transactions, source: str) -> int:
    """What the collection holds before the import: a client's items and a tombstone."""
    cid = find_source_collection(transactions, source).id
    path = f"alice/{source}"
    with transactions.write("alice") as conn:
        for href, uid in (("held.ics", "held@test"), ("steered@test.ics", "other@test")):
            upsert_item(conn, cid, href, prepare_item(path, href, text_of(uid, 50)))
        conn.execute(
            insert(tombstones).values(
                collection_id=cid, href="buried@test.ics", rev=1, deleted_at=time.time()
            )
        )
    return cid


def write(transactions: Transactions, source: str, one_by_one: bool) -> list[Outcome]:
    store = SqlSyncStore(transactions, find_source_collection(transactions, source))
    store.start_run(f"run-{source}")
    batch = import_batch()
    with transactions.write("alice", origin=source) as conn:
        writer = BatchWriter(conn, store.collection.id, store.collection.path, f"run-{source}",
                             bulk=True)  # fmt: skip
        outcomes = [writer.apply(one) for one in batch] if one_by_one else writer.apply_all(batch)
        writer.flush(0)
    return outcomes


def stored(transactions: Transactions, cid: int) -> dict[str, Any]:
    """Everything the batch wrote to the collection, without row ids and times."""
    with transactions.read() as conn:
        rows = conn.execute(
            select(items).where(items.c.collection_id == cid).order_by(items.c.href)
        ).all()
        hrefs = {row.id: row.href for row in rows}
        spans = conn.execute(select(occurrences).where(occurrences.c.collection_id == cid)).all()
        entries = conn.execute(
            select(journal.c.href, journal.c.uid, journal.c.action, journal.c.after,
                   journal.c.detail)
            .where(journal.c.collection_id == cid)
            .order_by(journal.c.id)
        ).all()  # fmt: skip
        links = conn.execute(
            select(sync_status.c.remote_id, sync_status.c.href, sync_status.c.local_etag)
            .where(sync_status.c.collection_id == cid)
            .order_by(sync_status.c.remote_id)
        ).all()
        buried = conn.execute(
            select(tombstones.c.href).where(tombstones.c.collection_id == cid)
        ).all()
    kept = ("href", "uid", "name", "component", "etag", "text", "tr_start", "tr_end", "long",
            "indexed_until", "fingerprint")  # fmt: skip
    return {
        "items": [tuple(getattr(row, name) for name in kept) for row in rows],
        "occurrences": sorted(
            (hrefs[s.item_id], s.start, s.end, s.long, s.fbtype or "") for s in spans
        ),
        "journal": [tuple(entry) for entry in entries],
        "status": [tuple(link) for link in links],
        "tombstones": [tuple(row) for row in buried],
    }


def test_a_bulk_import_stores_what_item_by_item_writes_store(
    transactions: Transactions,
) -> None:
    bulk_id = prepare_collection(transactions, "bulk")
    single_id = prepare_collection(transactions, "single")
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 (conn, cursor, statement)
    event.listen(transactions.engine, "before_cursor_execute", listener)
    in_bulk = write(transactions, "bulk", one_by_one=False)
    event.remove(transactions.engine, "before_cursor_execute", listener)
    assert len(statements) < len(import_batch()), "a few statements a batch, not a few an item"
    one_by_one = write(transactions, "single", one_by_one=True)
    assert [(o.action.remote_id, o.ok, o.local_etag, o.href) for o in in_bulk] == [
        (o.action.remote_id, o.ok, o.local_etag, o.href) for o in one_by_one
    ]
    bulk, single = stored(transactions, bulk_id), stored(transactions, single_id)
    assert bulk == single
    by_uid = {row[1]: row[0] for row in bulk["items"]}
    assert by_uid["twin@test"] == "twin@test.ics" and by_uid["steered@test"] == "steered@test-2.ics"
    assert "held@test" in by_uid and "broken@test" not in by_uid
    rejected = [entry[1] for entry in bulk["journal"] if entry[2] == "rejected"]
    assert rejected == ["twin@test", "held@test", "broken@test", "liar@test", "echo@test"]
    assert bulk["tombstones"] == [], "an item written at a deleted href lifts its tombstone"
    weekly = [span for span in bulk["occurrences"] if span[0] == "e3@test.ics"]
    assert len(weekly) == 5
