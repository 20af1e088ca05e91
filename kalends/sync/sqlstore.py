"""``SyncStore`` over the storage database: one source's collection, status, outbox and journal.

Items are written through ``kalends.storage.writes`` (the same code as a CalDAV PUT, so the
occurrence index, the revision log and tombstones stay right) inside a write transaction tagged
with the source as its origin: what the engine writes is never queued back to the source.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from kalends.storage.base import Transactions
from kalends.storage.models import (
    collections,
    items,
    outbox,
    sync_runs,
    sync_sources,
    sync_status,
)
from kalends.sync.model import LocalItem, Status
from kalends.sync.sqlwrites import BULK, BatchWriter
from kalends.sync.store import Applied, Outcome, RoundEnd, RoundState
from kalends.sync.vectors import VersionVector


class SourceNotProvisioned(LookupError):
    """No collection mirrors this source yet (it is created when the server starts)."""


@dataclass(frozen=True, slots=True)
class SourceCollection:
    id: int
    path: str
    owner: str
    source: str


def find_source_collection(transactions: Transactions, source: str) -> SourceCollection:
    with transactions.read() as conn:
        row = conn.execute(
            select(collections.c.id, collections.c.path).where(
                collections.c.kind == "source", collections.c.source == source
            )
        ).first()
    if row is None:
        raise SourceNotProvisioned(f"no collection for source {source!r}; start the server once")
    return SourceCollection(row.id, row.path, row.path.split("/", 1)[0], source)


_STATUS_HEADS = (
    sync_status.c.remote_id,
    sync_status.c.href,
    sync_status.c.uid,
    sync_status.c.remote_version,
    sync_status.c.local_etag,
    sync_status.c.local_counter,
    sync_status.c.remote_counter,
)


def _statuses(
    conn: Connection, collection_id: int, previous: Mapping[str, Status]
) -> dict[str, Status]:
    """Every status row without its base (texts are read only for the events a round
    touches); plain tuples, as this runs over every linked event each round.

    A row equal to the status the previous round loaded gives that same (immutable) object,
    and equal vectors are one object: a round then leaves next to no new long-lived objects
    behind, and those are what set off full garbage collections (tens of ms at 10,000 events:
    the slowest rounds). Every row is still read, so nothing here can be stale."""
    query = select(*_STATUS_HEADS).where(sync_status.c.collection_id == collection_id)
    vectors: dict[tuple[int, int], VersionVector] = {}
    statuses: dict[str, Status] = {}
    for remote_id, href, uid, version, etag, local, remote in conn.execute(query):
        vector = vectors.get((local, remote))
        if vector is None:
            vector = vectors[local, remote] = VersionVector(local, remote)
        status = Status(remote_id, href, uid, version, etag, "", vector)
        old = previous.get(remote_id)
        statuses[remote_id] = old if old == status else status
    return statuses


class SqlSyncStore:
    def __init__(self, transactions: Transactions, collection: SourceCollection) -> None:
        self.transactions = transactions
        self.collection = collection
        self._loaded: dict[str, Status] = {}  # the last round's statuses, reused when equal

    # -- reads ---------------------------------------------------------------------------------

    def load(self) -> RoundState:
        cid = self.collection.id
        with self.transactions.read() as conn:
            statuses = self._loaded = _statuses(conn, cid, self._loaded)
            through = conn.execute(
                select(func.max(outbox.c.id)).where(outbox.c.collection_id == cid)
            ).scalar()
            hrefs = (
                conn.execute(select(outbox.c.href).where(outbox.c.collection_id == cid).distinct())
                .scalars()
                .all()
            )
            state = conn.execute(
                select(sync_sources).where(sync_sources.c.collection_id == cid)
            ).first()
        current = self.current(hrefs)
        changes = {href: current.get(href) or LocalItem(href, None, None, None) for href in hrefs}
        cursor = state.cursor if state is not None else None
        quarantine = state.quarantine if state is not None else None
        return RoundState(statuses, changes, int(through or 0), cursor, quarantine)

    def bases(self, remote_ids: Collection[str]) -> dict[str, str]:
        wanted = list(remote_ids)
        found: dict[str, str] = {}
        with self.transactions.read() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    select(sync_status.c.remote_id, sync_status.c.base).where(
                        sync_status.c.collection_id == self.collection.id,
                        sync_status.c.remote_id.in_(wanted[start : start + 500]),
                    )
                )
                found.update((row.remote_id, row.base) for row in rows)
        return found

    def current(self, hrefs: Collection[str]) -> dict[str, LocalItem]:
        wanted = list(hrefs)
        found: dict[str, LocalItem] = {}
        with self.transactions.read() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    select(items.c.href, items.c.etag, items.c.text, items.c.uid).where(
                        items.c.collection_id == self.collection.id,
                        items.c.href.in_(wanted[start : start + 500]),
                    )
                )
                found.update((r.href, LocalItem(r.href, r.etag, r.text, r.uid)) for r in rows)
        return found

    # -- writes --------------------------------------------------------------------------------

    def start_run(self, run_id: str) -> None:
        with self.transactions.write(self.collection.owner, origin=self.collection.source) as conn:
            conn.execute(
                insert(sync_runs).values(
                    id=run_id, collection_id=self.collection.id, started_at=time.time()
                )
            )

    def apply(self, run_id: str, applied: Sequence[Applied], outbox_through: int) -> list[Outcome]:
        owner, source = self.collection.owner, self.collection.source
        with self.transactions.write(owner, origin=source) as conn:
            batch = BatchWriter(
                conn, self.collection.id, self.collection.path, run_id, bulk=len(applied) > BULK
            )
            outcomes = batch.apply_all(applied)
            batch.flush(outbox_through)
        return outcomes

    def finish(self, run_id: str, end: RoundEnd) -> None:
        now, cid = time.time(), self.collection.id
        with self.transactions.write(self.collection.owner, origin=self.collection.source) as conn:
            for remote_id, version in end.refreshed.items():
                conn.execute(
                    update(sync_status)
                    .where(sync_status.c.collection_id == cid, sync_status.c.remote_id == remote_id)
                    .values(remote_version=version, updated_at=now)
                )
            values: dict[str, Any] = {"last_sync_at": now, "last_error": end.error,
                                      "quarantine": end.quarantine}  # fmt: skip
            if end.save_cursor:
                values |= {"cursor": end.cursor, "cursor_saved_at": now}
            _upsert_source_state(conn, cid, values)
            conn.execute(
                update(sync_runs)
                .where(sync_runs.c.id == run_id)
                .values(finished_at=now, summary=json.dumps(dict(end.summary), sort_keys=True))
            )


def _upsert_source_state(conn: Connection, collection_id: int, values: dict[str, Any]) -> None:
    changed = conn.execute(
        update(sync_sources).where(sync_sources.c.collection_id == collection_id).values(values)
    ).rowcount
    if not changed:
        conn.execute(insert(sync_sources).values(collection_id=collection_id, **values))
