"""The unified view: which member item a user sees under which href of the unified calendar.

The rules, over a user's member calendars ranked by priority (highest first), then path:

1. per UID, the best-ranked copy wins;
2. among those winners, per non-empty fingerprint, the best-ranked wins: the *survivors*;
3. a survivor keeps its href when it is the best-ranked survivor with that href; any other is
   seen under the alias ``<stem>~<member name>.ics`` (aliased again while that name is taken by
   an item of any member or by a better-ranked alias).

An item's rank is (its member's rank, its href). The answer for a few items depends only on the
items at their hrefs (and at the hrefs their aliases could take) and on the UID and fingerprint
groups deciding who survives, so ``ViewEngine`` loads exactly those with a few indexed queries;
``full_view`` loads everything for a listing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    bindparam,
    false,
    select,
)

from kalends.storage.models import collections, items
from kalends.storage.rows import HEAD_COLUMNS

Key = tuple[int, str]  # (collection id, member href)
VIEW_COLUMNS = (*HEAD_COLUMNS, items.c.collection_id, items.c.fingerprint)
VIEW_FULL_COLUMNS = (*VIEW_COLUMNS, items.c.text)
# what the rules look at: rows loaded only to decide who survives need no more
IDENT_COLUMNS = (items.c.id, items.c.collection_id, items.c.href, items.c.uid, items.c.fingerprint)
MEMBER_KINDS = ("calendar", "source")
_CHUNK = 500
_MAX_PARAMS = 5000  # bound parameters per statement
_MAX_ROUNDS = 12  # alias chains longer than this are resolved by loading everything
_EXT = ".ics"


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    path: str
    kind: str
    source: str | None
    priority: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


class Members:
    """A user's member calendars (plain and source calendars) in rank order."""

    def __init__(self, members: Iterable[Member]) -> None:
        self.ordered = tuple(sorted(members, key=lambda m: (-m.priority, m.path)))
        self.ids = [m.id for m in self.ordered]
        self.by_id = {m.id: m for m in self.ordered}
        self.rank = {m.id: index for index, m in enumerate(self.ordered)}
        self.names = sorted({m.name for m in self.ordered})

    def condition(self, column: Any) -> Any:
        """``column`` among the member ids (plain equality for one member)."""
        if not self.ids:
            return false()
        return column == self.ids[0] if len(self.ids) == 1 else column.in_(self.ids)

    def row_rank(self, row: Any) -> tuple[int, str]:
        return self.rank[row.collection_id], row.href


_MEMBERS = select(  # built once: every unified read asks
    collections.c.id,
    collections.c.path,
    collections.c.kind,
    collections.c.source,
    collections.c.priority,
).where(
    collections.c.parent_path == bindparam("owner"),
    collections.c.kind.in_(MEMBER_KINDS),
    collections.c.tag == "VCALENDAR",
)


def members_of(conn: Connection, owner: str) -> Members:
    """The member calendars directly below the principal ``owner``."""
    rows = conn.execute(_MEMBERS, {"owner": owner}).all()
    return Members(Member(r.id, r.path, r.kind, r.source, r.priority) for r in rows)


class Ident(NamedTuple):
    """The identity of an item row: all the view rules look at."""

    id: int
    collection_id: int
    href: str
    uid: str
    fingerprint: str


# -- aliases ---------------------------------------------------------------------------------


def alias(href: str, name: str) -> str:
    """The name a member ``name``'s item at ``href`` takes when ``href`` is taken."""
    if len(href) > len(_EXT) and href[-len(_EXT) :].lower() == _EXT:
        return f"{href[: -len(_EXT)]}~{name}{href[-len(_EXT) :]}"
    return f"{href}~{name}"


def _unalias(view_href: str, name: str) -> Iterator[str]:
    """The hrefs whose alias for member ``name`` is ``view_href``."""
    suffix = "~" + name
    candidates = []
    if view_href.endswith(suffix):
        candidates.append(view_href[: -len(suffix)])
    body, ext = view_href[: -len(_EXT)], view_href[-len(_EXT) :]
    if ext.lower() == _EXT and body.endswith(suffix):
        candidates.append(body[: -len(suffix)] + ext)
    for href in candidates:
        if href and alias(href, name) == view_href:
            yield href


def unaliased(view_hrefs: Iterable[str], names: Sequence[str]) -> set[str]:
    """Every href whose alias (repeated) could be one of ``view_hrefs``."""
    found: set[str] = set()
    frontier = [h for h in view_hrefs if "~" in h]
    while frontier:
        view_href = frontier.pop()
        for name in names:
            for href in _unalias(view_href, name):
                if href not in found:
                    found.add(href)
                    frontier.append(href)
    return found


