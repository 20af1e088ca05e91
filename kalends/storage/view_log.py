"""The unified calendar's revision log, kept up to date as its members are written.

A write to one member can change what the unified view shows under other hrefs: deleting the
winner of a duplicate reveals the loser under its own href, an edited summary merges or splits a
fingerprint group. A member's own log cannot tell afterwards (a tombstone keeps no UID or
fingerprint), so every member write compares the view around the written item before and after,
in the write's transaction, and records the view hrefs whose item changed, with the unified
collection's next revision, as ``tombstones`` rows of the unified collection. A sync-collection
delta on the unified calendar is then one indexed query, as on any calendar, and each href in it
is answered with its current state (200, or 404 when nothing is seen there any more).

The same comparison keeps the materialised view (``unified_items``, see
``kalends.storage.view_table``) exact: the rows of the changed view hrefs are rewritten with what
the view shows there after the write. Changes the log cannot follow item by item (a member
calendar deleted, a priority changed, a bulk import) invalidate the unified calendar's sync
tokens instead, clients then sync from scratch, and bring its rows up to date in the same
transaction: rebuilt from the whole view, or, for the new items of a bulk import, compared
around those items as a watch compares them (``invalidate_tokens``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, not_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from kalends.storage import view_table
from kalends.storage.models import UID_PRESENT, collections, items, tombstones
from kalends.storage.view import MEMBER_KINDS, Ident, Key, Member, Members, members_of, unaliased
from kalends.storage.view_engine import ViewEngine

SYNC_TOKEN_MAX_AGE = 30 * 24 * 3600  # as for every calendar (kalends.storage.writes)
_PRUNE_EVERY = 64  # revisions between two prunings of the log


class ViewWatch:
    """The view around one member item, taken before it is written."""

    def __init__(
        self,
        conn: Connection,
        unified_ids: Sequence[int],
        engine: ViewEngine,
        key: Key,
        owner: str,
    ) -> None:
        self._conn = conn
        self._unified_ids = unified_ids
        self._engine = engine
        self._key = key
        self._owner = owner
        self._before = engine.resolve()
        self._targets = set(engine.targets)

    def finish(self, written: Ident | None) -> None:
        """Record what changed, now that the item is ``written`` (None: deleted), and rewrite
        the table's rows at the view hrefs that changed."""
        engine = self._engine
        engine.replace(self._key, written)
        after = engine.resolve()
        if engine.targets - self._targets - {self._key}:
            # An alias chain reached items the first look did not cover (two calendars holding
            # literal "<name>~<calendar>.ics" names): no exact delta, clients sync afresh.
            invalidate_tokens(self._conn, self._owner)
            return
        before = self._before
        changed = {
            href
            for key in before.keys() | after.keys()
            if before.get(key) != after.get(key)
            for href in (before.get(key), after.get(key))
            if href
        }
        changed.update(h for h in (before.get(self._key), after.get(self._key)) if h)
        shown = {href: engine.rows[key].id for key, href in after.items() if href in changed}
        view_table.apply(self._conn, self._unified_ids, changed, shown)
        for unified_id in self._unified_ids:
            record(self._conn, unified_id, changed)


class _LoneWatch:
    """A write whose item shares no UID, fingerprint or href with any other member item: the
    view changes at its href only, where it shows the item itself (the common case, answered
    without loading the view). ``new``: no item was there, so the view showed nothing."""

    def __init__(self, conn: Connection, unified_ids: Sequence[int], href: str, new: bool) -> None:
        self._conn = conn
        self._unified_ids = unified_ids
        self._href = href
        self._new = new

    def finish(self, written: Ident | None) -> None:
        item_id = None if written is None else written.id
        view_table.show(self._conn, self._unified_ids, self._href, item_id, self._new)
        for unified_id in self._unified_ids:
            record(self._conn, unified_id, {self._href})


