"""The unified calendar's materialised view (``unified_items``) through the changes the view log
cannot follow item by item (both databases): each brings the rows up to date in its own
transaction (rebuilt from the whole view, or followed around the items a bulk import created),
so that they always equal what ``full_view`` resolves, and leaves no row behind an item or a
calendar that is gone; the migration builds them for a unified calendar that exists.
Item-by-item writes are checked in ``test_unified``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from alembic import command
from radicale import config as radicale_config
from sqlalchemy import func, insert, select

from kalends.bridges.base import RemoteEvent
from kalends.storage import Storage
from kalends.storage.engine import alembic_config, create_storage_engine, migrate_database
from kalends.storage.models import collections, items, unified_items
from kalends.storage.provisioning import Declared, provision, retire
from kalends.storage.view_log import invalidate_tokens
from kalends.storage.writes import delete_item, upsert_item
from kalends.sync.model import Action, Kind
from kalends.sync.sqlwrites import BULK, BatchWriter
from kalends.sync.store import Applied
from tests.storage.test_unified import (
    HREFS,
    MEMBERS,
    UIDS,
    add_members,
    check_reads,
    ics,
    materialised,
    open_storage,
    prepared,
    put,
    random_write,
    unified,
    view,
)


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    with open_storage(database_url) as store:
        yield store


def member_id(storage: Storage, name: str) -> int:
    with storage.transactions.read() as conn:
        found: int = conn.execute(
            select(collections.c.id).where(collections.c.path == f"u/{name}")
        ).scalar_one()
    return found


def row_count(storage: Storage) -> int:
    with storage.transactions.read() as conn:
        count: int = conn.execute(select(func.count()).select_from(unified_items)).scalar_one()
    return count


def put_colliding(storage: Storage) -> None:
    """A UID in a and c, a fingerprint in b and c, an href in a and b, a literal alias name."""
    put(storage, "c", "dup-c.ics", ics("dup", summary="c's copy"))
    put(storage, "a", "dup.ics", ics("dup", summary="a's copy"))
    put(storage, "c", "fp-c.ics", ics("fp-c", summary="same"))
    put(storage, "b", "fp-b.ics", ics("fp-b", summary="same"))
    put(storage, "a", "same.ics", ics("one"))
    put(storage, "b", "same.ics", ics("two", summary="different"))
    put(storage, "c", "same~b.ics", ics("three", summary="literal alias name"))


def test_a_priority_change_rebuilds_the_rows(storage: Storage) -> None:
    put_colliding(storage)
    assert materialised(storage)["same~b~b.ics"] == ("b", "same.ics")
    token, _ = unified(storage).sync("")
    assert provision(storage, Declared("u/b", "source", "b", source="b", priority=9)) == "updated"
    assert (
        materialised(storage)
        == view(storage)
        == {
            "dup.ics": ("a", "dup.ics"),
            "fp-b.ics": ("b", "fp-b.ics"),
            "same.ics": ("b", "same.ics"),  # b is first now: a's item takes the alias
            "same~a.ics": ("a", "same.ics"),
            "same~b.ics": ("c", "same~b.ics"),
        }
    )
    check_reads(storage)
    with pytest.raises(ValueError):  # the delta cannot say it: clients sync afresh
        unified(storage).sync(token)


def test_deleting_member_calendars_shows_what_they_hid_and_leaves_no_row(
    storage: Storage,
) -> None:
    put_colliding(storage)
    storage.delete_collection_tree("u/a")
    check_reads(storage)
    storage.delete_collection_tree("u/b")
    assert (
        materialised(storage)
        == view(storage)
        == {
            "dup-c.ics": ("c", "dup-c.ics"),
            "fp-c.ics": ("c", "fp-c.ics"),
            "same~b.ics": ("c", "same~b.ics"),
        }
    )
    check_reads(storage)
    assert row_count(storage) == 3


def test_retired_sources_and_unified_calendars(storage: Storage) -> None:
    put_colliding(storage)
    assert provision(storage, Declared("u/all2", "unified", "All")) == "created"
    assert materialised(storage, "/u/all2/") == view(storage)  # built when created
    put(storage, "b", "dup.ics", ics("dup-b", summary="b's own"))  # both follow each write
    assert materialised(storage, "/u/all2/") == materialised(storage) == view(storage)
    assert retire(storage, "u", {"b"}, "u/all") == ["u/a", "u/all2"]
    # a became a plain calendar of priority 0: b's copies win now, the rows followed
    assert materialised(storage)["same.ics"] == ("b", "same.ics")
    check_reads(storage)
    assert row_count(storage) == len(view(storage))  # u/all2's rows went with it


def remote_create(uid: str, text: str) -> Applied:
    action = Action(
        Kind.PULL_CREATE, None, uid, None, f"r-{uid}", "v1",
        local_text=text, remote_text=text, write_local=True,
    )  # fmt: skip
    return Applied(action, RemoteEvent(f"r-{uid}", "v1", text, uid))


def test_a_bulk_import_rebuilds_the_rows(storage: Storage) -> None:
    """The sync engine's bulk batch inserts items without watching the view; its flush
    invalidates the unified calendar's tokens, which rebuilds the rows."""
    put_colliding(storage)
    token, _ = unified(storage).sync("")
    batch = [remote_create(f"bulk{n}", ics(f"bulk{n}", summary=f"n{n}")) for n in range(BULK)]
    batch.append(remote_create("dup", ics("dup", summary="imported")))  # a holds it: refused
    batch.append(remote_create("two", ics("two", summary="c wins it now")))  # b's UID
    batch.append(remote_create("same~b", ics("lit", summary="same")))  # fp of fp-c and fp-b
    with storage.transactions.write("u", origin="c") as conn:
        writer = BatchWriter(conn, member_id(storage, "c"), "u/c", "run", bulk=True)
        writer.apply_all(batch)
        writer.flush(0)
    assert materialised(storage) == view(storage)
    assert "bulk0.ics" in view(storage)
    check_reads(storage)
    with pytest.raises(ValueError):
        unified(storage).sync(token)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_items_created_in_bulk_are_followed_without_a_rebuild(storage: Storage, seed: int) -> None:
    """New items inserted unwatched where their calendar held none, then ``invalidate_tokens``
    told which (the sync engine's bulk import): the rows around them follow exactly."""
    rng = random.Random(seed)
    for round_ in range(12):
        for version in range(4):
            random_write(storage, rng, 100 * round_ + version)
        member = rng.choice(list(MEMBERS))
        cid = member_id(storage, member)
        with storage.transactions.read() as conn:
            held = conn.execute(
                select(items.c.href, items.c.uid).where(items.c.collection_id == cid)
            ).all()
        free_hrefs = [h for h in [*HREFS, "w.ics", "w~a.ics"] if h not in {r.href for r in held}]
        free_uids = [u for u in [*UIDS, "u6", "u7"] if u not in {r.uid for r in held}]
        room = min(len(free_hrefs), len(free_uids), 4)
        if not room:
            continue
        count = rng.randint(1, room)
        created = rng.sample(free_hrefs, count)
        with storage.transactions.write("u") as conn:
            for href, uid in zip(created, rng.sample(free_uids, count), strict=True):
                text = ics(uid, rng.choice(["20240105T100000Z", "20240106T100000Z"]),
                           rng.choice(["s1", "s2"]))  # fmt: skip
                upsert_item(conn, cid, href, prepared(f"u/{member}", text), None, False)
            invalidate_tokens(conn, "u", (cid, created))
        assert materialised(storage) == view(storage), f"round {round_}"
    check_reads(storage)


