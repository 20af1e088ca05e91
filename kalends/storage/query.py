"""Time-range pre-filtering and free-busy, answered from the indexes.

``get_filtered`` may only claim ``filters_matched=True`` when the answer is exact: Radicale then
skips its own (expensive) filter. For a simple VEVENT time-range query the occurrence index is
exact wherever it is complete; everything else follows Radicale's default pre-filter on the
enclosing time range and is re-checked by the application.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, false, or_, select, true, union

from kalends.storage.models import SHORT_SPAN, items, occurrences
from kalends.storage.occurrences import TIMESTAMP_MAX, TIMESTAMP_MIN
from kalends.storage.rows import FULL_COLUMNS

FreeBusyPeriod = tuple[datetime, datetime, str]


def _overlapping(start_col: Any, end_col: Any, long_col: Any, start: int, end: int) -> Any:
    """Rows whose interval meets [start, end): a bounded scan for short rows, few long ones."""
    short = and_(
        long_col == false(),
        start_col >= start - SHORT_SPAN,
        start_col < end,
        end_col > start,
    )
    long = and_(long_col == true(), start_col < end, end_col > start)
    return or_(short, long)


def _occurrence_items(collection_id: int, start: int, end: int) -> Select[Any]:
    return select(occurrences.c.item_id).where(
        occurrences.c.collection_id == collection_id,
        _overlapping(occurrences.c.start, occurrences.c.end, occurrences.c.long, start, end),
    )


def exact_event_rows(conn: Connection, collection_id: int, start: int, end: int) -> Sequence[Any]:
    """VEVENT items with an occurrence in [start, end), for items whose index covers the window."""
    ids = union(
        _occurrence_items(collection_id, start, end).where(occurrences.c.long == false()),
        _occurrence_items(collection_id, start, end).where(occurrences.c.long == true()),
    ).subquery()
    return conn.execute(
        select(*FULL_COLUMNS).where(
            items.c.id.in_(select(ids.c.item_id)), items.c.indexed_until >= end
        )
    ).all()


def unindexed_event_rows(
    conn: Connection, collection_id: int, start: int, end: int
) -> Sequence[Any]:
    """VEVENT items whose occurrence index does not cover the window (long series, odd data)."""
    return conn.execute(
        select(*FULL_COLUMNS).where(
            items.c.collection_id == collection_id,
            items.c.indexed_until < end,
            items.c.component == "VEVENT",
            items.c.tr_start < end,
            items.c.tr_end > start,
        )
    ).all()


def enclosing_rows(
    conn: Connection, collection_id: int, tag: str | None, start: int, end: int
) -> Sequence[Any]:
    """Radicale's default pre-filter: items whose enclosing time range meets the window."""
    condition = and_(
        items.c.collection_id == collection_id,
        _overlapping(items.c.tr_start, items.c.tr_end, items.c.long, start, end),
    )
    if tag is not None:
        condition = and_(condition, items.c.component == tag)
    return conn.execute(select(*FULL_COLUMNS).where(condition)).all()


def prefilter(
    conn: Connection, collection_id: int, tag: str | None, start: int, end: int, simple: bool
) -> Iterator[tuple[Any, bool]]:
    """(row, filters_matched) pairs for ``BaseCollection.get_filtered``."""
    if simple and tag == "VEVENT" and start <= TIMESTAMP_MIN and end >= TIMESTAMP_MAX:
        # No time-range (an expand REPORT drops it before asking): the component test is the
        # whole filter, so every VEVENT matches exactly, however far its index reaches.
        for row in enclosing_rows(conn, collection_id, tag, start, end):
            yield row, True
        return
    if simple and tag == "VEVENT":
        for row in exact_event_rows(conn, collection_id, start, end):
            yield row, True
        for row in unindexed_event_rows(conn, collection_id, start, end):
            yield row, False
        return
    for row in enclosing_rows(conn, collection_id, tag, start, end):
        yield row, simple and (start <= row.tr_start or row.tr_end <= end)


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def indexed_busy_periods(
    conn: Connection, collection_id: int, start: int, end: int, limit: int
) -> list[FreeBusyPeriod]:
    """Busy periods of every fully indexed event, clipped to the window, without parsing."""
    rows = conn.execute(
        select(occurrences.c.start, occurrences.c.end, occurrences.c.fbtype)
        .join(items, items.c.id == occurrences.c.item_id)
        .where(
            occurrences.c.collection_id == collection_id,
            _overlapping(occurrences.c.start, occurrences.c.end, occurrences.c.long, start, end),
            items.c.indexed_until >= end,
            occurrences.c.fbtype.is_not(None),
        )
    ).all()
    if limit > 0 and len(rows) >= limit:
        raise ValueError(f"FREEBUSY occurrences limit of {limit} hit")
    return [(_utc(max(row.start, start)), _utc(min(row.end, end)), row.fbtype) for row in rows]
