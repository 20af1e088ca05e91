"""The occurrence index: every occurrence of a VEVENT as an integer interval.

Occurrences are computed once, when an item is written, with Radicale's own recurrence visitor
(``visit_time_ranges``), so the index answers a time-range query exactly as Radicale's filter would
(RFC 4791 9.9), EXDATE, RDATE and overridden instances included. A series is expanded up to
``MAX_INDEXED_OCCURRENCES``; ``indexed_until`` tells how far the index is complete, and a query
window ending later is left to Radicale's own filter.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from radicale.item import filter as radicale_filter

from kalends.storage.models import SHORT_SPAN

logger = logging.getLogger(__name__)

MAX_INDEXED_OCCURRENCES = 2000
TIMESTAMP_MIN: int = radicale_filter.TIMESTAMP_MIN
TIMESTAMP_MAX: int = radicale_filter.TIMESTAMP_MAX


@dataclass(frozen=True, slots=True)
class Occurrence:
    start: int
    end: int
    fbtype: str | None

    @property
    def long(self) -> bool:
        return self.end - self.start > SHORT_SPAN


@dataclass(frozen=True, slots=True)
class OccurrenceIndex:
    occurrences: tuple[Occurrence, ...]
    indexed_until: int
    # (first start, last end) of the whole set when the walk saw all of it: what Radicale's
    # ``Item.time_range`` walks the same occurrences to find (None: ask Radicale)
    span: tuple[int, int] | None = None


NOT_INDEXED = OccurrenceIndex((), TIMESTAMP_MIN)


def _property_text(component: Any, name: str) -> str:
    prop = getattr(component, name, None)
    if prop is None:
        return ""
    return str(prop.value).strip().upper()


def freebusy_type(component: Any) -> str | None:
    """The FBTYPE a component contributes to free-busy, or None (as Radicale's report does)."""
    if _property_text(component, "transp") not in ("", "OPAQUE"):
        return None
    status = _property_text(component, "status")
    if status == "CANCELLED":
        return "FREE"
    if status == "TENTATIVE":
        return "BUSY-TENTATIVE"
    return "BUSY"


def _whole_seconds(moment: datetime) -> int | None:
    value = moment.timestamp()
    return int(value) if value == math.floor(value) else None


class _Collector:
    """Visitor state for ``visit_time_ranges``: collects intervals until the cap is reached."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.component: Any = None
        self.found: dict[tuple[int, int], str | None] = {}
        self.cut_at: int | None = None
        self.exact = True
        self.infinite = False
        self.first = TIMESTAMP_MAX
        self.last = TIMESTAMP_MIN

    def on_component(self, component: Any) -> bool:
        self.component = component
        return True

    def on_infinity(self, _start: datetime) -> bool:
        self.infinite = True
        return False  # walk on: the index holds the first occurrences of an endless series

    def on_range(self, start: datetime, end: datetime, is_recurrence: bool) -> bool:
        start_ts, end_ts = _whole_seconds(start), _whole_seconds(end)
        if start_ts is None or end_ts is None:
            self.exact = False
            return True
        if len(self.found) >= self.limit:
            self.cut_at = TIMESTAMP_MIN if is_recurrence else start_ts
            return True
        self.found.setdefault((start_ts, end_ts), freebusy_type(self.component))
        self.first, self.last = min(self.first, start_ts), max(self.last, end_ts)
        return False

    def span(self) -> tuple[int, int] | None:
        """The set's enclosing range, as Radicale's ``find_time_range`` gives it, when this walk
        was the same as its: every occurrence seen, none endless."""
        if self.infinite or self.cut_at is not None or not self.found:
            return None
        return self.first, self.last


def index_occurrences(
    vobject_item: Any, component_name: str, limit: int = MAX_INDEXED_OCCURRENCES
) -> OccurrenceIndex:
    """Expand the VEVENTs of one calendar object resource into an occurrence index."""
    if component_name != "VEVENT":
        return NOT_INDEXED
    collector = _Collector(limit)
    try:
        radicale_filter.visit_time_ranges(
            vobject_item,
            "VEVENT",
            collector.on_range,
            collector.on_infinity,
            collector.on_component,
        )
    except Exception as error:  # malformed recurrence data: leave it to Radicale's filter
        logger.warning("cannot index occurrences: %s", error)
        return NOT_INDEXED
    if not collector.exact:
        return NOT_INDEXED
    occurrences = tuple(
        Occurrence(start, end, fbtype) for (start, end), fbtype in collector.found.items()
    )
    until = TIMESTAMP_MAX if collector.cut_at is None else collector.cut_at
    return OccurrenceIndex(occurrences, until, collector.span())
