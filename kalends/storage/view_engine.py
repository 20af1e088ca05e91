"""The unified view for a few items, from a few indexed queries (see ``kalends.storage.view``).

*Targets* are the items whose view href is asked for; every item at a target's href is one too
(the best of them keeps the href). The engine loads the targets' UID groups, their fingerprint
groups and those items' UID groups (enough to decide exactly who survives), then the items at
the hrefs the targets' aliases could take, round after round, until every answer is decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Select,
    bindparam,
    select,
    union,
    union_all,
)

from kalends.storage.models import UID_PRESENT, items
from kalends.storage.view import (
    IDENT_COLUMNS,
    IDENTITY,
    VIEW_COLUMNS,
    Entry,
    Key,
    Members,
    assign,
    chunks,
    unaliased,
)

_GROUPS = ("uid", "fp", "href")
_CHUNK = 500
_MAX_PARAMS = 5000  # bound parameters per statement
_MAX_ROUNDS = 12  # alias chains longer than this are resolved by loading everything


class ViewEngine:
    def __init__(self, conn: Connection, members: Members) -> None:
        self._conn = conn
        self.members = members
        self.rows: dict[Key, Any] = {}  # as read: what answers are made of
        self._entries: dict[Key, Entry] = {}  # what the rules look at
        self._groups: dict[str, dict[str, set[Key]]] = {group: {} for group in _GROUPS}
        self._loaded: dict[str, set[str]] = {group: set() for group in _GROUPS}
        self._thin: set[Key] = set()  # rows read with IDENT_COLUMNS only
        self.complete = False
        self.targets: set[Key] = set()

    # -- the loaded items --------------------------------------------------------------------

    def add_rows(self, rows: Iterable[Any], target: bool = True, thin: bool = False) -> None:
        """Rows of one shape already read (e.g. with their text). A row read before is kept,
        unless it was read ``thin`` (identity columns only) and this one is not."""
        groups = [self._groups[group] for group in _GROUPS]
        rank = self.members.rank
        at: tuple[int, ...] = ()
        for row in rows:
            if not at:  # by position: a Row's attribute access costs ten times more
                at = tuple(tuple(row._fields).index(name) for name in IDENTITY)
            key = (row[at[0]], row[at[1]])
            if key not in self.rows or (key in self._thin and not thin):
                entry = (rank[key[0]], key[1], row[at[2]], row[at[3]], key[0])
                self.rows[key] = row
                self._entries[key] = entry
                for index, value in enumerate((entry[2], entry[3], entry[1])):
                    if value:
                        groups[index].setdefault(value, set()).add(key)
                if thin:
                    self._thin.add(key)
                else:
                    self._thin.discard(key)
            if target:
                self.targets.add(key)

    def replace(self, key: Key, row: Any | None) -> None:
        """The item at ``key`` was rewritten (``row``) or deleted (None) since it was loaded."""
        old = self._entries.pop(key, None)
        self.rows.pop(key, None)
        if old is not None:
            for group, value in zip(_GROUPS, (old[2], old[3], old[1]), strict=True):
                self._groups[group].get(value, set()).discard(key)
        if row is not None:
            self.add_rows([row])

    def _with(self, group: str, value: str) -> list[Any]:
        return [self.rows[key] for key in self._groups[group].get(value, ())]

    def at_href(self, href: str) -> list[Any]:
        return self._with("href", href)

    def with_uid(self, uid: str) -> list[Any]:
        return self._with("uid", uid)

    def load(self, columns: Sequence[Any] = VIEW_COLUMNS, **wanted: Iterable[str]) -> None:
        """Every member item with one of the given ``uid``, ``fp`` or ``href`` values (each value
        is read once: a later call skips it, whatever its columns)."""
        if self.complete:
            return
        by = {"uid": items.c.uid, "fp": items.c.fingerprint, "href": items.c.href}
        selects: list[tuple[Select[Any], str, list[str]]] = []
        for group, values in wanted.items():
            new = {value for value in values if value} - self._loaded[group]
            self._loaded[group] |= new
            for index, chunk in enumerate(chunks(new, _CHUNK)):
                name = f"{group}_{index}"  # expanding: no per-value work building the query
                extra = [UID_PRESENT] if group == "uid" else []
                query = select(*columns).where(
                    self.members.condition(items.c.collection_id),
                    by[group].in_(bindparam(name, expanding=True)),
                    *extra,
                )
                selects.append((query, name, chunk))
        thin = columns is IDENT_COLUMNS
        per_statement = max(1, _MAX_PARAMS // (_CHUNK + len(self.members.ids)))
        for start in range(0, len(selects), per_statement):
            batch = selects[start : start + per_statement]
            queries = [query for query, _name, _chunk in batch]
            statement: Select[Any] | CompoundSelect[Any] = queries[0]
            if len(queries) > 1:  # the same row often matches by href, UID and fingerprint
                statement = union(*queries) if thin else union_all(*queries)
            params = {name: chunk for _query, name, chunk in batch}
            self.add_rows(self._conn.execute(statement, params).all(), target=False, thin=thin)

    def add_targets(self, columns: Sequence[Any] = VIEW_COLUMNS, **wanted: Iterable[str]) -> None:
        """Make every member item with one of the given values a target."""
        wanted = {group: set(values) for group, values in wanted.items()}
        self.load(columns, **wanted)
        for group, values in wanted.items():
            for value in values:
                self.targets.update(self._groups[group].get(value, ()))

    def load_all(self) -> None:
        query = select(*VIEW_COLUMNS).where(self.members.condition(items.c.collection_id))
        self.add_rows(self._conn.execute(query).all(), target=False)
        self.targets = set(self.rows)
        self.complete = True

    def _close(self) -> None:
        """Load the UID groups of the targets, their fingerprint groups and the UID groups of
        those: enough to decide exactly which targets survive."""
        fp_groups = self._groups["fp"]
        while True:
            targets = [self._entries[key] for key in self.targets if key in self._entries]
            fps = {entry[3] for entry in targets if entry[3]}
            rivals = [self._entries[key] for fp in fps for key in fp_groups.get(fp, ())]
            uids = {entry[2] for entry in (*targets, *rivals) if entry[2]}
            if uids <= self._loaded["uid"] and fps <= self._loaded["fp"]:
                return
            self.load(IDENT_COLUMNS, uid=uids, fp=fps)

    # -- answers -----------------------------------------------------------------------------

    def _occupied(self, href: str) -> bool | None:
        if not self.complete and href not in self._loaded["href"]:
            return None
        return bool(self._groups["href"].get(href))

    def resolve(self) -> dict[Key, str]:
        """The view href of every target that is seen (survivors only)."""
        for _ in range(_MAX_ROUNDS):
            wanted: set[str] | None = None
            if not self.complete:
                wanted = {href for _cid, href in self.targets}
                known = [self._entries[key] for key in self.targets if key in self._entries]
                self.load(  # one statement in the common case
                    IDENT_COLUMNS,
                    href=wanted,
                    uid={entry[2] for entry in known},
                    fp={entry[3] for entry in known},
                )
                self.add_targets(IDENT_COLUMNS, href=wanted)
                self._close()
            found = list(self._entries.values())
            views, missing = assign(found, self.members, wanted, self._occupied)
            if not missing:
                return {key: href for key, href in views.items() if key in self.targets}
            self.add_targets(IDENT_COLUMNS, href=missing | unaliased(missing, self.members.names))
        self.load_all()
        return self.resolve()

    def owners(
        self, view_hrefs: Iterable[str], columns: Sequence[Any] = VIEW_COLUMNS
    ) -> dict[str, Any]:
        """The row (with ``columns``) seen at each of ``view_hrefs`` (absent: nothing is)."""
        wanted = set(view_hrefs)
        self.add_targets(columns, href=wanted | unaliased(wanted, self.members.names))
        return {href: self.rows[key] for key, href in self.resolve().items() if href in wanted}

    def collapsed_into(self, key: Key) -> list[Any]:
        """The items seen as the survivor at ``key``: its fingerprint duplicates (those winning
        their UID), and every copy with their UIDs (``key`` must be a resolved target)."""
        survivor = self._entries[key]
        winners = [key]
        if survivor[3]:
            winners = [k for k in self._groups["fp"][survivor[3]] if self._uid_winner(k)]
        found = set(winners)
        for winner in winners:
            uid = self._entries[winner][2]
            if uid:
                found |= self._groups["uid"].get(uid, set())
        return [self.rows[k] for k in sorted(found)]

    def _uid_winner(self, key: Key) -> bool:
        uid = self._entries[key][2]
        if not uid:
            return True
        return min(self._entries[k] for k in self._groups["uid"][uid]) is self._entries[key]
