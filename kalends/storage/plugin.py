"""Radicale's ``BaseStorage`` over SQLAlchemy: discovery, collection lifecycle, moves, locking."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from radicale import config as radicale_config
from radicale import item as radicale_item
from radicale import pathutils
from radicale import storage as radicale_storage
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from kalends.storage import view_log, writes
from kalends.storage.base import Transactions
from kalends.storage.collection import Collection
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.storage.models import collections, items
from kalends.storage.refusals import RefusalSlot
from kalends.storage.rows import FULL_COLUMNS, AnyRow, StoredItem
from kalends.storage.unified import UnifiedCollection

PLUGIN_CONFIG_SCHEMA = {
    "storage": {"database_url": {"value": "", "help": "SQLAlchemy database URL", "type": str}}
}

ChildContext = Callable[[str, str | None], AbstractContextManager[None]]

# a path and its parent's (two fixed parameters: an expanding list is rendered anew each time)
_COLLECTIONS_AT = select(collections).where(
    collections.c.path.in_([bindparam("path"), bindparam("parent")])
)
_ROOT = {"id": 0, "path": "", "uid": "root", "rev": 0, "modified_at": 0.0, "props": "{}"}


class _RootRow:
    """The root collection "/" always exists; it is stored only once properties are set on it."""

    def __init__(self) -> None:
        for key, value in _ROOT.items():
            setattr(self, key, value)


def _owner(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


def _like_prefix(path: str) -> str:
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


class Storage(radicale_storage.BaseStorage):
    """One instance per process, shared by every request thread."""

    _is_collision_free = True
    _supports_unicode = True
    _supports_trailing_whitespace = True
    _supports_problematic_chars = True

    def __init__(
        self, configuration: radicale_config.Configuration, engine: Engine | None = None
    ) -> None:
        """Use ``engine``, or the database named by ``[storage] database_url`` (migrated first).

        Without either, a SQLite file in ``[storage] filesystem_folder`` is used, so that a
        plain Radicale configuration with ``type = kalends.storage`` works as it is.
        """
        configuration = configuration.copy(PLUGIN_CONFIG_SCHEMA)
        super().__init__(configuration)
        if engine is None:
            url = configuration.get("storage", "database_url") or "sqlite:///{}".format(
                os.path.join(configuration.get("storage", "filesystem_folder"), "kalends.db")
            )
            migrate_database(url)
            engine = create_storage_engine(url)
        self.transactions = Transactions(engine)
        self.refusals = RefusalSlot()

    def _collection(self, row: AnyRow) -> Collection:
        """The collection object for a stored row: the unified calendar is a view."""
        if getattr(row, "kind", "calendar") == "unified":
            return UnifiedCollection(self, row)
        return Collection(self, row)

    # -- discovery -----------------------------------------------------------------------------

    def discover(
        self,
        path: str,
        depth: str = "0",
        child_context_manager: ChildContext | None = None,
        user_groups: Iterable[str] = (),
    ) -> Iterator[Collection | StoredItem]:
        sane = pathutils.strip_path(path)
        if not sane:
            with self.transactions.read() as conn:
                stored = conn.execute(select(collections).where(collections.c.path == "")).first()
            root = Collection(self, stored if stored is not None else _RootRow())  # type: ignore[arg-type]
            yield root
            if depth != "0":
                yield from self._children(root, child_context_manager)
            return
        _parent, found = self._look_up(sane)
        if not isinstance(found, Collection):
            if found is not None:
                yield found
            return
        yield found
        if depth != "0":
            yield from self._children(found, child_context_manager)

    def parent_and_item(
        self, path: str
    ) -> tuple[Collection | None, Collection | StoredItem | None]:
        """The collection that holds ``path`` and what is at ``path``, in one look-up (a
        write needs both)."""
        sane = pathutils.strip_path(path)
        return self._look_up(sane) if sane else (None, None)

    def _look_up(self, sane: str) -> tuple[Collection | None, Collection | StoredItem | None]:
        parent_path = posixpath.dirname(sane)
        with self.transactions.read() as conn:
            rows = {
                row.path: row
                for row in conn.execute(_COLLECTIONS_AT, {"path": sane, "parent": parent_path})
            }
            target = rows.get(sane)
            parent = rows.get(parent_path)
            found = (
                self._collection(target)
                if target is not None
                else self._item_at(conn, parent, posixpath.basename(sane))
            )
        return (self._collection(parent) if parent is not None else None), found

    def _item_at(self, conn: Connection, parent: AnyRow | None, href: str) -> StoredItem | None:
        if parent is None:
            return None
        if parent.kind == "unified":
            return UnifiedCollection(self, parent).item_at(conn, href)
        row = conn.execute(writes.ITEM_AT, {"cid": parent.id, "href": href}).first()
        return None if row is None else StoredItem(Collection(self, parent), row)

    def _children(
        self, collection: Collection, child_context_manager: ChildContext | None
    ) -> Iterator[Collection | StoredItem]:
        guard = child_context_manager or (lambda _path, _href: contextlib.nullcontext())
        if collection.path:
            for item in collection.list_items():
                with guard(collection.path, item.href):
                    yield item
        with self.transactions.read() as conn:
            rows = conn.execute(
                select(collections)
                .where(collections.c.parent_path == collection.path, collections.c.path != "")
                .order_by(collections.c.path)
            ).all()
        for row in rows:
            with guard(row.path, None):
                yield self._collection(row)

    # -- collections ---------------------------------------------------------------------------

    def create_collection(
        self,
        href: str,
        items: Iterable[radicale_item.Item] | None = None,
        props: Mapping[str, str] | None = None,
    ) -> tuple[radicale_storage.BaseCollection, dict[str, radicale_item.Item], list[str]]:
        sane = pathutils.strip_path(href)
        with self.transactions.write(_owner(sane)) as conn:
            row = conn.execute(select(collections).where(collections.c.path == sane)).first()
            if row is None:
                row = self.insert_collection(conn, sane, props or {})
            elif row.kind == "unified":
                raise self.refusals.refuse(
                    403, "the unified calendar is virtual: it cannot be created or replaced"
                )
            elif props:
                conn.execute(
                    update(collections)
                    .where(collections.c.id == row.id)
                    .values(props=json.dumps(props, sort_keys=True), tag=props.get("tag", ""))
                )
            replaced: dict[str, radicale_item.Item] = {}
            new_hrefs: list[str] = []
            if props:
                collection = Collection(self, row)
                replaced, new_hrefs = self._replace_items(
                    conn, collection, list(items or ()), props.get("tag", "")
                )
                if row.tag != props.get("tag", ""):  # it joined or left the unified view
                    view_log.invalidate_tokens(conn, _owner(sane))
            row = conn.execute(select(collections).where(collections.c.id == row.id)).one()
        return self._collection(row), replaced, new_hrefs

    def stored_root(self, conn: Connection) -> AnyRow:
        """The row of the root collection, inserted the first time properties are set on "/"."""
        row = conn.execute(select(collections).where(collections.c.path == "")).first()
        return row if row is not None else self.insert_collection(conn, "", {})

    def insert_collection(
        self, conn: Connection, path: str, props: Mapping[str, str], **columns: Any
    ) -> AnyRow:
        """Insert a collection row; ``columns``: kind, source, priority (default: a calendar)."""
        return conn.execute(
            insert(collections)
            .values(
                path=path,
                parent_path=posixpath.dirname(path),
                uid=uuid.uuid4().hex,
                tag=props.get("tag", ""),
                props=json.dumps(props, sort_keys=True),
                rev=0,
                pruned_rev=0,
                modified_at=time.time(),
                **columns,
            )
            .returning(*collections.c)
        ).one()

    def _replace_items(
        self,
        conn: Connection,
        collection: Collection,
        new_items: list[radicale_item.Item],
        tag: str,
    ) -> tuple[dict[str, radicale_item.Item], list[str]]:
        """Replace the content of a collection (PUT of a whole calendar) in one transaction."""
        old_rows = {
            row.href: row
            for row in conn.execute(
                select(*FULL_COLUMNS).where(items.c.collection_id == collection.id)
            )
        }
        for href in old_rows:
            writes.delete_item(conn, collection.id, href)
        suffix = {"VCALENDAR": ".ics", "VADDRESSBOOK": ".vcf"}.get(tag)
        if suffix is None:
            return {}, []
        taken: set[str] = set()
        replaced: dict[str, radicale_item.Item] = {}
        new_hrefs: list[str] = []
        for item in new_items:
            href = _free_href(item.uid, suffix, taken)
            taken.add(href)
            item.href = href
            writes.upsert_item(conn, collection.id, href, item)
            if href in old_rows:
                replaced[href] = StoredItem(collection, old_rows[href])
            else:
                new_hrefs.append(href)
        return replaced, new_hrefs

    def delete_collection_tree(self, path: str) -> None:
        """Delete a collection and every collection below it (items cascade); "" deletes all."""
        statement = delete(collections)
        if path:
            statement = statement.where(
                or_(
                    collections.c.path == path,
                    collections.c.path.like(_like_prefix(path), escape="\\"),
                )
            )
        with self.transactions.write(_owner(path)) as conn:
            conn.execute(statement)
            if path:  # a calendar of the view may be gone: its items cannot be listed any more
                view_log.invalidate_tokens(conn, _owner(path))

    def collection_kinds(self, paths: Iterable[str]) -> dict[str, str]:
        """The kind ("calendar", "source", "unified") of each of ``paths`` (stripped, as
        collections store them) that is a collection."""
        with self.transactions.read() as conn:
            rows = conn.execute(
                select(collections.c.path, collections.c.kind).where(
                    collections.c.path.in_(set(paths))
                )
            ).all()
        return {row.path: row.kind for row in rows}

    # -- moves and locking ---------------------------------------------------------------------

    def move(
        self, item: radicale_item.Item, to_collection: radicale_storage.BaseCollection, to_href: str
    ) -> None:
        if not pathutils.is_safe_filesystem_path_component(to_href):
            raise pathutils.UnsafePathError(to_href)
        source = item.collection
        assert isinstance(source, Collection) and isinstance(to_collection, Collection)
        assert item.href is not None
        if isinstance(source, UnifiedCollection) or isinstance(to_collection, UnifiedCollection):
            raise self.refusals.refuse(
                403, "items cannot be moved into or out of the unified calendar"
            )
        with self.transactions.write(_owner(source.path)) as conn:
            writes.delete_item(conn, to_collection.id, to_href)
            writes.delete_item(conn, source.id, item.href)
            writes.upsert_item(conn, to_collection.id, to_href, item)

    @contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args: Any, **kwargs: Any) -> Iterator[None]:
        if mode != "w":
            yield
            return
        owner = _owner(kwargs.get("path") or "") or user
        with self.transactions.write(owner):
            yield

    def verify(self) -> bool:
        """No UID twice in one collection (the unique index guarantees it; this proves it)."""
        with self.transactions.read() as conn:
            duplicates = conn.execute(
                select(items.c.collection_id, items.c.uid, func.count(literal(1)))
                .where(items.c.uid != "")
                .group_by(items.c.collection_id, items.c.uid)
                .having(func.count(literal(1)) > 1)
            ).all()
        return not duplicates


def _free_href(uid: str, suffix: str, taken: set[str]) -> str:
    """Radicale's choice of href for an item of a whole-collection upload."""
    candidates = [
        uid if uid.lower().endswith(suffix.lower()) else uid + suffix,
        radicale_item.get_etag(uid).strip('"') + suffix,
    ]
    for href in candidates:
        if pathutils.is_safe_filesystem_path_component(href) and href not in taken:
            return href
    found: str = radicale_item.find_available_uid(lambda href: href in taken, suffix)
    return found
