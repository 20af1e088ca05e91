"""Item and collection writes. Each function runs inside the caller's write transaction."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from kalends.storage import view_log
from kalends.storage.base import ORIGIN_KEY
from kalends.storage.fingerprint import event_fingerprint
from kalends.storage.models import (
    SHORT_SPAN,
    collections,
    items,
    occurrences,
    outbox,
    tombstones,
)
from kalends.storage.occurrences import index_occurrences
from kalends.storage.rows import FULL_COLUMNS
from kalends.storage.validation import check_calendar_object
from kalends.storage.view import Ident

SYNC_TOKEN_MAX_AGE = 30 * 24 * 3600

# The statements of every write, built once: building and keying a statement costs more than
# SQLite takes to run it.
_BUMP = (
    update(collections)
    .where(collections.c.id == bindparam("cid"))
    .values(rev=collections.c.rev + 1, modified_at=bindparam("now"))
    .returning(collections.c.rev, collections.c.source)
)
_QUEUE = insert(outbox)
# the item at an href, with what the unified view's upkeep needs of it (its fingerprint)
ITEM_AT = select(*FULL_COLUMNS, items.c.fingerprint).where(
    items.c.collection_id == bindparam("cid"), items.c.href == bindparam("href")
)
_UPDATE_ITEM = update(items).where(items.c.id == bindparam("item_id"))
_INSERT_ITEM = insert(items).returning(items.c.id)
_DROP_OCCURRENCES = delete(occurrences).where(occurrences.c.item_id == bindparam("item_id"))
_ADD_OCCURRENCES = insert(occurrences)
_FORGET_TOMBSTONE = delete(tombstones).where(
    tombstones.c.collection_id == bindparam("cid"), tombstones.c.href == bindparam("href")
)


def _bump(conn: Connection, collection_id: int, now: float) -> tuple[int, str | None]:
    """Advance the collection's revision; the new one, and the source it mirrors (if any)."""
    rev, source = conn.execute(_BUMP, {"cid": collection_id, "now": now}).one()
    return int(rev), source


def bump_revision(conn: Connection, collection_id: int, now: float) -> int:
    """Advance the collection's revision (its CTag and sync token) and return the new one."""
    return _bump(conn, collection_id, now)[0]


def _record_change(
    conn: Connection, collection_id: int, href: str, now: float, rev: int | None
) -> int:
    """Bump the revision and, in a source's collection, queue the change for the sync engine.

    Writes by that source's own engine (``conn.info[ORIGIN_KEY]``) are not queued: they came
    from the source and must not echo back to it. A caller writing many items in one
    transaction may pass the ``rev`` it bumped once for all of them (``bump_revision``).
    """
    if rev is not None and conn.info.get(ORIGIN_KEY) is not None:
        return rev
    new_rev, source = _bump(conn, collection_id, now)
    if source is not None and conn.info.get(ORIGIN_KEY) != source:
        conn.execute(_QUEUE, {"collection_id": collection_id, "href": href, "created_at": now})
    return new_rev


def prepare(item: Any) -> None:
    """Radicale's ``Item.prepare`` but the span of the recurrence set: ``item_values`` finds it
    on its own walk of the occurrences (``OccurrenceIndex.span``), which spares a second one."""
    item.serialize()
    _ = (item.etag, item.uid, item.name, item.component_name)


