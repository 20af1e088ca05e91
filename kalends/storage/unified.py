"""The unified calendar ``/<user>/<unified>/``: the union of a user's calendars, never a copy.

It shows the items of the member calendars (the plain and source calendars of the same user)
as decided from the index columns by ``kalends.storage.view``: duplicates collapse into the copy
of the highest-priority calendar, and every item is seen under its member href (or an alias when
two calendars use the same name for different events). That answer is materialised at write
time in ``unified_items`` (``kalends.storage.view_table``), so reads resolve nothing: each is the
plain calendar's indexed query joined to those rows by primary key, the view href read from
them. Writes go to the members through ``kalends.storage.writes``, so a source calendar queues
its outbox row and the view rows change in the same transaction:

- PUT of an item of the view rewrites it in its calendar, at its href there;
- PUT of a new item goes to the default target: the configured source, else the
  highest-priority source, else the first plain calendar;
- DELETE removes the item and every copy collapsed into it, from every calendar.

The collection's own revision, advanced by every member write, is its CTag and sync token; its
``tombstones`` rows list the hrefs each revision changed (``kalends.storage.view_log``).
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, overload

from radicale import item as radicale_item
from radicale import storage as radicale_storage
from radicale.item import filter as radicale_filter
from sqlalchemy import Connection, Select, and_, not_, select, union_all

from kalends.storage import export, query, writes
from kalends.storage.collection import Collection
from kalends.storage.models import UID_PRESENT, items, tombstones, unified_items
from kalends.storage.refusals import Refused
from kalends.storage.rows import FULL_COLUMNS, HEAD_COLUMNS, AnyRow, StoredItem
from kalends.storage.view import IDENT_COLUMNS, Key, Member, Members, members_of
from kalends.storage.view_engine import ViewEngine
from kalends.storage.view_table import seen_columns, seen_in

if TYPE_CHECKING:
    from kalends.storage.plugin import Storage

PRIVATE = "{urn:kalends:private}"  # props Kalends keeps for itself, never shown to clients
DEFAULT_TARGET = PRIVATE + "default-target"
_BATCH = 500
# the plain calendar's columns, with the view href as "href": rows read as a plain calendar's
VIEW_HEAD = seen_columns(HEAD_COLUMNS)
VIEW_FULL = seen_columns(FULL_COLUMNS)


class UnifiedCollection(Collection):
    """A ``kind = "unified"`` collection row: the view over its owner's member calendars."""

    def __init__(self, storage: Storage, row: AnyRow) -> None:
        super().__init__(storage, row)
        self._members: Members | None = None

    def members(self, conn: Connection) -> Members:
        """The member calendars, read once per request (a collection lives for one)."""
        if self._members is None:
            self._members = members_of(conn, posixpath.dirname(self.path))
        return self._members

    def _refuse(self, status: int, reason: str) -> Refused:
        return self._storage.refusals.refuse(status, reason)

    # -- metadata ----------------------------------------------------------------------------

    @overload
    def get_meta(self, key: None = None) -> Mapping[str, str]: ...

    @overload
    def get_meta(self, key: str) -> str | None: ...

    def get_meta(self, key: str | None = None) -> Mapping[str, str] | str | None:
        if key is None:
            return {k: v for k, v in self._props.items() if not k.startswith(PRIVATE)}
        return None if key.startswith(PRIVATE) else self._props.get(key)

    def set_meta(self, props: Mapping[str, str]) -> None:
        raise self._refuse(
            403, "the unified calendar's properties are set by the server configuration"
        )

    def default_target(self, members: Members) -> Member | None:
        """Where a new event goes: the configured source, else the highest-priority source,
        else the first plain calendar."""
        sources = [m for m in members.ordered if m.kind == "source"]
        configured = self._props.get(DEFAULT_TARGET)
        for member in sources:
            if configured and member.source == configured:
                return member
        if sources:
            return sources[0]
        plain = sorted((m for m in members.ordered if m.kind == "calendar"), key=lambda m: m.path)
        return plain[0] if plain else None

    # -- reads: the materialised view (``unified_items``) joined to the items ------------------

    def _item(self, row: AnyRow) -> StoredItem:
        return StoredItem(self, row, partial(self._load_text, row.id))

    def _select(self, columns: Iterable[Any], *where: Any) -> Select[Any]:
        """``columns`` (``VIEW_HEAD``/``VIEW_FULL``) of the items seen, meeting ``where``."""
        return select(*columns).select_from(seen_in(self.id)).where(*where)

    def _batches(
        self, columns: Iterable[Any], *where: Any, joined: bool = True
    ) -> Iterator[list[AnyRow]]:
        """The items seen (meeting ``where``) in view href order, in keyset batches, as
        ``Collection._batches``; ``joined=False``: columns of ``unified_items`` only."""
        after = ""
        while True:
            keyset = (unified_items.c.href > after, *where)
            if joined:
                statement = self._select(columns, *keyset)
            else:
                statement = select(*columns).where(unified_items.c.unified_id == self.id, *keyset)
            with self._storage.transactions.read() as conn:
                rows = conn.execute(statement.order_by(unified_items.c.href).limit(_BATCH)).all()
            if not rows:
                return
            yield list(rows)
            after = rows[-1].href

    def _at(self, columns: Iterable[Any], hrefs: Iterable[str]) -> Iterator[AnyRow]:
        """The items seen at ``hrefs`` (a few hundred at a time)."""
        wanted = list(dict.fromkeys(hrefs))
        for start in range(0, len(wanted), _BATCH):
            with self._storage.transactions.read() as conn:
                yield from conn.execute(
                    self._select(columns, unified_items.c.href.in_(wanted[start : start + _BATCH]))
                ).all()

    def item_at(self, conn: Connection, href: str) -> StoredItem | None:
        """The item seen at ``href`` (for ``Storage.discover``)."""
        row = conn.execute(self._select(VIEW_FULL, unified_items.c.href == href)).first()
        return None if row is None else self._item(row)

    def list_items(self) -> list[StoredItem]:
        with self._storage.transactions.read() as conn:
            rows = conn.execute(self._select(VIEW_HEAD).order_by(unified_items.c.href)).all()
        return [self._item(row) for row in rows]

    def listing(self) -> Iterator[AnyRow]:
        """Every item's index columns (no text), under its view href, in href order."""
        for batch in self._batches(VIEW_HEAD):
            yield from batch

    def heads(self, hrefs: Iterable[str]) -> dict[str, AnyRow]:
        return {row.href: row for row in self._at(VIEW_HEAD, hrefs)}

    def get_all(self) -> Iterator[StoredItem]:
        for batch in self._batches(VIEW_FULL):
            yield from (self._item(row) for row in batch)

    def get_multi(self, hrefs: Iterable[str]) -> Iterator[tuple[str, StoredItem | None]]:
        wanted = list(dict.fromkeys(hrefs))  # consume fully: Radicale relies on it
        found = {row.href: self._item(row) for row in self._at(VIEW_FULL, wanted)}
        for href in wanted:
            yield href, found.get(href)

    def has_uid(self, uid: str) -> bool:
        """Whether a member calendar holds ``uid`` (a PUT of it updates that event): one
        indexed look-up per member, on the UID index."""
        with self._storage.transactions.read() as conn:
            members = self.members(conn)
            hit = conn.execute(
                select(items.c.id)
                .where(members.condition(items.c.collection_id), items.c.uid == uid, UID_PRESENT)
                .limit(1)
            ).first()
        return hit is not None

    def get_filtered(self, filters: Iterable[ET.Element]) -> Iterator[tuple[StoredItem, bool]]:
        """The plain calendar's indexed queries over the members, joined to the view."""
        if not self.tag:
            return
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        with self._storage.transactions.read() as conn:
            ids = self.members(conn).ids
            rows = list(query.prefilter(conn, ids, tag, start, end, simple, VIEW_FULL, self.id))
        for row, matched in rows:
            yield self._item(row), matched

    def busy_periods(
        self, start: int, end: int, limit: int
    ) -> tuple[list[query.FreeBusyPeriod], list[StoredItem]]:
        """As ``Collection.busy_periods``, for the events seen in the view only."""
        with self._storage.transactions.read() as conn:
            ids = self.members(conn).ids
            periods = query.indexed_busy_periods(conn, ids, start, end, limit, self.id)
            rest = query.unindexed_event_rows(conn, ids, start, end, VIEW_FULL, self.id)
        return periods, [self._item(row) for row in rest]

    # -- sync-collection (RFC 6578) ----------------------------------------------------------

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        with self._storage.transactions.read() as conn:
            token, rev, pruned_rev = self._current_token(conn)
            if not old_token:  # lazy: PROPFIND asks for the token and ignores the listing
                return token, (
                    row.href
                    for batch in self._batches((unified_items.c.href,), joined=False)
                    for row in batch
                )
            old_rev = self._parse_token(old_token, rev, pruned_rev)
            hrefs = (
                conn.execute(
                    select(tombstones.c.href).where(
                        tombstones.c.collection_id == self.id,
                        tombstones.c.rev > old_rev,
                        tombstones.c.rev <= rev,
                    )
                )
                .scalars()
                .all()
            )
        return token, hrefs

    # -- writes ------------------------------------------------------------------------------

    def _origin(self, conn: Connection, members: Members, href: str, uid: str) -> Key | None:
        """Where the item seen at ``href`` (else the best copy with ``uid``) lives."""
        owner = conn.execute(
            self._select((items.c.collection_id, items.c.href), unified_items.c.href == href)
        ).first()
        if owner is not None:
            return owner.collection_id, owner.href
        if not uid:
            return None
        copies = conn.execute(
            select(items.c.collection_id, items.c.href).where(
                members.condition(items.c.collection_id), items.c.uid == uid, UID_PRESENT
            )
        ).all()
        if not copies:
            return None
        best = min(copies, key=members.row_rank)
        return best.collection_id, best.href

    def _new_home(self, conn: Connection, members: Members, href: str) -> Key:
        target = self.default_target(members)
        if target is None:
            raise self._refuse(
                409, "the unified calendar has no calendar to create events in: add a source"
            )
        taken = conn.execute(
            select(items.c.id).where(items.c.collection_id == target.id, items.c.href == href)
        ).first()
        if taken is not None:
            raise self._refuse(
                409,
                f"calendar {target.name!r} already holds an item named {href!r} that the "
                "unified calendar does not show (a duplicate): choose another name",
            )
        return target.id, href

    def upload(self, href: str, item: radicale_item.Item) -> tuple[StoredItem, StoredItem | None]:
        with self._storage.transactions.write(self.owner) as conn:
            members = self.members(conn)
            home = self._origin(conn, members, href, item.uid or "")
            if home is None:
                home = self._new_home(conn, members, href)
            old = writes.upsert_item(conn, home[0], home[1], item)
            written = self._as_seen(conn, home, href)
        return written, None if old is None else StoredItem(self, old, href=href)

    def _as_seen(self, conn: Connection, home: Key, href: str) -> StoredItem:
        """The item at ``home`` under its view href, else (a duplicate collapsed into another
        calendar's copy: not seen) under ``href``."""
        shown = and_(unified_items.c.item_id == items.c.id, unified_items.c.unified_id == self.id)
        row = conn.execute(
            select(*FULL_COLUMNS, unified_items.c.href.label("view_href"))
            .select_from(items.outerjoin(unified_items, shown))
            .where(items.c.collection_id == home[0], items.c.href == home[1])
        ).one()
        return StoredItem(self, row, partial(self._load_text, row.id), row.view_href or href)

    def delete(self, href: str | None = None) -> None:
        if href is None:
            raise self._refuse(403, "the unified calendar is virtual and cannot be deleted")
        with self._storage.transactions.write(self.owner) as conn:
            members = self.members(conn)
            owner = conn.execute(self._select(IDENT_COLUMNS, unified_items.c.href == href)).first()
            if owner is None:
                raise radicale_storage.ComponentNotFoundError(href)
            doomed: Sequence[Any] = [owner]
            if _has_copies(conn, members, owner):  # the view decides what collapsed into it
                engine = ViewEngine(conn, members)
                engine.add_targets(href={owner.href})
                engine.resolve()
                doomed = engine.collapsed_into((owner.collection_id, owner.href))
            for row in doomed:
                writes.delete_item(conn, row.collection_id, row.href)

    # -- whole-calendar export ---------------------------------------------------------------

    def stream_ics(self) -> Iterator[str]:
        """The view as one VCALENDAR, in chunks, as ``Collection.stream_ics``."""
        header = export.calendar_header(
            self._props.get("D:displayname"), self._props.get("C:calendar-description")
        )
        with_zone = items.c.text.contains("BEGIN:VTIMEZONE")
        columns = (unified_items.c.href, items.c.text)
        zone_texts = (row.text for rows in self._batches(columns, with_zone) for row in rows)
        texts = (row.text for rows in self._batches(columns) for row in rows)
        return export.stream_calendar(header, export.distinct_timezones(zone_texts), texts)


def _has_copies(conn: Connection, members: Members, row: Any) -> bool:
    """Whether another member item has the UID or the fingerprint of ``row``."""
    itself = and_(items.c.collection_id == row.collection_id, items.c.href == row.href)
    probes = [
        select(items.c.id).where(members.condition(items.c.collection_id), match, not_(itself))
        for match, present in (
            (and_(items.c.uid == row.uid, UID_PRESENT), row.uid),
            (items.c.fingerprint == row.fingerprint, row.fingerprint),
        )
        if present
    ]
    if not probes:
        return False
    probe = probes[0] if len(probes) == 1 else union_all(*probes)
    return conn.execute(probe.limit(1)).first() is not None
