"""The unified view in the storage layer (both databases), without HTTP.

- the fingerprint of an event;
- the view rules on small, deliberately colliding data (same UIDs, same fingerprints, same
  hrefs, literal names of the alias form);
- random write sequences, checking after each write that the materialised view (the
  ``unified_items`` rows) and every read answered from it equal what ``full_view`` resolves,
  that the few-query answers (``owners``) do too, and that a client following sync-collection
  deltas holds exactly the full listing.

The wholesale paths (priority changes, deleted members, bulk imports, the migration) are in
``test_unified_table``.
"""

from __future__ import annotations

import contextlib
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from radicale import config as radicale_config
from radicale import item as radicale_item
from sqlalchemy import func, select

from kalends.storage import Storage
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.storage.fingerprint import event_fingerprint
from kalends.storage.models import items, unified_items
from kalends.storage.provisioning import Declared, provision
from kalends.storage.refusals import Refused
from kalends.storage.unified import DEFAULT_TARGET, UnifiedCollection
from kalends.storage.view import alias, full_view, unaliased
from kalends.storage.view_engine import ViewEngine
from kalends.storage.view_table import stored_view

MEMBERS = {"a": ("source", 2), "b": ("source", 2), "c": ("calendar", 0)}


def ics(uid: str, start: str = "20240105T100000Z", summary: str = "s", extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\n"
        f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def prepared(path: str, text: str) -> radicale_item.Item:
    component = radicale_item.read_components(text)[0]
    item = radicale_item.Item(collection_path=path, vobject_item=component)
    item.prepare()
    return item


def add_members(store: Storage) -> None:
    """User "u" and the ``MEMBERS`` calendars (sources provisioned, the rest plain)."""
    store.create_collection("/u/")
    for name, (kind, priority) in MEMBERS.items():
        if kind == "source":
            provision(store, Declared(f"u/{name}", kind, name, source=name, priority=priority))
        else:
            store.create_collection(f"/u/{name}/", props={"tag": "VCALENDAR"})


@contextmanager
def open_storage(database_url: str) -> Iterator[Storage]:
    """User "u" with the ``MEMBERS`` calendars and its unified calendar "all"."""
    migrate_database(database_url)
    engine = create_storage_engine(database_url)
    store = Storage(radicale_config.load(), engine)
    add_members(store)
    provision(store, Declared("u/all", "unified", "All", private={DEFAULT_TARGET: "b"}))
    try:
        yield store
    finally:
        engine.dispose()


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    with open_storage(database_url) as store:
        yield store


def unified(storage: Storage) -> UnifiedCollection:
    found = next(iter(storage.discover("/u/all/")))
    assert isinstance(found, UnifiedCollection)
    return found


def put(storage: Storage, member: str, href: str, text: str) -> None:
    collection = next(iter(storage.discover(f"/u/{member}/")))
    with storage.acquire_lock("w", "u", path=f"/u/{member}/"):
        collection.upload(href, prepared(f"u/{member}", text))  # type: ignore[union-attr]


def view(storage: Storage) -> dict[str, tuple[str, str]]:
    """view href -> (member name, member href)."""
    with storage.transactions.read() as conn:
        unified_view = unified(storage)
        listed = full_view(conn, unified_view.members(conn))
        names = {m.id: m.name for m in unified_view.members(conn).ordered}
    return {href: (names[row.collection_id], row.href) for href, row, _own in listed}


def materialised(storage: Storage, path: str = "/u/all/") -> dict[str, tuple[str, str]]:
    """view href -> (member name, member href), as the ``unified_items`` rows hold it."""
    found = next(iter(storage.discover(path)))
    assert isinstance(found, UnifiedCollection)
    with storage.transactions.read() as conn:
        names = {m.id: m.name for m in found.members(conn).ordered}
        stored = stored_view(conn, found.id)
        count = conn.execute(
            select(func.count()).where(unified_items.c.unified_id == found.id)
        ).scalar_one()
    assert count == len(stored), "every row shows an item that exists"
    return {href: (names[cid], member_href) for href, (cid, member_href) in stored.items()}


JANUARY = ET.fromstring(
    '<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z" end="20240201T000000Z"/>'
    "</C:comp-filter></C:comp-filter></C:filter>"
)


def check_reads(storage: Storage, note: str = "") -> None:
    """The table equals the oracle, and so does every read of the unified calendar (all the
    test events are VEVENTs of an hour in January 2024)."""
    expected = view(storage)
    assert materialised(storage) == expected, note
    with storage.transactions.read() as conn:
        collection = unified(storage)
        oracle = full_view(conn, collection.members(conn))
    ids = {href: row.id for href, row, _own in oracle}
    collection = unified(storage)
    assert {row.href: row.id for row in collection.listing()} == ids, note
    assert [i.href for i in collection.list_items()] == [row.href for row in collection.listing()]
    assert {i.href: i.row_id for i in collection.get_all()} == ids, note
    probes = [*ids, *HREFS, "nothing.ics"]
    multi = {h: i.row_id for h, i in collection.get_multi(probes) if i is not None}
    assert multi == ids, note
    with storage.transactions.read() as conn:
        for href in probes:
            found = collection.item_at(conn, href)
            assert (found.row_id if found else None) == ids.get(href), (note, href)
    assert {i.href: i.row_id for i, _matched in collection.get_filtered([JANUARY])} == ids, note
    periods, unindexed = collection.busy_periods(1704067200, 1706745600, 0)
    assert len(periods) == len(ids) and not unindexed, note
    export = "".join(collection.stream_ics())
    assert export.count("BEGIN:VEVENT") == len(ids), note


# -- fingerprint ----------------------------------------------------------------------------


def test_fingerprint_is_organizer_start_summary() -> None:
    def fp(text: str) -> str:
        return event_fingerprint(radicale_item.read_components(text)[0])

    base = fp(ics("1", summary="Team  sync", extra="ORGANIZER:mailto:Boss@Example.com\r\n"))
    same = ics("2", summary=" Team sync ", extra="ORGANIZER;CN=B:MAILTO:boss@example.com\r\n")
    assert fp(same) == base  # other UID, case, whitespace and parameters do not matter
    zoned = ics("3", "20240105T110000", "Team sync", "ORGANIZER:mailto:boss@example.com\r\n")
    zoned = zoned.replace("DTSTART:", "DTSTART;TZID=Europe/Berlin:").replace(
        "BEGIN:VEVENT", _BERLIN + "BEGIN:VEVENT"
    )
    assert fp(zoned) == base  # 11:00 in Berlin is 10:00 UTC
    assert fp(ics("4", summary="Team sync")) != base  # no organizer
    assert fp(ics("5", start="20240105T100000", summary="Team sync")) != fp(ics("6"))
    todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:t\r\n"
    assert fp(todo + "DTSTAMP:20240101T000000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n") == ""


_BERLIN = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
    "END:STANDARD\r\nEND:VTIMEZONE\r\n"
)