# -- the rules ------------------------------------------------------------------------------

# What the rules look at, as a tuple that sorts as items rank: (member rank, href, uid,
# fingerprint, collection id). (rank, href) is unique, so comparisons never go further.
Entry = tuple[int, str, str, str, int]
IDENTITY = ("collection_id", "href", "uid", "fingerprint")  # the columns the rules read


def entries(rows: Iterable[Any], members: Members) -> Iterator[tuple[Entry, Any]]:
    """(entry, row) for rows of one shape (any columns including the identity ones), read by
    position: a Row's attribute access costs ten times more, and a listing reads 10,000."""
    rank = members.rank
    at: tuple[int, ...] = ()
    for row in rows:
        if not at:
            at = tuple(tuple(row._fields).index(name) for name in IDENTITY)
        cid, href, uid, fp = row[at[0]], row[at[1]], row[at[2]], row[at[3]]
        yield (rank[cid], href, uid, fp, cid), row


def survivors(items_: Sequence[Entry]) -> list[Entry]:
    """Rules 1 and 2; exact for the entries whose UID and fingerprint groups are all given."""
    best_uid: dict[str, Entry] = {}
    for entry in items_:
        uid = entry[2]
        if uid and (uid not in best_uid or entry < best_uid[uid]):
            best_uid[uid] = entry
    winners = [e for e in items_ if not e[2] or best_uid[e[2]] is e]
    best_fp: dict[str, Entry] = {}
    for entry in winners:
        fp = entry[3]
        if fp and (fp not in best_fp or entry < best_fp[fp]):
            best_fp[fp] = entry
    return [e for e in winners if not e[3] or best_fp[e[3]] is e]


def assign(
    items_: Sequence[Entry],
    members: Members,
    wanted: set[str] | None,
    occupied: Callable[[str], bool | None],
) -> tuple[dict[Key, str], set[str]]:
    """Rule 3 for the survivors at the ``wanted`` hrefs (None: all).

    ``occupied(href)`` tells whether any item has that href, or None when it is not known yet;
    the hrefs it did not know come back second, to be loaded before asking again.
    """
    seen_here = [e for e in survivors(items_) if wanted is None or e[1] in wanted]
    best_href: dict[str, Entry] = {}
    for entry in seen_here:
        if entry[1] not in best_href or entry < best_href[entry[1]]:
            best_href[entry[1]] = entry
    views: dict[Key, str] = {(e[4], href): href for href, e in best_href.items()}
    if len(best_href) == len(seen_here):
        return views, set()
    claimed: set[str] = set()
    missing: set[str] = set()
    for entry in sorted(e for e in seen_here if best_href[e[1]] is not e):
        name, candidate = members.by_id[entry[4]].name, entry[1]
        while True:
            candidate = alias(candidate, name)
            taken = occupied(candidate)
            if taken is None:
                missing.add(candidate)
                break
            if not taken and candidate not in claimed:
                views[(entry[4], entry[1])] = candidate
                claimed.add(candidate)
                break
    return views, missing


def full_view(
    conn: Connection, members: Members, columns: Sequence[Any] = VIEW_COLUMNS
) -> list[tuple[str, Any, bool]]:
    """Every item of the view as (view href, member row, seen under its own href), in view
    href order (the oracle ``kalends.storage.view_table`` materialises)."""
    rows = conn.execute(
        select(*columns).where(members.condition(items.c.collection_id)).order_by(items.c.href)
    ).all()
    return resolve_all(rows, members)


def resolve_all(rows: Sequence[Any], members: Members) -> list[tuple[str, Any, bool]]:
    """``full_view`` of every member item, given as ``rows`` in href order (any columns
    including the identity ones, read by name: the migration building the table passes its
    own)."""
    pairs = list(entries(rows, members))
    alive = survivors([entry for entry, _row in pairs])
    if len({entry[1] for entry in alive}) == len(alive):  # no shared hrefs: no aliases
        kept = {id(entry) for entry in alive}
        return [(entry[1], row, True) for entry, row in pairs if id(entry) in kept]
    hrefs = {entry[1] for entry, _row in pairs}
    views, _ = assign(alive, members, None, hrefs.__contains__)
    listed = [
        (views[key], row, views[key] == entry[1])
        for entry, row in pairs
        if (key := (entry[4], entry[1])) in views
    ]
    listed.sort(key=lambda seen_row: seen_row[0])
    return listed


def chunks(values: Iterable[str], size: int = _CHUNK) -> Iterator[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