def item_values(item: Any, rev: int, now: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Row values for a prepared Radicale item, and its occurrence rows."""
    component = item.component_name
    fingerprint = ""
    if item.name == "VCALENDAR":
        check_calendar_object(item.vobject_item)
        fingerprint = event_fingerprint(item.vobject_item)
    index = index_occurrences(item.vobject_item, component)
    try:
        tr_start, tr_end = index.span or item.time_range  # one walk of the recurrences, not two
    except Exception as error:  # vobject raises anything: what Radicale's prepare refuses
        raise ValueError(f"not a valid calendar object: {error}") from error
    values = {
        "uid": item.uid,
        "name": item.name,
        "component": component,
        "etag": item.etag,
        "text": item.serialize(),
        "tr_start": tr_start,
        "tr_end": tr_end,
        "long": tr_end - tr_start > SHORT_SPAN,
        "indexed_until": index.indexed_until,
        "rev": rev,
        "modified_at": now,
        "fingerprint": fingerprint,
    }
    rows = [
        {"start": o.start, "end": o.end, "long": o.long, "fbtype": o.fbtype}
        for o in index.occurrences
    ]
    return values, rows


def upsert_item(
    conn: Connection,
    collection_id: int,
    href: str,
    item: Any,
    rev: int | None = None,
    track_view: bool = True,
    new: bool = False,
) -> Any:
    """Create or replace the item at ``href``; returns the replaced row (with text) or None.

    ``track_view=False``: the caller writes many items and invalidates the unified calendar's
    sync tokens once instead (``view_log.invalidate_tokens``), sparing a view comparison each.
    ``new``: the caller has seen, in this transaction, that no item is at ``href``.
    """
    now = time.time()
    # the values first: an object they refuse (ValueError) has written nothing yet
    values, occurrence_rows = item_values(item, 0, now)
    values["rev"] = _record_change(conn, collection_id, href, now, rev)
    fingerprint: str = values["fingerprint"]
    old = None if new else conn.execute(ITEM_AT, {"cid": collection_id, "href": href}).first()
    watch = (
        view_log.watch(conn, collection_id, href, old, {values["uid"]}, {fingerprint})
        if track_view
        else None
    )
    try:
        if old is not None:
            item_id = old.id
            conn.execute(_UPDATE_ITEM, {**values, "item_id": item_id})
            conn.execute(_DROP_OCCURRENCES, {"item_id": item_id})
        else:
            item_id = conn.execute(
                _INSERT_ITEM, {"collection_id": collection_id, "href": href, **values}
            ).scalar_one()
            conn.execute(_FORGET_TOMBSTONE, {"cid": collection_id, "href": href})
    except IntegrityError as error:
        raise ValueError(f"UID {item.uid!r} is already used in this collection") from error
    if occurrence_rows:
        for row in occurrence_rows:
            row["item_id"] = item_id
            row["collection_id"] = collection_id
        conn.execute(_ADD_OCCURRENCES, occurrence_rows)
    if watch is not None:
        watch.finish(Ident(item_id, collection_id, href, values["uid"], fingerprint))
    return old


def delete_item(
    conn: Connection,
    collection_id: int,
    href: str,
    rev: int | None = None,
    track_view: bool = True,
) -> bool:
    """Delete one item and leave a tombstone for sync-collection; False when it did not exist."""
    watch = (
        view_log.watch(conn, collection_id, href, view_log.identity(conn, collection_id, href))
        if track_view
        else None
    )
    item_id = conn.execute(
        delete(items)
        .where(items.c.collection_id == collection_id, items.c.href == href)
        .returning(items.c.id)
    ).scalar()
    if item_id is None:
        return False
    now = time.time()
    rev = _record_change(conn, collection_id, href, now, rev)
    conn.execute(
        insert(tombstones).values(collection_id=collection_id, href=href, rev=rev, deleted_at=now)
    )
    _prune_tombstones(conn, collection_id, now)
    if watch is not None:
        watch.finish(None)
    return True


def _prune_tombstones(conn: Connection, collection_id: int, now: float) -> None:
    """Forget deletions older than the sync-token lifetime; older tokens become invalid."""
    cutoff = now - SYNC_TOKEN_MAX_AGE
    newest_pruned = (
        conn.execute(
            delete(tombstones)
            .where(tombstones.c.collection_id == collection_id, tombstones.c.deleted_at < cutoff)
            .returning(tombstones.c.rev)
        )
        .scalars()
        .all()
    )
    if newest_pruned:
        conn.execute(
            update(collections)
            .where(collections.c.id == collection_id)
            .values(pruned_rev=max(newest_pruned))
        )
