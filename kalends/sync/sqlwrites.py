"""The write side of ``SqlSyncStore.apply``: one batch of applied actions in one transaction.

Items are written one by one (each needs its own checks), while journal entries, status rows
and consumed outbox rows are gathered and written with a few statements per batch. A large
batch of nothing but new items (an initial import) goes further: the same checks are made in
memory against what a few queries read for the whole batch, and the items and their
occurrences are inserted with one statement each, so that an import of thousands of events is
bound by parsing, not by round trips.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import vobject.icalendar as vobject_icalendar
from radicale import item as radicale_item
from sqlalchemy import Column, Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from kalends.server.timezones import install_per_thread_zones
from kalends.storage.base import ORIGIN_KEY
from kalends.storage.models import (
    UID_PRESENT,
    items,
    journal,
    occurrences,
    outbox,
    sync_status,
    tombstones,
)
from kalends.storage.view_log import invalidate_tokens
from kalends.storage.writes import bump_revision, delete_item, item_values, prepare, upsert_item
from kalends.sync.model import Action, Kind
from kalends.sync.store import Applied, Outcome

MAX_RRULE_OCCURRENCES = 10_000
_CHUNK = 500
# Above this many items a batch does not track the unified view item by item: it invalidates
# the unified calendar's sync tokens once (clients resync, as they would after an import).
BULK = 20


class ZoneCache:
    """The time zones a batch has read already, by the exact text of their VTIMEZONE.

    Reading a VTIMEZONE's lines and registering its zone costs about as much as the rest of an
    event, even with the zone itself built once per thread (kalends.server.timezones); an
    import repeats the same few blocks thousands of times. A block seen before is
    left out of the text vobject reads, its tzinfo handed over instead: the same text gives the
    same zone. The stored text keeps every block.
    """

    def __init__(self) -> None:
        self._zones: dict[str, tuple[str, Any]] = {}

    def without_known(self, text: str) -> str:
        def replace(block: re.Match[str]) -> str:
            known = self._zones.get(block[0])
            if known is None:
                return block[0]
            vobject_icalendar.registerTzid(*known)
            return ""

        return _VTIMEZONE.sub(replace, text)

    def learn(self, text: str) -> None:
        for block in _VTIMEZONE.finditer(text):
            tzid = _TZID.search(block[0])
            if block[0] in self._zones or tzid is None:
                continue
            zone = vobject_icalendar.getTzid(tzid[1], False)
            if zone is not None:
                self._zones[block[0]] = (tzid[1], zone)


_VTIMEZONE = re.compile(r"BEGIN:VTIMEZONE\r?\n.*?END:VTIMEZONE\r?\n", re.S)
_TZID = re.compile(r"^TZID:([^\r\n;]+)\r?$", re.M)


def prepare_item(
    path: str, href: str, text: str, zones: ZoneCache | None = None
) -> radicale_item.Item:
    """A Radicale item from iCalendar text, checked as a PUT would check it (ValueError).

    Each object is read with only its own time zones (and IANA names), as a request is: a zone
    one source defines its way must not bend the times of the next object read.
    """
    install_per_thread_zones().reset()
    try:
        readable = zones.without_known(text) if zones is not None else text
        components = radicale_item.read_components(readable)
        radicale_item.check_and_sanitize_items(components, MAX_RRULE_OCCURRENCES, tag="VCALENDAR")
    except Exception as error:  # vobject raises anything from ParseError to TypeError
        raise ValueError(f"not a valid calendar object: {error}") from error
    if len(components) != 1:
        raise ValueError("expected one calendar object")
    # The text as the bridge wrote it is what is stored (and what the etag is of): it is a
    # well-formed object already, and serialising vobject's reading of it again costs more
    # than reading it did.
    item = radicale_item.Item(
        collection_path=path, vobject_item=components[0], href=href, text=text
    )
    prepare(item)
    if zones is not None:
        zones.learn(text)
    return item


def _origin(action: Action) -> str:
    if action.kind is Kind.MERGE:
        return "merge"
    return "local" if action.write_remote else "remote"


def _creates(one: Applied) -> bool:
    """Whether ``one`` writes a new item here, at an href of its own (nothing to compare)."""
    action = one.action
    return (
        action.write_local and one.write_local and not one.local_pending
        and action.href is None and action.expect_etag is None and action.local_text is not None
    )  # fmt: skip


def _free_href(uid: str, taken: Collection[str]) -> str:
    stem = "".join(c if c.isalnum() or c in "-_@." else "_" for c in uid)[:120] or "event"
    href, n = f"{stem}.ics", 1
    while href in taken:
        n += 1
        href = f"{stem}-{n}.ics"
    return href


class BatchWriter:
    def __init__(
        self, conn: Connection, collection_id: int, path: str, run_id: str, bulk: bool = False
    ) -> None:
        self.conn = conn
        self.bulk = bulk
        self.collection_id = collection_id
        self.path = path
        self.run_id = run_id
        self.now = time.time()
        self.journal_rows: list[dict[str, Any]] = []
        self.status_rows: list[dict[str, Any]] = []
        self.unlinked_hrefs: set[str] = set()
        self.unlinked_ids: set[str] = set()
        self.consumed: set[str] = set()
        self._rev: int | None = None  # one revision for every item of the batch
        self._inserted: list[str] | None = None  # hrefs inserted together (and nothing else)
        self._zones = ZoneCache()

    def apply_all(self, applied: Sequence[Applied]) -> list[Outcome]:
        """Every action of the batch, in order (see the module's docstring for a bulk import)."""
        engine_writes = self.conn.info.get(ORIGIN_KEY) is not None  # nothing queued back
        if self.bulk and engine_writes and all(_creates(one) for one in applied):
            created = self._create_all(applied)
            if created is not None:
                return created
        return [self.apply(one) for one in applied]

    def apply(self, one: Applied) -> Outcome:
        action = one.action
        href = action.href or self._new_href(action.uid)
        etag = one.local_etag or action.expect_etag
        if action.write_local and one.write_local:
            current = self.conn.execute(self._etag_at(href)).scalar() if action.href else None
            if current != action.expect_etag:
                return Outcome(action, False)
            try:
                etag = self._write(href, action.local_text)
            except ValueError as error:
                self._journal(href, action, "rejected", None, str(error))
                return Outcome(action, True, None, href)
        if not one.journaled:
            self._journal_action(href, one)
        self._link(href, one, etag)
        if not one.local_pending:
            self.consumed.add(href)
        return Outcome(action, True, etag, href)

    def _etag_at(self, href: str) -> Any:
        return select(items.c.etag).where(
            items.c.collection_id == self.collection_id, items.c.href == href
        )

    def _new_href(
        self, uid: str, present: Collection[str] | None = None, claimed: Collection[str] = ()
    ) -> str:
        """A free href for a new item of ``uid``: ``present``, when given, holds the hrefs
        among the batch's first choices the collection has; ``claimed``, those the batch has
        taken without writing them yet."""
        simple = _free_href(uid, set())
        if present is None:
            free = self.conn.execute(self._etag_at(simple)).scalar() is None
        else:
            free = simple not in present
        if free and simple not in claimed:
            return simple
        stem = simple.removesuffix(".ics")
        taken = set(
            self.conn.execute(
                select(items.c.href).where(
                    items.c.collection_id == self.collection_id, items.c.href.like(f"{stem}%")
                )
            ).scalars()
        )
        return _free_href(uid, taken.union(claimed))

    # -- a bulk batch of new items ---------------------------------------------------------

    def _create_all(self, applied: Sequence[Applied]) -> list[Outcome] | None:
        """New items, each checked as ``apply`` checks it, inserted together; None (nothing
        written) when the database refuses what the checks let through."""
        if self._rev is None:
            self._rev = bump_revision(self.conn, self.collection_id, self.now)
        uids = {one.action.uid for one in applied}
        hrefs = self._present(items.c.href, {_free_href(uid, set()) for uid in uids})
        used = _UsedUids(lambda wanted: self._present(items.c.uid, wanted), uids)
        claimed: set[str] = set()
        rows: list[dict[str, Any]] = []
        spans: list[list[dict[str, Any]]] = []
        done: list[tuple[Applied, str, str | None, str]] = []  # (one, href, etag, refusal)
        for one in applied:
            href = self._new_href(one.action.uid, hrefs, claimed)
            assert one.action.local_text is not None
            try:
                item = prepare_item(self.path, href, one.action.local_text, self._zones)
                values, occurrence_rows = item_values(item, self._rev, self.now)
                used.claim(values["uid"])
            except ValueError as error:
                done.append((one, href, None, str(error)))
                continue
            claimed.add(href)
            rows.append({"collection_id": self.collection_id, "href": href, **values})
            spans.append(occurrence_rows)
            done.append((one, href, item.etag, ""))
        if not self._insert(rows, spans):
            return None
        self._inserted = [row["href"] for row in rows]
        return [self._created(one, href, etag, refusal) for one, href, etag, refusal in done]

    def _created(self, one: Applied, href: str, etag: str | None, refusal: str) -> Outcome:
        if etag is None:
            self._journal(href, one.action, "rejected", None, refusal)
            return Outcome(one.action, True, None, href)
        self._journal_action(href, one)
        self._link(href, one, etag)
        self.consumed.add(href)
        return Outcome(one.action, True, etag, href)

    def _present(self, column: Column[str], values: Collection[str]) -> set[str]:
        """Which of ``values`` the collection's items hold in ``column`` (href or uid)."""
        wanted, found = sorted(values), set[str]()
        for start in range(0, len(wanted), _CHUNK):
            query = select(column).where(
                items.c.collection_id == self.collection_id,
                column.in_(wanted[start : start + _CHUNK]),
            )
            if column is items.c.uid:
                query = query.where(UID_PRESENT)  # so that the partial unique index serves
            found.update(self.conn.execute(query).scalars())
        return found

    def _insert(self, rows: list[dict[str, Any]], spans: list[list[dict[str, Any]]]) -> bool:
        """The items (and their occurrences), without tombstones at their hrefs any more."""
        if not rows:
            return True
        cid = self.collection_id
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(items), rows)
        except IntegrityError:
            return False
        # Their ids read back by href: an INSERT ... RETURNING of many rows is answered one
        # row per statement where the database does not promise the order of its answer.
        hrefs = sorted(row["href"] for row in rows)
        ids: dict[str, int] = {}
        for start in range(0, len(hrefs), _CHUNK):
            chunk = hrefs[start : start + _CHUNK]
            read = select(items.c.href, items.c.id).where(
                items.c.collection_id == cid, items.c.href.in_(chunk)
            )
            ids.update((href, item_id) for href, item_id in self.conn.execute(read))
            self.conn.execute(
                delete(tombstones).where(
                    tombstones.c.collection_id == cid, tombstones.c.href.in_(chunk)
                )
            )
        found = [
            {**span, "item_id": ids[row["href"]], "collection_id": cid}
            for row, item_spans in zip(rows, spans, strict=True)
            for span in item_spans
        ]
        if found:
            self.conn.execute(insert(occurrences), found)
        return True

    def _write(self, href: str, text: str | None) -> str | None:
        if self._rev is None:
            self._rev = bump_revision(self.conn, self.collection_id, self.now)
        if text is None:
            delete_item(self.conn, self.collection_id, href, self._rev, not self.bulk)
            return None
        item = prepare_item(self.path, href, text, self._zones)
        if self.conn.dialect.name == "sqlite":
            # SQLite undoes just the failing statement (a UID already used): no savepoint
            # round trips needed; PostgreSQL aborts the whole transaction without one.
            upsert_item(self.conn, self.collection_id, href, item, self._rev, not self.bulk)
        else:
            with self.conn.begin_nested():
                upsert_item(self.conn, self.collection_id, href, item, self._rev, not self.bulk)
        etag: str = item.etag
        return etag

    def _journal_action(self, href: str, one: Applied) -> None:
        action = one.action
        if action.kind is not Kind.LINK:
            after = action.local_text if action.write_local else action.remote_text
            self._journal(href, action, action.kind.value, after, action.detail)
        if action.conflict_loser is not None:
            self._journal(
                href, action, action.kind.value, None, action.detail, action.conflict_loser
            )

    def _journal(
        self, href: str, action: Action, name: str, after: str | None, detail: str,
        loser: str | None = None,
    ) -> None:  # fmt: skip
        self.journal_rows.append(
            {
                "run_id": self.run_id, "collection_id": self.collection_id, "href": href,
                "uid": action.uid, "action": name, "origin": _origin(action),
                "before": loser if loser is not None else action.before_local, "after": after,
                "conflict": loser is not None, "detail": detail, "created_at": self.now,
            }
        )  # fmt: skip

    def _link(self, href: str, one: Applied, etag: str | None) -> None:
        action, remote = one.action, one.remote
        if one.local_pending:
            if action.status is not None:
                self.conn.execute(
                    update(sync_status)
                    .where(
                        sync_status.c.collection_id == self.collection_id,
                        sync_status.c.href == href,
                    )
                    .values(local_etag="")
                )
            return
        self.unlinked_hrefs.add(href)
        if remote is None or etag is None:
            return
        self.unlinked_ids.add(remote.remote_id)
        self.status_rows.append(
            {
                "collection_id": self.collection_id, "remote_id": remote.remote_id,
                "href": href, "uid": action.uid, "remote_version": remote.version,
                "local_etag": etag, "base": remote.ical, "local_counter": action.vector.local,
                "remote_counter": action.vector.remote, "updated_at": self.now,
            }
        )  # fmt: skip

    def flush(self, outbox_through: int) -> None:
        """Write what the batch gathered: statuses replaced, journal appended, outbox consumed."""
        cid = self.collection_id
        if self.bulk and self._rev is not None:
            created = None if self._inserted is None else (cid, self._inserted)
            invalidate_tokens(self.conn, self.path.split("/", 1)[0], created)
        for column, keys in (
            (sync_status.c.href, self.unlinked_hrefs),
            (sync_status.c.remote_id, self.unlinked_ids),
        ):
            ordered = sorted(keys)
            for start in range(0, len(ordered), _CHUNK):
                chunk = ordered[start : start + _CHUNK]
                self.conn.execute(
                    delete(sync_status).where(sync_status.c.collection_id == cid, column.in_(chunk))
                )
        if self.status_rows:
            self.conn.execute(insert(sync_status), self.status_rows)
        if self.journal_rows:
            self.conn.execute(insert(journal), self.journal_rows)
        consumed = sorted(self.consumed)
        for start in range(0, len(consumed), _CHUNK):
            self.conn.execute(
                delete(outbox).where(
                    outbox.c.collection_id == cid,
                    outbox.c.href.in_(consumed[start : start + _CHUNK]),
                    outbox.c.id <= outbox_through,
                )
            )


class _UsedUids:
    """The UIDs a bulk batch may not give a new item: those of the collection's items (read
    for the batch's UIDs at once) and those of the items the batch has taken already."""

    def __init__(
        self, stored: Callable[[Collection[str]], set[str]], expected: Collection[str]
    ) -> None:
        self._read = stored  # which of these UIDs the collection's items hold
        self._asked = set(expected)
        self._stored = stored(self._asked - {""})
        self._claimed: set[str] = set()

    def claim(self, uid: str) -> None:
        """ValueError, as an insert refused by the unique index says, when ``uid`` is used."""
        if not uid:  # an item without UID: the index leaves those out
            return
        if uid not in self._asked:  # the text names another UID than its action
            self._asked.add(uid)
            self._stored |= self._read({uid})
        if uid in self._stored or uid in self._claimed:
            raise ValueError(f"UID {uid!r} is already used in this collection")
        self._claimed.add(uid)