def _probe(with_uids: bool, with_fps: bool) -> Any:
    """Any other member item at the href, with one of the UIDs or one of the fingerprints: one
    indexed look-up per key (an OR of the three would scan the items table)."""
    members = items.c.collection_id.in_(bindparam("members", expanding=True))
    not_itself = not_(
        and_(items.c.collection_id == bindparam("cid"), items.c.href == bindparam("href"))
    )
    probes = [select(items.c.id).where(members, items.c.href == bindparam("href"), not_itself)]
    if with_uids:
        uids = items.c.uid.in_(bindparam("uids", expanding=True))
        probes.append(select(items.c.id).where(members, UID_PRESENT, uids, not_itself))
    if with_fps:
        fps = items.c.fingerprint.in_(bindparam("fps", expanding=True))
        probes.append(select(items.c.id).where(members, fps, not_itself))
    return union_all(*probes).limit(1)


# Built once: on every write, building and keying these cost more than running them.
_PROBES = {(u, f): _probe(u, f) for u in (False, True) for f in (False, True)}
_IDENTITY = select(items.c.uid, items.c.fingerprint).where(
    items.c.collection_id == bindparam("cid"), items.c.href == bindparam("href")
)
_SIBLINGS = select(
    collections.c.id,
    collections.c.path,
    collections.c.parent_path,
    collections.c.kind,
    collections.c.source,
    collections.c.priority,
    collections.c.tag,
).where(
    collections.c.parent_path
    == select(collections.c.parent_path)
    .where(collections.c.id == bindparam("cid"))
    .scalar_subquery()
)
_NEXT_REV = (
    update(collections)
    .where(collections.c.id == bindparam("unified"))
    .values(rev=collections.c.rev + 1, modified_at=bindparam("now"))
    .returning(collections.c.rev)
)


def _entry_upsert(dialect: Any) -> Any:
    """Log an href at a revision, replacing its earlier entry (one statement, not two)."""
    statement = dialect.insert(tombstones)
    return statement.on_conflict_do_update(
        index_elements=[tombstones.c.collection_id, tombstones.c.href],
        set_={"rev": statement.excluded.rev, "deleted_at": statement.excluded.deleted_at},
    )


_SET_ENTRIES = {"sqlite": _entry_upsert(sqlite), "postgresql": _entry_upsert(postgresql)}


def identity(conn: Connection, collection_id: int, href: str) -> Any:
    """The UID and fingerprint of the item at ``href`` (a row), or None: what ``watch`` needs
    of the item a write replaces."""
    return conn.execute(_IDENTITY, {"cid": collection_id, "href": href}).first()


def _alone(
    conn: Connection,
    members: Members,
    collection_id: int,
    href: str,
    uids: set[str],
    fps: set[str],
) -> bool:
    """No other member item shares the written item's href, or its UID or fingerprint (old or
    new, both in ``uids`` and ``fps``): nothing else in the view can be affected by the write."""
    uids.discard("")
    fps.discard("")
    params: dict[str, Any] = {"members": list(members.ids), "cid": collection_id, "href": href}
    if uids:
        params["uids"] = sorted(uids)
    if fps:
        params["fps"] = sorted(fps)
    other = conn.execute(_PROBES[bool(uids), bool(fps)], params).first()
    return other is None


def watch(
    conn: Connection,
    collection_id: int,
    href: str,
    old: Any,
    uids: Iterable[str] = (),
    fps: Iterable[str] = (),
) -> ViewWatch | _LoneWatch | None:
    """Look at the view around ``href`` of member ``collection_id`` before writing it there.

    ``old``: the item there now (a row with its uid and fingerprint, see ``identity``) or None;
    ``uids`` and ``fps``: the identity the item is about to take. None when the collection is
    no member of a unified calendar.
    """
    siblings = conn.execute(_SIBLINGS, {"cid": collection_id}).all()
    unified = [row for row in siblings if row.kind == "unified"]
    unified_ids = [row.id for row in unified]
    members = Members(
        Member(row.id, row.path, row.kind, row.source, row.priority)
        for row in siblings
        if row.kind in MEMBER_KINDS and row.tag == "VCALENDAR"
    )
    if not unified or collection_id not in members.by_id:
        return None
    old_uids, old_fps = ({old.uid}, {old.fingerprint}) if old is not None else (set(), set())
    if "~" not in href and _alone(
        conn, members, collection_id, href, {*uids, *old_uids}, {*fps, *old_fps}
    ):
        return _LoneWatch(conn, unified_ids, href, new=old is None)
    engine = ViewEngine(conn, members)
    _target_around(engine, {href}, {*uids}, {*fps})
    return ViewWatch(conn, unified_ids, engine, (collection_id, href), unified[0].parent_path)