def test_untracked_writes_then_one_invalidation(storage: Storage) -> None:
    """``track_view=False`` writes (updates, deletes, new items) and one ``invalidate_tokens``:
    the rows equal the view at commit."""
    put_colliding(storage)
    a, b = member_id(storage, "a"), member_id(storage, "b")
    with storage.transactions.write("u") as conn:
        delete_item(conn, a, "dup.ics", track_view=False)  # c's copy shows again
        delete_item(conn, a, "same.ics", track_view=False)  # b keeps "same.ics" itself
        upsert_item(conn, b, "fp-b.ics", prepared("u/b", ics("fp-b", summary="moved")), None, False)
        upsert_item(conn, b, "new.ics", prepared("u/b", ics("new")), None, False)
        invalidate_tokens(conn, "u")
    assert (
        materialised(storage)
        == view(storage)
        == {
            "dup-c.ics": ("c", "dup-c.ics"),
            "fp-b.ics": ("b", "fp-b.ics"),
            "fp-c.ics": ("c", "fp-c.ics"),  # no longer a duplicate of fp-b
            "new.ics": ("b", "new.ics"),
            "same.ics": ("b", "same.ics"),
            "same~b.ics": ("c", "same~b.ics"),
        }
    )
    check_reads(storage)


def test_the_migration_builds_the_rows_of_an_existing_unified_calendar(
    database_url: str,
) -> None:
    engine = create_storage_engine(database_url)
    try:
        with engine.begin() as conn:  # the schema before the table existed
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            command.upgrade(config, "0005")
        store = Storage(radicale_config.load(), engine)
        add_members(store)
        put_colliding(store)
        with engine.begin() as conn:  # the unified calendar as revision 0005 knew it
            conn.execute(
                insert(collections).values(
                    path="u/all", parent_path="u", uid="all", kind="unified", tag="VCALENDAR",
                    props='{"tag": "VCALENDAR"}', modified_at=time.time(),
                )
            )  # fmt: skip
        migrate_database(database_url)
        assert materialised(store) == view(store)
        assert len(view(store)) == 5 and "same~b~b.ics" in view(store)
        check_reads(store)
    finally:
        engine.dispose()


def test_a_calendar_replaced_by_another_kind_leaves_or_joins_the_view(storage: Storage) -> None:
    """A PUT of a whole collection that changes its tag takes all its items out of the view,
    or puts them in, at once."""
    put_colliding(storage)
    storage.create_collection("/u/c/", [], {"tag": "VADDRESSBOOK"})
    assert materialised(storage) == view(storage)
    assert materialised(storage)["same~b.ics"] == ("b", "same.ics")  # c's name is free now
    events = [
        prepared("u/c", ics("dup", summary="c again")),
        prepared("u/c", ics("c-only", summary="c only")),
    ]
    storage.create_collection("/u/c/", events, {"tag": "VCALENDAR"})
    assert materialised(storage) == view(storage)
    assert "c-only.ics" in view(storage)
    check_reads(storage)