def test_fingerprint_is_stored_on_write(storage: Storage) -> None:
    put(storage, "c", "f.ics", ics("f", summary="x"))
    with storage.transactions.read() as conn:
        stored = conn.execute(select(items.c.fingerprint).where(items.c.href == "f.ics")).scalar()
    assert stored == event_fingerprint(radicale_item.read_components(ics("f", summary="x"))[0])


# -- the rules ------------------------------------------------------------------------------


def test_alias_names_round_trip() -> None:
    assert alias("x.ics", "home") == "x~home.ics"
    assert alias("x", "home") == "x~home"
    assert unaliased({"x~home.ics"}, ["home", "work"]) == {"x.ics"}
    assert unaliased({"x~home~home.ics"}, ["home"]) == {"x~home.ics", "x.ics"}
    assert unaliased({"plain.ics"}, ["home"]) == set()


def test_duplicates_collapse_and_names_never_clash(storage: Storage) -> None:
    put(storage, "a", "dup.ics", ics("dup", summary="a's copy"))
    put(storage, "b", "other-name.ics", ics("dup", summary="b's copy"))  # same UID
    put(storage, "c", "fp-c.ics", ics("fp-c", summary="same"))
    put(storage, "b", "fp-b.ics", ics("fp-b", summary="same"))  # same fingerprint
    put(storage, "a", "same.ics", ics("one"))
    put(storage, "b", "same.ics", ics("two", summary="different"))  # same href
    put(storage, "c", "same~b.ics", ics("three", summary="literal alias name"))
    check_reads(storage)
    assert view(storage) == {
        "dup.ics": ("a", "dup.ics"),  # a and b share priority 2: a's path sorts first
        "fp-b.ics": ("b", "fp-b.ics"),  # b has the higher priority
        "same.ics": ("a", "same.ics"),
        "same~b.ics": ("c", "same~b.ics"),  # the literal name keeps its href...
        "same~b~b.ics": ("b", "same.ics"),  # ...so b's alias is aliased again
    }


def test_unified_writes_reach_the_members(storage: Storage) -> None:
    put(storage, "a", "dup.ics", ics("dup", summary="a's copy"))
    put(storage, "c", "dup.ics", ics("dup", summary="c's copy"))
    put(storage, "c", "fp.ics", ics("fp", summary="a's copy"))  # a fingerprint duplicate
    view_collection = unified(storage)
    with storage.acquire_lock("w", "u", path="/u/all/"):
        new, _ = view_collection.upload("new.ics", prepared("u/all", ics("new")))
        edited, old = view_collection.upload(
            "dup.ics", prepared("u/all", ics("dup", summary="edited"))
        )
    assert (new.href, edited.href, old is not None and old.href) == (
        "new.ics",
        "dup.ics",
        "dup.ics",
    )
    check_reads(storage)
    assert view(storage) == {
        "dup.ics": ("a", "dup.ics"),
        "fp.ics": ("c", "fp.ics"),  # the edit split the fingerprint group
        "new.ics": ("b", "new.ics"),  # the configured default target
    }
    with storage.acquire_lock("w", "u", path="/u/all/"):
        unified(storage).delete("dup.ics")
    check_reads(storage)
    with storage.transactions.read() as conn:
        left = conn.execute(select(items.c.href)).scalars().all()
    assert sorted(left) == ["fp.ics", "new.ics"]  # both copies of "dup" are gone


