"""``SyncStore`` over the storage database: one source's collection, status, outbox and journal.

Items are written through ``kalends.storage.writes`` (the same code as a CalDAV PUT, so the
occurrence index, the revision log and tombstones stay right) inside a write transaction tagged
with the source as its origin: what the engine writes is never queued back to the source.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from radicale import item as radicale_item
from sqlalchemy import Connection, delete, func, insert, select, update

from kalends.ical import ICalError, uid_of
from kalends.storage.base import Transactions
from kalends.storage.models import (
    collections,
    items,
    journal,
    outbox,
    sync_runs,
    sync_sources,
    sync_status,
)
from kalends.storage.writes import delete_item, upsert_item
from kalends.sync.model import Action, Kind, LocalItem, Status
from kalends.sync.store import Applied, Outcome, RoundEnd, RoundState
from kalends.sync.vectors import VersionVector

MAX_RRULE_OCCURRENCES = 10_000


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


def prepare_item(path: str, href: str, text: str) -> radicale_item.Item:
    """A Radicale item from iCalendar text, checked as a PUT would check it (ValueError)."""
    try:
        components = radicale_item.read_components(text)
        radicale_item.check_and_sanitize_items(components, MAX_RRULE_OCCURRENCES, tag="VCALENDAR")
    except Exception as error:  # vobject raises anything from ParseError to TypeError
        raise ValueError(f"not a valid calendar object: {error}") from error
    if len(components) != 1:
        raise ValueError("expected one calendar object")
    item = radicale_item.Item(collection_path=path, vobject_item=components[0], href=href)
    item.prepare()
    return item


def _status(row: Any) -> Status:
    vector = VersionVector(row.local_counter, row.remote_counter)
    return Status(
        row.remote_id, row.href, row.uid, row.remote_version, row.local_etag, row.base, vector
    )


class SqlSyncStore:
    def __init__(self, transactions: Transactions, collection: SourceCollection) -> None:
        self.transactions = transactions
        self.collection = collection

    # -- reads ---------------------------------------------------------------------------------

    def load(self) -> RoundState:
        cid = self.collection.id
        with self.transactions.read() as conn:
            statuses = {
                row.remote_id: _status(row)
                for row in conn.execute(
                    select(sync_status).where(sync_status.c.collection_id == cid)
                )
            }
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
            return [self._apply_one(conn, run_id, one, outbox_through) for one in applied]

    def _apply_one(self, conn: Connection, run_id: str, one: Applied, through: int) -> Outcome:
        action = one.action
        href = action.href or self._free_href(conn, action.uid)
        etag = one.local_etag or action.expect_etag
        if action.write_local and one.write_local:
            current = conn.execute(self._etag_at(href)).scalar()
            if current != action.expect_etag:
                return Outcome(action, False)
            try:
                etag = self._write(conn, href, action.local_text)
            except ValueError as error:
                self._journal(conn, run_id, href, action, "rejected", None, str(error))
                return Outcome(action, True, None, href)
        if not one.journaled:
            self._journal_action(conn, run_id, href, one)
        self._link(conn, href, one, etag)
        if not one.local_pending:
            conn.execute(
                delete(outbox).where(
                    outbox.c.collection_id == self.collection.id,
                    outbox.c.href == href,
                    outbox.c.id <= through,
                )
            )
        return Outcome(action, True, etag, href)

    def _etag_at(self, href: str) -> Any:
        return select(items.c.etag).where(
            items.c.collection_id == self.collection.id, items.c.href == href
        )

    def _write(self, conn: Connection, href: str, text: str | None) -> str | None:
        if text is None:
            delete_item(conn, self.collection.id, href)
            return None
        item = prepare_item(self.collection.path, href, text)
        with conn.begin_nested():
            upsert_item(conn, self.collection.id, href, item)
        etag: str = conn.execute(self._etag_at(href)).scalar_one()
        return etag

    def _free_href(self, conn: Connection, uid: str) -> str:
        stem = "".join(c if c.isalnum() or c in "-_@." else "_" for c in uid)[:120] or "event"
        taken = set(
            conn.execute(
                select(items.c.href).where(
                    items.c.collection_id == self.collection.id,
                    items.c.href.like(f"{stem}%"),
                )
            ).scalars()
        )
        href, n = f"{stem}.ics", 1
        while href in taken:
            n += 1
            href = f"{stem}-{n}.ics"
        return href

    def _journal_action(self, conn: Connection, run_id: str, href: str, one: Applied) -> None:
        action = one.action
        if action.kind is not Kind.LINK:
            after = action.local_text if action.write_local else action.remote_text
            self._journal(conn, run_id, href, action, action.kind.value, after, action.detail)
        if action.conflict_loser is not None:
            conn.execute(
                insert(journal).values(
                    run_id=run_id, collection_id=self.collection.id, href=href, uid=action.uid,
                    action=action.kind.value, origin=_origin(action), before=action.conflict_loser,
                    after=None, conflict=True, detail=action.detail, created_at=time.time(),
                )
            )  # fmt: skip

    def _journal(
        self, conn: Connection, run_id: str, href: str, action: Action, name: str,
        after: str | None, detail: str,
    ) -> None:  # fmt: skip
        conn.execute(
            insert(journal).values(
                run_id=run_id, collection_id=self.collection.id, href=href, uid=action.uid,
                action=name, origin=_origin(action), before=action.before_local, after=after,
                conflict=False, detail=detail, created_at=time.time(),
            )
        )  # fmt: skip

    def _link(self, conn: Connection, href: str, one: Applied, etag: str | None) -> None:
        action, remote, cid = one.action, one.remote, self.collection.id
        if one.local_pending:
            if action.status is not None:
                conn.execute(
                    update(sync_status)
                    .where(sync_status.c.collection_id == cid, sync_status.c.href == href)
                    .values(local_etag="")
                )
            return
        conn.execute(
            delete(sync_status).where(
                sync_status.c.collection_id == cid, sync_status.c.href == href
            )
        )
        if remote is None or etag is None:
            return
        conn.execute(
            delete(sync_status).where(
                sync_status.c.collection_id == cid, sync_status.c.remote_id == remote.remote_id
            )
        )
        conn.execute(
            insert(sync_status).values(
                collection_id=cid, remote_id=remote.remote_id, href=href, uid=action.uid,
                remote_version=remote.version, local_etag=etag, base=remote.ical,
                local_counter=action.vector.local, remote_counter=action.vector.remote,
                updated_at=time.time(),
            )
        )  # fmt: skip

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


def _origin(action: Action) -> str:
    if action.kind is Kind.MERGE:
        return "merge"
    return "local" if action.write_remote else "remote"


def uid_or_none(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return uid_of(text)
    except ICalError:
        return None
