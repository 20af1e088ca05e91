"""The unified view, materialised: ``unified_items`` rows, kept exact in each write's transaction.

``kalends.storage.view`` decides which member item a user sees under which href of the unified
calendar; this module stores that answer, one row per view href, so that every read of the
unified calendar is an indexed query (or a join to ``items`` by primary key) like a read of a
plain calendar, instead of resolving the view at request time:

- a member write rewrites the rows of the view hrefs it changes (``apply``, called by
  ``kalends.storage.view_log`` with the view around the item before and after the write; ``show``
  when the item shares nothing with any other, so only its own href can change);
- a change the log cannot follow item by item (a member deleted, a priority changed, a bulk
  import) recomputes the whole view and writes the difference (``refresh``), but for items
  created in bulk: ``follow`` compares what the view engine resolves around them with the rows;
- a deleted item or unified collection takes its rows with it (foreign keys, ON DELETE CASCADE).

``kalends.storage.view.full_view`` stays the oracle: the table must always equal what it
resolves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Join, and_, bindparam, delete, insert, select

from kalends.storage.models import items, unified_items
from kalends.storage.view import IDENT_COLUMNS, Key, Members, resolve_all

_CHUNK = 500


def seen_columns(columns: Iterable[Any]) -> tuple[Any, ...]:
    """``columns`` of ``items`` with the member href replaced by the view href (named "href"),
    for a query joined with ``seen_in``: its rows read like a plain calendar's."""
    return tuple(
        unified_items.c.href.label("href") if column is items.c.href else column
        for column in columns
    )


@lru_cache(maxsize=256)  # SQL constructs are immutable: one per unified calendar will do
def seen_in(unified_id: int) -> Join:
    """``items`` joined with the items the unified collection ``unified_id`` shows."""
    return items.join(
        unified_items,
        and_(unified_items.c.item_id == items.c.id, unified_items.c.unified_id == unified_id),
    )


def apply(
    conn: Connection, unified_ids: Sequence[int], hrefs: set[str], after: Mapping[str, int]
) -> None:
    """The view hrefs ``hrefs`` changed: each now shows the item ``after[href]`` (absent: none)."""
    if not hrefs:
        return
    ordered = sorted(hrefs)
    for unified_id in unified_ids:
        for start in range(0, len(ordered), _CHUNK):
            conn.execute(
                delete(unified_items).where(
                    unified_items.c.unified_id == unified_id,
                    unified_items.c.href.in_(ordered[start : start + _CHUNK]),
                )
            )
        rows = [
            {"unified_id": unified_id, "href": href, "item_id": after[href]}
            for href in ordered
            if href in after
        ]
        if rows:
            conn.execute(insert(unified_items), rows)


_AT_HREF = and_(
    unified_items.c.unified_id == bindparam("unified"), unified_items.c.href == bindparam("href")
)
_SHOWN_AT = select(unified_items.c.item_id).where(_AT_HREF)  # built once: written on every PUT
_HIDE_AT = delete(unified_items).where(_AT_HREF)
_SHOW = insert(unified_items)


def show(
    conn: Connection,
    unified_ids: Sequence[int],
    href: str,
    item_id: int | None,
    was_empty: bool = False,
) -> None:
    """The view href ``href`` alone changed: it shows ``item_id`` now (None: nothing). An
    updated item keeps its id and its row: then nothing is written. ``was_empty``: the caller
    knows that nothing was shown there."""
    for unified_id in unified_ids:
        at = {"unified": unified_id, "href": href}
        stored = None if was_empty else conn.execute(_SHOWN_AT, at).scalar()
        if stored == item_id:
            continue
        if stored is not None:  # (a deleted item's row went with it: ON DELETE CASCADE)
            conn.execute(_HIDE_AT, at)
        if item_id is not None:
            conn.execute(_SHOW, {"unified_id": unified_id, "href": href, "item_id": item_id})


def follow(
    conn: Connection, unified_id: int, targets: Mapping[Key, int], after: Mapping[Key, str]
) -> None:
    """The items ``targets`` (key -> item id) cover every item whose view href a change made
    (``after``: where each is seen now): their rows, read before, say where each was seen."""
    ids = sorted(set(targets.values()))
    before: dict[int, str] = {}
    for start in range(0, len(ids), _CHUNK):
        before.update(
            (item_id, href)
            for href, item_id in conn.execute(
                select(unified_items.c.href, unified_items.c.item_id).where(
                    unified_items.c.unified_id == unified_id,
                    unified_items.c.item_id.in_(ids[start : start + _CHUNK]),
                )
            )
        )
    changed = {
        href
        for key, item_id in targets.items()
        if before.get(item_id) != after.get(key)
        for href in (before.get(item_id), after.get(key))
        if href
    }
    shown = {href: targets[key] for key, href in after.items() if href in changed}
    apply(conn, [unified_id], changed, shown)


def refresh(conn: Connection, unified_id: int, members: Members) -> None:
    """Make the rows of ``unified_id`` equal the whole view again, writing the difference only
    (after a bulk import of a few hundred items, most rows stay)."""
    rows = conn.execute(  # in no order: the view does not need one, a sort costs
        select(*IDENT_COLUMNS).where(members.condition(items.c.collection_id))
    ).all()
    wanted = {href: row[0] for href, row, _own in resolve_all(rows, members)}
    stored: dict[str, int] = dict(
        conn.execute(
            select(unified_items.c.href, unified_items.c.item_id).where(
                unified_items.c.unified_id == unified_id
            )
        ).all()
    )
    stale = sorted(href for href, item_id in stored.items() if wanted.get(href) != item_id)
    for start in range(0, len(stale), _CHUNK):
        conn.execute(
            delete(unified_items).where(
                unified_items.c.unified_id == unified_id,
                unified_items.c.href.in_(bindparam("hrefs", expanding=True)),
            ),
            {"hrefs": stale[start : start + _CHUNK]},
        )
    new = [
        {"unified_id": unified_id, "href": href, "item_id": item_id}
        for href, item_id in wanted.items()
        if stored.get(href) != item_id
    ]
    for start in range(0, len(new), _CHUNK * 10):
        conn.execute(insert(unified_items), new[start : start + _CHUNK * 10])


def stored_view(conn: Connection, unified_id: int) -> dict[str, tuple[int, str]]:
    """view href -> (member collection id, member href), as the table holds it (for checks)."""
    rows = conn.execute(
        select(
            unified_items.c.href, items.c.collection_id, items.c.href.label("item_href")
        ).select_from(seen_in(unified_id))
    ).all()
    return {row.href: (row.collection_id, row.item_href) for row in rows}
