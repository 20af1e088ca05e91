"""Source calendars and unified calendars as the admin file declares them (idempotent).

A declared collection is created when missing; an existing one follows the file (kind, source,
priority and Kalends' private properties), but a calendar is never turned into a unified view
or the other way round: that would hide its events or show an empty calendar's, so it is
reported as a conflict and left alone. Names and colours clients set stay theirs.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select, update

from kalends.storage import view_log
from kalends.storage.models import collections
from kalends.storage.unified import PRIVATE

if TYPE_CHECKING:
    from kalends.storage.plugin import Storage


@dataclass(frozen=True, slots=True)
class Declared:
    path: str  # "<user>/<name>", no slashes around
    kind: str  # "source" or "unified"
    displayname: str
    source: str | None = None
    priority: int = 0
    private: Mapping[str, str] = field(default_factory=dict)  # keys starting with PRIVATE

    @property
    def owner(self) -> str:
        return posixpath.dirname(self.path)


def _conflict(row: Any, declared: Declared) -> str | None:
    if row.tag != "VCALENDAR":
        return f"/{declared.path}/ exists and is not a calendar"
    if (row.kind == "unified") != (declared.kind == "unified"):
        what = "the unified calendar" if row.kind == "unified" else "a calendar with events"
        return f"/{declared.path}/ is already {what}: rename the {declared.kind} in the config"
    return None


def _changes(row: Any, declared: Declared) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for column in ("kind", "source", "priority"):
        if getattr(row, column) != getattr(declared, column):
            changes[column] = getattr(declared, column)
    props = json.loads(row.props)
    wanted = {k: v for k, v in props.items() if not k.startswith(PRIVATE)} | dict(declared.private)
    if wanted != props:
        changes["props"] = json.dumps(wanted, sort_keys=True)
    return changes


def provision(storage: Storage, declared: Declared) -> str:
    """Create or update one declared collection: "created", "updated", "unchanged", or the
    reason it was left alone."""
    with storage.transactions.write(declared.owner) as conn:
        row = conn.execute(select(collections).where(collections.c.path == declared.path)).first()
        if row is None:
            props = {"tag": "VCALENDAR", "D:displayname": declared.displayname}
            storage.insert_collection(
                conn,
                declared.path,
                props | dict(declared.private),
                kind=declared.kind,
                source=declared.source,
                priority=declared.priority,
            )
            if declared.kind == "unified":
                view_log.rebuild(conn, declared.owner)  # its materialised view, from the start
            return "created"
        conflict = _conflict(row, declared)
        if conflict is not None:
            return conflict
        changes = _changes(row, declared)
        if not changes:
            return "unchanged"
        conn.execute(update(collections).where(collections.c.id == row.id).values(changes))
        if "priority" in changes and declared.kind != "unified":
            view_log.invalidate_tokens(conn, declared.owner)  # other duplicates may win now
        return "updated"


def retire(storage: Storage, owner: str, sources: set[str], unified: str) -> list[str]:
    """Source calendars of ``owner`` whose source left the file become plain calendars (their
    events stay); unified calendars under another name than ``unified`` go (they hold nothing).
    Returns the paths changed."""
    with storage.transactions.write(owner) as conn:
        rows = conn.execute(
            select(collections.c.id, collections.c.path, collections.c.kind)
            .where(collections.c.parent_path == owner)
            .where(
                ((collections.c.kind == "source") & collections.c.source.not_in(sources))
                | ((collections.c.kind == "unified") & (collections.c.path != unified))
            )
        ).all()
        _retire_rows(conn, owner, rows)
    return [row.path for row in rows]


def _retire_rows(conn: Connection, owner: str, rows: Sequence[Any]) -> None:
    orphans = [row.id for row in rows if row.kind == "source"]
    stale = [row.id for row in rows if row.kind == "unified"]
    if orphans:
        conn.execute(
            update(collections)
            .where(collections.c.id.in_(orphans))
            .values(kind="calendar", source=None, priority=0)
        )
        view_log.invalidate_tokens(conn, owner)
    if stale:
        conn.execute(delete(collections).where(collections.c.id.in_(stale)))