def _target_around(engine: ViewEngine, hrefs: set[str], uids: set[str], fps: set[str]) -> None:
    """Make targets of what writing items at ``hrefs`` (taking ``uids`` and ``fps``) can change:
    the winners of the old and new UIDs' groups, hence who wins the fingerprint groups of any
    copy in them, hence which item keeps each of their hrefs."""
    engine.add_targets(href=hrefs | unaliased(hrefs, engine.members.names))
    there = [row for href in hrefs for row in engine.at_href(href)]
    uids = {*uids, *(row.uid for row in there)}
    engine.add_targets(uid=uids)
    copies = [row for uid in uids for row in engine.with_uid(uid)]
    engine.add_targets(fp={*fps, *(row.fingerprint for row in (*copies, *there))})


def record(conn: Connection, unified_id: int, hrefs: set[str]) -> None:
    """A new revision of the unified collection (its CTag) listing ``hrefs`` as changed."""
    now = time.time()
    rev: int = conn.execute(_NEXT_REV, {"unified": unified_id, "now": now}).scalar_one()
    if hrefs:
        conn.execute(
            _SET_ENTRIES[conn.dialect.name],
            [
                {"collection_id": unified_id, "href": h, "rev": rev, "deleted_at": now}
                for h in sorted(hrefs)
            ],
        )
    if rev % _PRUNE_EVERY == 0:
        _prune(conn, unified_id, now)


def _prune(conn: Connection, unified_id: int, now: float) -> None:
    """Forget entries older than the sync-token lifetime; older tokens become invalid."""
    pruned = (
        conn.execute(
            delete(tombstones)
            .where(
                tombstones.c.collection_id == unified_id,
                tombstones.c.deleted_at < now - SYNC_TOKEN_MAX_AGE,
            )
            .returning(tombstones.c.rev)
        )
        .scalars()
        .all()
    )
    if pruned:
        conn.execute(
            update(collections).where(collections.c.id == unified_id).values(pruned_rev=max(pruned))
        )


def invalidate_tokens(
    conn: Connection, owner: str, created: tuple[int, Sequence[str]] | None = None
) -> None:
    """Every sync token of ``owner``'s unified calendar becomes invalid; its CTag changes and
    its rows follow whatever changed, in this transaction: they are rebuilt from the whole view,
    unless the change is ``created`` = (member id, hrefs), items inserted where the member held
    none (a bulk import), whose rows are found as ``watch`` finds them."""
    unified_ids = conn.execute(
        update(collections)
        .where(collections.c.parent_path == owner, collections.c.kind == "unified")
        .values(
            rev=collections.c.rev + 1,
            pruned_rev=collections.c.rev + 1,
            modified_at=time.time(),
        )
        .returning(collections.c.id)
    ).scalars()
    _rebuild(conn, owner, list(unified_ids), created)


def rebuild(conn: Connection, owner: str) -> None:
    """Build the rows of ``owner``'s unified calendar from the whole view (a new one)."""
    unified_ids = conn.execute(
        select(collections.c.id).where(
            collections.c.parent_path == owner, collections.c.kind == "unified"
        )
    ).scalars()
    _rebuild(conn, owner, list(unified_ids))


def _rebuild(
    conn: Connection,
    owner: str,
    unified_ids: Sequence[int],
    created: tuple[int, Sequence[str]] | None = None,
) -> None:
    if not unified_ids:
        return
    members = members_of(conn, owner)
    if created is not None and created[0] not in members.by_id:
        return  # not in the view
    if created is not None:
        engine = ViewEngine(conn, members)
        _target_around(engine, set(created[1]), set(), set())
        after = engine.resolve()
        shown = {key: engine.rows[key].id for key in engine.targets}
        for unified_id in unified_ids:
            view_table.follow(conn, unified_id, shown, after)
        return
    for unified_id in unified_ids:
        view_table.refresh(conn, unified_id, members)
