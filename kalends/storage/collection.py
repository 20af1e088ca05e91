"""Radicale's ``BaseCollection`` over the database: every call is one or two indexed queries."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, overload

from radicale import item as radicale_item
from radicale import storage as radicale_storage
from radicale.item import filter as radicale_filter
from sqlalchemy import Connection, bindparam, select, union_all, update

from kalends.storage import export, query, writes
from kalends.storage.models import UID_PRESENT, collections, items, tombstones
from kalends.storage.rows import FULL_COLUMNS, HEAD_COLUMNS, AnyRow, StoredItem, http_date

if TYPE_CHECKING:
    from kalends.storage.plugin import Storage

SYNC_TOKEN_PREFIX = "urn:kalends:sync:"
_BATCH = 500
_WITH_UID = select(items.c.id).where(
    items.c.collection_id == bindparam("cid"), items.c.uid == bindparam("uid"), UID_PRESENT
)


class Collection(radicale_storage.BaseCollection):
    """One collection row; the snapshot read by ``discover`` answers etag and metadata."""

    def __init__(self, storage: Storage, row: AnyRow) -> None:
        self._storage = storage
        self.id: int = row.id
        self._path: str = row.path
        self._uid: str = row.uid
        self._rev: int = row.rev
        self._modified_at: float = row.modified_at
        self._props: dict[str, str] = json.loads(row.props)
        # "calendar", "source" (mirrors ``source``) or "unified" (see kalends.storage.unified)
        self.kind: str = getattr(row, "kind", "calendar")
        self.source: str | None = getattr(row, "source", None)
        self.priority: int = getattr(row, "priority", 0)

    @property
    def path(self) -> str:
        return self._path

    @property
    def etag(self) -> str:
        return f'"{self._uid}-{self._rev}"'

    @property
    def tag(self) -> str:
        return self._props.get("tag", "")

    @property
    def last_modified(self) -> str:
        return http_date(self._modified_at)

    @overload
    def get_meta(self, key: None = None) -> Mapping[str, str]: ...

    @overload
    def get_meta(self, key: str) -> str | None: ...

    def get_meta(self, key: str | None = None) -> Mapping[str, str] | str | None:
        if key is None:
            return dict(self._props)
        return self._props.get(key)

    def set_meta(self, props: Mapping[str, str]) -> None:
        new_props = dict(props)
        with self._storage.transactions.write(self.owner) as conn:
            if not self._path:  # PROPPATCH on "/": the root is stored from now on
                self.id = self._storage.stored_root(conn).id
            conn.execute(
                update(collections)
                .where(collections.c.id == self.id)
                .values(props=json.dumps(new_props, sort_keys=True), tag=new_props.get("tag", ""))
            )
            self._rev = writes.bump_revision(conn, self.id, time.time())
        self._props = new_props

    # -- reads ---------------------------------------------------------------------------------

    def _item(self, row: AnyRow) -> StoredItem:
        return StoredItem(self, row, lambda: self._load_text(row.id))

    def _load_text(self, item_id: int) -> str:
        with self._storage.transactions.read() as conn:
            text: str = conn.execute(select(items.c.text).where(items.c.id == item_id)).scalar_one()
        return text

    def list_items(self) -> list[StoredItem]:
        """Every item without its text (PROPFIND Depth 1 needs etags, not bodies)."""
        with self._storage.transactions.read() as conn:
            rows = conn.execute(
                select(*HEAD_COLUMNS).where(items.c.collection_id == self.id).order_by(items.c.href)
            ).all()
        return [self._item(row) for row in rows]

    def listing(self) -> Iterator[AnyRow]:
        """Every item's index columns (no text) in href order, read batch by batch."""
        for batch in self._batches(HEAD_COLUMNS):
            yield from batch

    def heads(self, hrefs: Iterable[str]) -> dict[str, AnyRow]:
        """The index columns (no text) of the items at ``hrefs`` that exist."""
        wanted = list(dict.fromkeys(hrefs))
        found: dict[str, AnyRow] = {}
        for offset in range(0, len(wanted), _BATCH):
            with self._storage.transactions.read() as conn:
                rows = conn.execute(
                    select(*HEAD_COLUMNS).where(
                        items.c.collection_id == self.id,
                        items.c.href.in_(wanted[offset : offset + _BATCH]),
                    )
                ).all()
            found.update((row.href, row) for row in rows)
        return found

    def get_all(self) -> Iterator[StoredItem]:
        for texts in self._batches(FULL_COLUMNS):
            yield from (self._item(row) for row in texts)

    def _batches(self, columns: Iterable[Any], *where: Any) -> Iterator[list[AnyRow]]:
        """All items (meeting ``where``) in href order, in keyset batches: memory stays flat.

        ``columns`` must include ``items.c.href`` (the key of the next batch).
        """
        after = ""
        while True:
            with self._storage.transactions.read() as conn:
                rows = conn.execute(
                    select(*columns)
                    .where(items.c.collection_id == self.id, items.c.href > after, *where)
                    .order_by(items.c.href)
                    .limit(_BATCH)
                ).all()
            if not rows:
                return
            yield list(rows)
            after = rows[-1].href

    def get_multi(self, hrefs: Iterable[str]) -> Iterator[tuple[str, StoredItem | None]]:
        wanted = list(dict.fromkeys(hrefs))  # consume fully: Radicale relies on it
        for offset in range(0, len(wanted), _BATCH):
            chunk = wanted[offset : offset + _BATCH]
            with self._storage.transactions.read() as conn:
                rows = conn.execute(
                    select(*FULL_COLUMNS).where(
                        items.c.collection_id == self.id, items.c.href.in_(chunk)
                    )
                ).all()
            found = {row.href: self._item(row) for row in rows}
            for href in chunk:
                yield href, found.get(href)

    def has_uid(self, uid: str) -> bool:
        with self._storage.transactions.read() as conn:
            hit = conn.execute(_WITH_UID, {"cid": self.id, "uid": uid}).first()
        return hit is not None

    def get_filtered(self, filters: Iterable[ET.Element]) -> Iterator[tuple[StoredItem, bool]]:
        if not self.tag:
            return
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        with self._storage.transactions.read() as conn:
            rows = list(query.prefilter(conn, self.id, tag, start, end, simple))
        for row, matched in rows:
            yield self._item(row), matched

    def busy_periods(
        self, start: int, end: int, limit: int
    ) -> tuple[list[query.FreeBusyPeriod], list[StoredItem]]:
        """Indexed busy periods, and the events the index cannot vouch for in this window."""
        with self._storage.transactions.read() as conn:
            periods = query.indexed_busy_periods(conn, self.id, start, end, limit)
            rest = query.unindexed_event_rows(conn, self.id, start, end)
        return periods, [self._item(row) for row in rest]

    # -- sync-collection (RFC 6578) ------------------------------------------------------------

    def _current_token(self, conn: Connection) -> tuple[str, int, int]:
        """The sync token now, with the revision it names and the oldest one still valid."""
        rev, pruned_rev = conn.execute(
            select(collections.c.rev, collections.c.pruned_rev).where(collections.c.id == self.id)
        ).one()
        return f"{SYNC_TOKEN_PREFIX}{self._uid}:{rev}", int(rev), int(pruned_rev)

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        with self._storage.transactions.read() as conn:
            token, rev, pruned_rev = self._current_token(conn)
            if not old_token:  # lazy: PROPFIND asks for the token and ignores the listing
                return token, (
                    row.href for batch in self._batches((items.c.href,)) for row in batch
                )
            old_rev = self._parse_token(old_token, rev, pruned_rev)
            changed = union_all(
                select(items.c.href).where(
                    items.c.collection_id == self.id, items.c.rev > old_rev, items.c.rev <= rev
                ),
                select(tombstones.c.href).where(
                    tombstones.c.collection_id == self.id,
                    tombstones.c.rev > old_rev,
                    tombstones.c.rev <= rev,
                ),
            )
            hrefs = conn.execute(changed).scalars().all()
        return token, hrefs

    def _parse_token(self, token: str, rev: int, pruned_rev: int) -> int:
        prefix = f"{SYNC_TOKEN_PREFIX}{self._uid}:"
        if not token.startswith(prefix) or not token[len(prefix) :].isdigit():
            raise ValueError(f"Sync token not from this collection: {token!r}")
        old_rev = int(token[len(prefix) :])
        if old_rev > rev or old_rev < pruned_rev:
            raise ValueError(f"Sync token expired or unknown: {token!r}")
        return old_rev

    # -- writes --------------------------------------------------------------------------------

    def upload(self, href: str, item: radicale_item.Item) -> tuple[StoredItem, StoredItem | None]:
        with self._storage.transactions.write(self.owner) as conn:
            old = writes.upsert_item(conn, self.id, href, item)
            row = conn.execute(writes.ITEM_AT, {"cid": self.id, "href": href}).one()
        return self._item(row), (self._item(old) if old is not None else None)

    def put_item(self, href: str, item: radicale_item.Item, new: bool = False) -> str:
        """``upload`` inside the caller's write lock (``Storage.acquire_lock``), whose
        transaction rolls back whole on an error: no savepoint of its own, and no reading
        back of what it wrote. ``new``: the caller found no item at ``href`` in this
        transaction. Returns the new etag."""
        conn = self._storage.transactions.current
        if conn is None or type(self).upload is not Collection.upload:  # a view routes writes
            return self.upload(href, item)[0].etag
        writes.upsert_item(conn, self.id, href, item, new=new)
        return str(item.etag)

    def delete(self, href: str | None = None) -> None:
        if href is None:
            self._storage.delete_collection_tree(self.path)
            return
        with self._storage.transactions.write(self.owner) as conn:
            if not writes.delete_item(conn, self.id, href):
                raise radicale_storage.ComponentNotFoundError(href)

    # -- whole-collection export ---------------------------------------------------------------

    def stream_ics(self) -> Iterator[str]:
        """The calendar as one VCALENDAR, in chunks (see ``kalends.storage.export``)."""
        header = export.calendar_header(
            self._props.get("D:displayname"), self._props.get("C:calendar-description")
        )
        with_zone = items.c.text.contains("BEGIN:VTIMEZONE")
        columns = (items.c.href, items.c.text)
        zone_texts = (row.text for rows in self._batches(columns, with_zone) for row in rows)
        texts = (row.text for rows in self._batches(columns) for row in rows)
        return export.stream_calendar(header, export.distinct_timezones(zone_texts), texts)

    def serialize(
        self, vcf_to_ics: bool = False, ShareActions: dict[str, Any] | None = None
    ) -> str:
        if self.tag == "VCALENDAR":
            return "".join(self.stream_ics())
        return str(super().serialize(vcf_to_ics, ShareActions or {}))
