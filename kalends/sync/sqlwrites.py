"""The write side of ``SqlSyncStore.apply``: one batch of applied actions in one transaction.

Items are written one by one (each needs its own checks), while journal entries, status rows
and consumed outbox rows are gathered and written with a few statements per batch: an initial
import of thousands of events is bound by parsing, not by round trips.
"""

from __future__ import annotations

import re
import time
from typing import Any

import vobject.icalendar as vobject_icalendar
from radicale import item as radicale_item
from sqlalchemy import Connection, delete, insert, select, update

from kalends.server.timezones import install_per_thread_zones
from kalends.storage.models import items, journal, outbox, sync_status
from kalends.storage.view_log import invalidate_tokens
from kalends.storage.writes import bump_revision, delete_item, upsert_item
from kalends.sync.model import Action, Kind
from kalends.sync.store import Applied, Outcome

MAX_RRULE_OCCURRENCES = 10_000
_CHUNK = 500
# Above this many items a batch does not track the unified view item by item: it invalidates
# the unified calendar's sync tokens once (clients resync, as they would after an import).
BULK = 20


class ZoneCache:
    """The time zones a batch has read already, by the exact text of their VTIMEZONE.

    Reading a VTIMEZONE (vobject builds a tzinfo from its rules) costs more than the rest of
    an event; an import repeats the same few blocks thousands of times. A block seen before is
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
    item.prepare()
    if zones is not None:
        zones.learn(text)
    return item


def _origin(action: Action) -> str:
    if action.kind is Kind.MERGE:
        return "merge"
    return "local" if action.write_remote else "remote"


def _free_href(uid: str, taken: set[str]) -> str:
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
        self._zones = ZoneCache()

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

    def _new_href(self, uid: str) -> str:
        simple = _free_href(uid, set())
        if self.conn.execute(self._etag_at(simple)).scalar() is None:
            return simple
        stem = simple.removesuffix(".ics")
        taken = set(
            self.conn.execute(
                select(items.c.href).where(
                    items.c.collection_id == self.collection_id, items.c.href.like(f"{stem}%")
                )
            ).scalars()
        )
        return _free_href(uid, taken)

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
            invalidate_tokens(self.conn, self.path.split("/", 1)[0])
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
