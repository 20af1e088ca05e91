"""``kalends undo RUN``: put every event a sync run changed back as it was before the run.

The restore is written like a CalDAV client's edit (it queues outbox rows), so the next round
carries it to the source as well. An event changed again since the run is left alone and
named: undo never overwrites a newer edit.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, select, update

from kalends.ical import ICalError, normalized
from kalends.storage.base import Transactions
from kalends.storage.models import collections, items, journal, sync_runs
from kalends.storage.rows import AnyRow
from kalends.storage.writes import delete_item, upsert_item
from kalends.sync.sqlwrites import prepare_item

_NOT_UNDONE = frozenset({"rejected"})


class UndoError(Exception):
    pass


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return normalized(a) == normalized(b)
    except ICalError:
        return a == b


def undo_run(transactions: Transactions, run_id: str) -> list[str]:
    with transactions.read() as conn:
        run = conn.execute(select(sync_runs).where(sync_runs.c.id == run_id)).one()
        path = conn.execute(
            select(collections.c.path).where(collections.c.id == run.collection_id)
        ).scalar_one()
    if run.undone_by:
        raise UndoError(f"run {run_id[:12]} was already undone by {run.undone_by[:12]}")
    undo_id = f"undo-{int(time.time() * 1000)}"
    with transactions.write(path.split("/", 1)[0]) as conn:
        entries = conn.execute(
            select(journal)
            .where(journal.c.run_id == run_id, journal.c.conflict.is_(False))
            .order_by(journal.c.id.desc())
        ).all()
        lines = [_restore(conn, run.collection_id, path, entry) for entry in entries]
        conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(undone_by=undo_id))
    restored = sum(1 for line in lines if line.startswith("restored"))
    return [*lines, f"run {run_id[:12]}: {restored} of {len(lines)} changes undone"]


def _restore(conn: Connection, collection_id: int, path: str, entry: AnyRow) -> str:
    href: str = entry.href
    before: str | None = entry.before
    if entry.action in _NOT_UNDONE:
        return f"skipped {href}: nothing was written"
    current = conn.execute(
        select(items.c.text).where(items.c.collection_id == collection_id, items.c.href == href)
    ).scalar()
    if not _same(current, entry.after):
        return f"kept {href}: changed again since the run"
    if _same(current, before):
        return f"restored {href} (already as before)"
    if before is None:
        delete_item(conn, collection_id, href)
    else:
        upsert_item(conn, collection_id, href, prepare_item(path, href, before))
    return f"restored {href}"
