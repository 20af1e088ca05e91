"""Time-range pre-filtering and free-busy, answered from the indexes.

``get_filtered`` may only claim ``filters_matched=True`` when the answer is exact: Radicale then
skips its own (expensive) filter. For a simple VEVENT time-range query the occurrence index is
exact wherever it is complete; everything else follows Radicale's default pre-filter on the
enclosing time range and is re-checked by the application.

``shown_in``: the id of a unified collection, whose materialised view the items are joined to
(``kalends.storage.view_table``): only the items it shows are found, the same indexed query
as on a plain calendar otherwise, and ``columns`` may name the view href.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Select,
    Table,
    and_,
    false,
    select,
    true,
    union,
    union_all,
)

from kalends.storage.models import SHORT_SPAN, items, occurrences, unified_items
from kalends.storage.occurrences import TIMESTAMP_MAX, TIMESTAMP_MIN
from kalends.storage.rows import FULL_COLUMNS
from kalends.storage.view_table import seen_in

FreeBusyPeriod = tuple[datetime, datetime, str]
CollectionIds = int | Sequence[int]  # one collection, or the members of a unified calendar


def _of(column: Column[Any], ids: CollectionIds) -> Any:
    """``column`` in ``ids``: plain equality for one collection, as the indexes expect."""
    if isinstance(ids, int):
        return column == ids
    if not ids:
        return false()
    return column == ids[0] if len(ids) == 1 else column.in_(list(ids))


def _select(columns: Iterable[Any], shown_in: int | None) -> Select[Any]:
    """``columns`` of ``items``, or of the items the unified collection ``shown_in`` shows."""
    query = select(*columns)
    return query if shown_in is None else query.select_from(seen_in(shown_in))


def _overlapping(table: Table, start: int, end: int) -> tuple[Any, Any]:
    """Conditions for rows of ``table`` whose interval meets [start, end), one per class.

    Short rows (at most SHORT_SPAN long) are a range scan bounded on both sides of their start;
    long rows are few. Each condition goes in a query of its own: SQLite plans an OR of the two
    as a scan from the first row.
    """
    start_col, end_col, long_col = _interval_columns(table)
    short = and_(
        long_col == false(), start_col >= start - SHORT_SPAN, start_col < end, end_col > start
    )
    long = and_(long_col == true(), start_col < end, end_col > start)
    return short, long


def _interval_columns(table: Table) -> tuple[Any, Any, Any]:
    if table is items:
        return items.c.tr_start, items.c.tr_end, items.c.long
    return occurrences.c.start, occurrences.c.end, occurrences.c.long


def exact_event_rows(
    conn: Connection,
    collection_id: CollectionIds,
    start: int,
    end: int,
    columns: Iterable[Any] = FULL_COLUMNS,
    shown_in: int | None = None,
) -> Sequence[Any]:
    """VEVENT items with an occurrence in [start, end), for items whose index covers the window."""
    ids = union(
        *(
            select(occurrences.c.item_id).where(
                _of(occurrences.c.collection_id, collection_id), condition
            )
            for condition in _overlapping(occurrences, start, end)
        )
    ).subquery()
    return conn.execute(
        _select(columns, shown_in).where(
            items.c.id.in_(select(ids.c.item_id)), items.c.indexed_until >= end
        )
    ).all()


def unindexed_event_rows(
    conn: Connection,
    collection_id: CollectionIds,
    start: int,
    end: int,
    columns: Iterable[Any] = FULL_COLUMNS,
    shown_in: int | None = None,
) -> Sequence[Any]:
    """VEVENT items whose occurrence index does not cover the window (long series, odd data)."""
    return conn.execute(
        _select(columns, shown_in).where(
            _of(items.c.collection_id, collection_id),
            items.c.indexed_until < end,
            items.c.component == "VEVENT",
            items.c.tr_start < end,
            items.c.tr_end > start,
        )
    ).all()


def enclosing_rows(
    conn: Connection,
    collection_id: CollectionIds,
    tag: str | None,
    start: int,
    end: int,
    columns: Iterable[Any] = FULL_COLUMNS,
    shown_in: int | None = None,
) -> Sequence[Any]:
    """Radicale's default pre-filter: items whose enclosing time range meets the window."""
    tagged = [] if tag is None else [items.c.component == tag]
    selects = (
        _select(columns, shown_in).where(
            _of(items.c.collection_id, collection_id), condition, *tagged
        )
        for condition in _overlapping(items, start, end)
    )
    return conn.execute(union_all(*selects)).all()


def prefilter(
    conn: Connection,
    collection_id: CollectionIds,
    tag: str | None,
    start: int,
    end: int,
    simple: bool,
    columns: Sequence[Any] = FULL_COLUMNS,
    shown_in: int | None = None,
) -> Iterator[tuple[Any, bool]]:
    """(row, filters_matched) pairs for ``BaseCollection.get_filtered``."""
    if simple and tag == "VEVENT" and start <= TIMESTAMP_MIN and end >= TIMESTAMP_MAX:
        # No time-range (an expand REPORT drops it before asking): the component test is the
        # whole filter, so every VEVENT matches exactly, however far its index reaches.
        for row in enclosing_rows(conn, collection_id, tag, start, end, columns, shown_in):
            yield row, True
        return
    if simple and tag == "VEVENT":
        for row in exact_event_rows(conn, collection_id, start, end, columns, shown_in):
            yield row, True
        for row in unindexed_event_rows(conn, collection_id, start, end, columns, shown_in):
            yield row, False
        return
    for row in enclosing_rows(conn, collection_id, tag, start, end, columns, shown_in):
        yield row, simple and (start <= row.tr_start or row.tr_end <= end)


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def busy_occurrence_rows(
    conn: Connection,
    collection_id: CollectionIds,
    start: int,
    end: int,
    item_columns: Iterable[Any] = (),
    shown_in: int | None = None,
) -> Sequence[Any]:
    """The busy occurrences of fully indexed events in the window (with ``item_columns``)."""
    query = select(occurrences.c.start, occurrences.c.end, occurrences.c.fbtype, *item_columns)
    query = query.join(items, items.c.id == occurrences.c.item_id)
    if shown_in is not None:
        query = query.join(
            unified_items,
            and_(
                unified_items.c.item_id == occurrences.c.item_id,
                unified_items.c.unified_id == shown_in,
            ),
        )
    selects = (
        query.where(
            _of(occurrences.c.collection_id, collection_id),
            condition,
            items.c.indexed_until >= end,
            occurrences.c.fbtype.is_not(None),
        )
        for condition in _overlapping(occurrences, start, end)
    )
    return conn.execute(union_all(*selects)).all()


def clipped_periods(rows: Sequence[Any], start: int, end: int, limit: int) -> list[FreeBusyPeriod]:
    """Busy periods clipped to the window; ValueError past the configured limit."""
    if limit > 0 and len(rows) >= limit:
        raise ValueError(f"FREEBUSY occurrences limit of {limit} hit")
    return [(_utc(max(row.start, start)), _utc(min(row.end, end)), row.fbtype) for row in rows]


def indexed_busy_periods(
    conn: Connection,
    collection_id: CollectionIds,
    start: int,
    end: int,
    limit: int,
    shown_in: int | None = None,
) -> list[FreeBusyPeriod]:
    """Busy periods of every fully indexed event, clipped to the window, without parsing."""
    rows = busy_occurrence_rows(conn, collection_id, start, end, (), shown_in)
    return clipped_periods(rows, start, end, limit)