# -- random write sequences -----------------------------------------------------------------

HREFS = ["x.ics", "y.ics", "x~b.ics", "x~b~b.ics", "y~a.ics", "z"]
UIDS = ["u1", "u2", "u3", "u4", "u5"]


def random_write(storage: Storage, rng: random.Random, version: int) -> None:
    member = rng.choice([*MEMBERS, "all"])
    href = rng.choice(HREFS)
    collection = next(iter(storage.discover(f"/u/{member}/")))
    with storage.acquire_lock("w", "u", path=f"/u/{member}/"):
        if rng.random() < 0.3:
            with contextlib.suppress(ValueError):  # nothing there
                collection.delete(href)  # type: ignore[union-attr]
            return
        text = ics(
            rng.choice(UIDS),
            rng.choice(["20240105T100000Z", "20240106T100000Z"]),
            rng.choice(["s1", "s2"]),
            f"DESCRIPTION:v{version}\r\n",
        )
        # ValueError: the UID is used at another href of that calendar (a PUT gets a 409)
        with contextlib.suppress(ValueError):
            collection.upload(href, prepared(f"u/{member}", text))  # type: ignore[union-attr]


def check_local_answers(storage: Storage, listed: dict[str, tuple[str, str]]) -> None:
    probe = set(listed) | set(HREFS) | {alias(h, n) for h in HREFS for n in MEMBERS}
    with storage.transactions.read() as conn:
        members = unified(storage).members(conn)
        names = {m.id: m.name for m in members.ordered}
        for href in sorted(probe):
            owners = ViewEngine(conn, members).owners([href])
            expected = {href: listed[href]} if href in listed else {}
            assert {h: (names[r.collection_id], r.href) for h, r in owners.items()} == expected


def synced(storage: Storage, state: dict[str, str], token: str) -> str:
    """Apply the delta since ``token`` to ``state`` (href -> etag), as a client does."""
    collection = unified(storage)
    try:
        new_token, names = collection.sync(token)
    except ValueError:  # invalidated: start again
        state.clear()
        new_token, names = collection.sync("")
    names = list(names)
    heads = collection.heads(names)
    for name in names:
        if name in heads:
            state[name] = heads[name].etag
        else:
            state.pop(name, None)
    return new_token


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_answers_and_deltas_exact(storage: Storage, seed: int) -> None:
    rng = random.Random(seed)
    state: dict[str, str] = {}
    token = synced(storage, state, "")
    for version in range(60):
        random_write(storage, rng, version)
        if version % 20 == 19:
            priority = rng.choice([1, 2, 3])
            provision(storage, Declared("u/b", "source", "b", source="b", priority=priority))
        listed = view(storage)
        check_reads(storage, f"after write {version}")
        token = synced(storage, state, token)
        full = {href: row.etag for href, row in unified(storage).heads(listed).items()}
        assert set(full) == set(listed)
        assert state == full, f"after write {version}"
        check_local_answers(storage, listed)


# -- provisioning and refusals --------------------------------------------------------------


def test_provisioning_never_turns_a_calendar_into_a_view(storage: Storage) -> None:
    put(storage, "c", "kept.ics", ics("kept"))
    assert "calendar with events" in provision(storage, Declared("u/c", "unified", "All"))
    assert "unified calendar" in provision(storage, Declared("u/all", "source", "all", "all"))
    assert [c.kind for c in storage.discover("/u/c/")] == ["calendar"]  # type: ignore[union-attr]
    assert view(storage) == {"kept.ics": ("c", "kept.ics")}
    check_reads(storage)


def test_a_priority_change_invalidates_the_unified_sync_tokens(storage: Storage) -> None:
    token, _ = unified(storage).sync("")
    assert provision(storage, Declared("u/b", "source", "b", source="b", priority=9)) == "updated"
    with pytest.raises(ValueError):
        unified(storage).sync(token)
    assert provision(storage, Declared("u/b", "source", "b", source="b", priority=9)) == "unchanged"


def test_new_events_need_a_calendar_to_go_to(storage: Storage) -> None:
    storage.create_collection("/lonely/")
    provision(storage, Declared("lonely/all", "unified", "All"))
    lonely = next(iter(storage.discover("/lonely/all/")))
    with storage.acquire_lock("w", "lonely", path="/lonely/all/"), pytest.raises(Refused) as error:
        lonely.upload("x.ics", prepared("lonely/all", ics("x")))  # type: ignore[union-attr]
    assert error.value.status == 409 and "no calendar" in error.value.reason
    assert storage.refusals.take() is error.value  # the application answers with its reason
