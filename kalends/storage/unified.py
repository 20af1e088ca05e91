"""The unified calendar ``/<user>/<unified>/``: the union of a user's calendars, never a copy.

Reads are a view of the member calendars (the plain and source calendars of the same user),
decided from the index columns by ``kalends.storage.view``: duplicates collapse into the copy of
the highest-priority calendar, and every item is seen under its member href (or an alias when two
calendars use the same name for different events). Writes go to the members through
``kalends.storage.writes``, so a source calendar queues its outbox row in the same transaction:

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
from sqlalchemy import Connection, bindparam, select

from kalends.storage import export, query, writes
from kalends.storage.collection import Collection
from kalends.storage.models import UID_PRESENT, items, tombstones
from kalends.storage.refusals import Refused
from kalends.storage.rows import AnyRow, StoredItem
from kalends.storage.view import (
    IDENT_COLUMNS,
    VIEW_FULL_COLUMNS,
    Key,
    Member,
    Members,
    Seen,
    full_view,
    members_of,
    seen,
)
from kalends.storage.view_engine import ViewEngine

if TYPE_CHECKING:
    from kalends.storage.plugin import Storage

PRIVATE = "{urn:kalends:private}"  # props Kalends keeps for itself, never shown to clients
DEFAULT_TARGET = PRIVATE + "default-target"
_BATCH = 500


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

    # -- reads -------------------------------------------------------------------------------

    def _item(self, row: AnyRow, href: str | None = None) -> StoredItem:
        return StoredItem(self, row, partial(self._load_text, row.id), href)

    def _full(self) -> list[tuple[str, Any, bool]]:
        with self._storage.transactions.read() as conn:
            return full_view(conn, self.members(conn))

    def _texts(self, conn: Connection, ids: Sequence[int]) -> dict[int, str]:
        query = select(items.c.id, items.c.text).where(
            items.c.id.in_(bindparam("ids", expanding=True))
        )
        return {row.id: row.text for row in conn.execute(query, {"ids": list(ids)})}

    def item_at(self, conn: Connection, href: str) -> StoredItem | None:
        """The item seen at ``href`` (for ``Storage.discover``)."""
        row = ViewEngine(conn, self.members(conn)).owners([href]).get(href)
        return None if row is None else self._item(row, href)

    def list_items(self) -> list[StoredItem]:
        return [self._item(row, href) for href, row, _own in self._full()]

    def listing(self) -> Iterator[Any]:  # rows, or Seen for aliased ones
        """Every item's index columns (no text), under its view href, in href order."""
        for href, row, own in self._full():
            yield row if own else Seen(row, href)

    def heads(self, hrefs: Iterable[str]) -> dict[str, AnyRow]:
        wanted = list(dict.fromkeys(hrefs))
        found: dict[str, AnyRow] = {}
        for start in range(0, len(wanted), _BATCH):
            with self._storage.transactions.read(snapshot=True) as conn:
                engine = ViewEngine(conn, self.members(conn))
                owners = engine.owners(wanted[start : start + _BATCH])
            found.update((href, seen(row, href)) for href, row in owners.items())
        return found

    def get_all(self) -> Iterator[StoredItem]:
        listed = self._full()
        for start in range(0, len(listed), _BATCH):
            chunk = listed[start : start + _BATCH]
            with self._storage.transactions.read() as conn:
                texts = self._texts(conn, [row.id for _href, row, _own in chunk])
            for href, row, _own in chunk:
                if row.id in texts:  # else deleted since the listing
                    yield StoredItem(self, row, partial(texts.__getitem__, row.id), href)

    def get_multi(self, hrefs: Iterable[str]) -> Iterator[tuple[str, StoredItem | None]]:
        wanted = list(dict.fromkeys(hrefs))  # consume fully: Radicale relies on it
        for start in range(0, len(wanted), _BATCH):
            chunk = wanted[start : start + _BATCH]
            with self._storage.transactions.read(snapshot=True) as conn:
                engine = ViewEngine(conn, self.members(conn))
                owners = engine.owners(chunk, VIEW_FULL_COLUMNS)
            for href in chunk:
                row = owners.get(href)
                yield href, None if row is None else StoredItem(self, row, href=href)

    def has_uid(self, uid: str) -> bool:
        with self._storage.transactions.read() as conn:
            members = self.members(conn)
            hit = conn.execute(
                select(items.c.id)
                .where(members.condition(items.c.collection_id), items.c.uid == uid, UID_PRESENT)
                .limit(1)
            ).first()
        return hit is not None

    def get_filtered(self, filters: Iterable[ET.Element]) -> Iterator[tuple[StoredItem, bool]]:
        if not self.tag:
            return
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        with self._storage.transactions.read(snapshot=True) as conn:
            members = self.members(conn)
            rows = list(
                query.prefilter(conn, members.ids, tag, start, end, simple, VIEW_FULL_COLUMNS)
            )
            engine = ViewEngine(conn, members)
            engine.add_rows(row for row, _matched in rows)
            views = engine.resolve()
        for row, matched in rows:
            href = views.get((row.collection_id, row.href))
            if href is not None:
                yield self._item(row, href), matched

    def busy_periods(
        self, start: int, end: int, limit: int
    ) -> tuple[list[query.FreeBusyPeriod], list[StoredItem]]:
        """As ``Collection.busy_periods``, for the events seen in the view only."""
        with self._storage.transactions.read(snapshot=True) as conn:
            members = self.members(conn)
            busy = query.busy_occurrence_rows(conn, members.ids, start, end, IDENT_COLUMNS)
            rest = query.unindexed_event_rows(conn, members.ids, start, end, VIEW_FULL_COLUMNS)
            engine = ViewEngine(conn, members)
            engine.add_rows(busy, thin=True)  # a row per occurrence: the engine keeps one
            engine.add_rows(rest)
            views = engine.resolve()
        seen_busy = [r for r in busy if (r.collection_id, r.href) in views]
        periods = query.clipped_periods(seen_busy, start, end, limit)
        return periods, [
            self._item(r, views[(r.collection_id, r.href)])
            for r in rest
            if (r.collection_id, r.href) in views
        ]

    # -- sync-collection (RFC 6578) ----------------------------------------------------------

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        with self._storage.transactions.read() as conn:
            token, rev, pruned_rev = self._current_token(conn)
            if not old_token:  # lazy: PROPFIND asks for the token and ignores the listing
                return token, (row.href for row in self.listing())
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
        owner = ViewEngine(conn, members).owners([href]).get(href)
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
            engine = ViewEngine(conn, members)
            engine.add_targets(href={home[1]})
            view_href = engine.resolve().get(home, href)
            row = engine.rows[home]
        replaced = None if old is None else StoredItem(self, old, href=href)
        return self._item(row, view_href), replaced

    def delete(self, href: str | None = None) -> None:
        if href is None:
            raise self._refuse(403, "the unified calendar is virtual and cannot be deleted")
        with self._storage.transactions.write(self.owner) as conn:
            engine = ViewEngine(conn, self.members(conn))
            owner = engine.owners([href]).get(href)
            if owner is None:
                raise radicale_storage.ComponentNotFoundError(href)
            for row in engine.collapsed_into((owner.collection_id, owner.href)):
                writes.delete_item(conn, row.collection_id, row.href)

    # -- whole-calendar export ---------------------------------------------------------------

    def stream_ics(self) -> Iterator[str]:
        """The view as one VCALENDAR, in chunks, as ``Collection.stream_ics``."""
        header = export.calendar_header(
            self._props.get("D:displayname"), self._props.get("C:calendar-description")
        )
        ids = [row.id for _href, row, _own in self._full()]
        zones = self._timezones({item_id: index for index, item_id in enumerate(ids)})
        return export.stream_calendar(header, zones, self._texts_in_order(ids))

    def _timezones(self, order: Mapping[int, int]) -> str:
        """Each VTIMEZONE once (by TZID, the first in view order) of the items seen, read in
        batches of the few items that carry one."""
        blocks: dict[str | tuple[int, int], tuple[tuple[int, int], str]] = {}
        after = 0
        while True:
            with self._storage.transactions.read() as conn:
                rows = conn.execute(
                    select(items.c.id, items.c.text)
                    .where(
                        self.members(conn).condition(items.c.collection_id),
                        items.c.text.contains("BEGIN:VTIMEZONE"),
                        items.c.id > after,
                    )
                    .order_by(items.c.id)
                    .limit(_BATCH)
                ).all()
            if not rows:
                break
            after = rows[-1].id
            for row in rows:
                if row.id not in order:
                    continue
                for number, (tzid, block) in enumerate(export.split_item(row.text)[0]):
                    place = (order[row.id], number)
                    key = tzid if tzid is not None else place
                    if key not in blocks or place < blocks[key][0]:
                        blocks[key] = (place, block)
        return "".join(block for _place, block in sorted(blocks.values()))

    def _texts_in_order(self, ids: Sequence[int]) -> Iterator[str]:
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            with self._storage.transactions.read() as conn:
                texts = self._texts(conn, chunk)
            yield from (texts[item_id] for item_id in chunk if item_id in texts)
