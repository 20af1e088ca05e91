"""Collections: ``/events`` (singles and series masters), ``/calendarView`` and
``/instances`` (expanded), paged with ``$skip`` in ``@odata.nextLink`` like Graph.

Pages hold 10 items unless ``$top`` or ``Prefer: odata.maxpagesize`` says otherwise; the next
link repeats the request's query with a new ``$skip``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.model import Calendar, Record
from tests.fakes.graph.odata import Prefer, parse_filter, parse_select
from tests.fakes.graph.render import View, actual_start, full, occurrence, select
from tests.fakes.graph.zones import parse_window

if TYPE_CHECKING:
    from tests.fakes.graph.store import Store

__all__ = ["DEFAULT_PAGE", "Link", "calendar_view", "instances", "list_events", "window"]

DEFAULT_PAGE, MAX_PAGE = 10, 1000
Item = dict[str, Any]
ORDERS = {"start/datetime", "createddatetime", "lastmodifieddatetime", "subject"}


class Link:
    """Where the collection was asked for, to write its next link."""

    def __init__(self, graph_url: str, path: str, query: Mapping[str, str]) -> None:
        self.graph_url, self.path, self.query = graph_url, path, dict(query)

    def with_query(self, **changes: str) -> str:
        query = {**self.query, **changes}
        return f"{self.graph_url}{self.path}?{urlencode(query, safe='$/')}"

    def context(self, oid: str, tail: str) -> str:
        return f"{self.graph_url}/$metadata#users('{oid}')/{tail}"


def _integer(query: Mapping[str, str], name: str, default: int | None) -> int | None:
    if name not in query:
        return default
    text = query[name]
    if not text.isdigit():
        raise GraphError.bad_request(f"Invalid value '{text}' for query option {name}.")
    return int(text)


def window(query: Mapping[str, str]) -> tuple[datetime, datetime]:
    low = parse_window(query.get("startDateTime") or query.get("StartDateTime"), "startDateTime")
    high = parse_window(query.get("endDateTime") or query.get("EndDateTime"), "endDateTime")
    return low, high


def _page(
    items: list[Item], query: Mapping[str, str], prefer: Prefer, link: Link, context: str
) -> dict[str, Any]:
    size = _integer(query, "$top", None) or prefer.max_page_size or DEFAULT_PAGE
    size = min(size, MAX_PAGE)
    skip = _integer(query, "$skip", 0) or 0
    names = parse_select(query)
    body: dict[str, Any] = {"@odata.context": context}
    chosen = items[skip : skip + size]
    if skip + size < len(items):
        body["@odata.nextLink"] = link.with_query(**{"$skip": str(skip + size)})
    body["value"] = [select(item, names) for item in chosen]
    return body


def _order(records: list[Record], query: Mapping[str, str]) -> list[Record]:
    text = query.get("$orderby")
    if text is None:
        return records
    name, _, direction = text.strip().partition(" ")
    if name.lower() not in ORDERS or direction.strip().lower() not in ("", "asc", "desc"):
        raise GraphError.bad_request(f"The fake cannot order by '{text}'.")
    keys = {
        "start/datetime": lambda r: r.start,
        "createddatetime": lambda r: r.created,
        "lastmodifieddatetime": lambda r: r.modified,
        "subject": lambda r: str(r.body.get("subject", "")),
    }
    key = keys[name.lower()]
    return sorted(records, key=key, reverse=direction.strip().lower() == "desc")


def list_events(
    store: Store, cal: Calendar, query: Mapping[str, str], prefer: Prefer, view: View, link: Link
) -> dict[str, Any]:
    found = parse_filter(query)
    records = _order([r for r in store.live(cal.id) if found.accepts(r)], query)
    items = [full(r, view) for r in records]
    if found.types is not None:
        items = [item for item in items if item["type"] in found.types]
    context = link.context(store.owner.oid, f"calendars('{cal.id}')/events")
    return _page(items, query, prefer, link, context)


def _expanded(record: Record, low: datetime, high: datetime, view: View) -> list[tuple[Any, Item]]:
    if record.series is None:
        return [((record.start, record.serial), full(record, view))]
    return [
        ((actual_start(record, o), record.serial), occurrence(record, o, view))
        for o in record.originals(low, high)
    ]


def calendar_view(
    store: Store, cal: Calendar, query: Mapping[str, str], prefer: Prefer, view: View, link: Link
) -> dict[str, Any]:
    low, high = window(query)
    if "$orderby" in query and query["$orderby"].lower() not in (
        "start/datetime",
        "start/datetime asc",
    ):
        raise GraphError.bad_request(f"The fake cannot order by '{query['$orderby']}'.")
    found = parse_filter(query)
    keyed = [
        pair
        for r in store.live(cal.id)
        if found.accepts(r) and r.visible(low, high)
        for pair in _expanded(r, low, high, view)
    ]
    keyed.sort(key=lambda pair: pair[0])
    items = [item for _, item in keyed]
    if found.types is not None:
        items = [item for item in items if item["type"] in found.types]
    context = link.context(store.owner.oid, f"calendars('{cal.id}')/calendarView")
    return _page(items, query, prefer, link, context)


def instances(
    store: Store, eid: str, query: Mapping[str, str], prefer: Prefer, view: View, link: Link
) -> dict[str, Any]:
    low, high = window(query)
    record, original = store.locate(eid)
    if original is not None:
        raise GraphError.bad_request(
            "The instances of an occurrence cannot be listed.", "ErrorInvalidRequest"
        )
    keyed = _expanded(record, low, high, view) if record.visible(low, high) else []
    keyed.sort(key=lambda pair: pair[0])
    context = link.context(store.owner.oid, f"events('{record.any_id(view.immutable)}')/instances")
    return _page([item for _, item in keyed], query, prefer, link, context)
