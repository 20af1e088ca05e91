"""``calendarView/delta``: rounds of ``@odata.nextLink`` pages ending in an ``@odata.deltaLink``.

A round walks the calendar's change log from a cursor; each changed event contributes a group:
a single event in full, or a series master in full followed by its occurrences and exceptions
in the window, stripped to ``@odata.type, @odata.etag, id, seriesMasterId, type, start, end``
(a series is never split across pages). An event that left the window, or was deleted, comes
as ``@removed`` if the client saw it when its token was issued; a deleted occurrence gives no
sign at all (its series comes again, without it). The delta token names the change the round
started at, so whatever changed while the client paged comes again in the next round.

Skip and delta tokens are opaque, sealed, and carry the window; ``expire_delta_tokens`` makes
the old ones fail with ``410 Gone`` (``Location``: the initial request) or ``400``
``SyncStateNotFound``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from tests.fakes.common import seal, unseal
from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.listing import DEFAULT_PAGE, Link, window
from tests.fakes.graph.model import Calendar, Record
from tests.fakes.graph.odata import Prefer
from tests.fakes.graph.render import EVENT_TYPE, View, full, removed, stripped

if TYPE_CHECKING:
    from tests.fakes.graph.store import Store

__all__ = ["delta"]

REFUSED = ("$select", "$filter", "$orderby", "$expand", "$search", "$top", "$skip")
Item = dict[str, Any]


def _reset(cal: Calendar, payload: dict[str, Any], link: Link) -> GraphError:
    message = (
        f"The sync state generation is not found; generation={payload['e']};[highest={cal.epoch}]."
    )
    if cal.reset == "not_found":
        return GraphError(400, "SyncStateNotFound", message)
    start = urlencode({"startDateTime": payload["sa"], "endDateTime": payload["sb"]})
    return GraphError(
        410,
        "SyncStateNotFound",
        message,
        headers={"Location": f"{link.graph_url}{link.path}?{start}"},
    )


def delta(
    store: Store, cal: Calendar, query: Mapping[str, str], prefer: Prefer, view: View, link: Link
) -> dict[str, Any]:
    refused = [name for name in REFUSED if name in query]
    if refused:
        raise GraphError.unsupported_query(
            "The following parameters are not supported with change tracking over the "
            f"'CalendarView' resource: '{', '.join(refused)}'."
        )
    token = query.get("$deltatoken") or query.get("$skiptoken")
    if token is not None:
        payload = unseal(store.secret, token)
        if payload is None or payload.get("c") != cal.token_id:
            raise GraphError(
                400, "ErrorInvalidSyncStateData", "Sync state data is corrupt or otherwise invalid."
            )
        if payload["e"] != cal.epoch:
            raise _reset(cal, payload, link)
        if "$deltatoken" in query:  # a new round from where the last one started
            since = payload["q"]
            payload = {**payload, "q": since, "n": store.seq, "r": since, "w": 0}
    else:
        low, high = window(query)
        if high <= low:
            raise GraphError(
                400, "ErrorInvalidParameter", "The end of the time window must be after its start."
            )
        payload = {
            "c": cal.token_id,
            "e": cal.epoch,
            "a": low.timestamp(),
            "b": high.timestamp(),
            "sa": query.get("startDateTime") or query.get("StartDateTime"),
            "sb": query.get("endDateTime") or query.get("EndDateTime"),
            "q": 0,
            "n": store.seq,
            "r": 0,
            "w": 0,
        }
    return _round_page(store, cal, payload, prefer, view, link)


def _round_page(
    store: Store, cal: Calendar, payload: dict[str, Any], prefer: Prefer, view: View, link: Link
) -> dict[str, Any]:
    faults = store.faults
    body: dict[str, Any] = {"@odata.context": f"{link.graph_url}/$metadata#Collection(event)"}
    if faults.empty_pages and (not payload["w"] or faults.rng.random() < 0.25):
        body["@odata.nextLink"] = _link(store, link, "$skiptoken", {**payload, "w": 1})
        body["value"] = []
        return body
    low = datetime.fromtimestamp(payload["a"], UTC)
    high = datetime.fromtimestamp(payload["b"], UTC)
    size = prefer.max_page_size or DEFAULT_PAGE
    items: list[Item] = []
    positions = [payload["r"]]  # the cursor after each group taken
    more = False
    for record in cal.after(payload["r"], store.records):
        group = _group(record, payload["q"], low, high, view, faults.removed_noise)
        if group and items and len(items) + len(group) > size:
            more = True
            break
        items.extend(group)
        if group:
            positions.append(record.seq)
        else:
            positions[-1] = record.seq
    if more:
        cursor = positions[-2] if faults.replays and len(positions) > 2 else positions[-1]
        body["@odata.nextLink"] = _link(store, link, "$skiptoken", {**payload, "r": cursor, "w": 1})
    else:
        body["@odata.deltaLink"] = _link(store, link, "$deltatoken", {**payload, "q": payload["n"]})
    body["value"] = items
    return body


def _link(store: Store, link: Link, name: str, payload: dict[str, Any]) -> str:
    return f"{link.graph_url}{link.path}?{name}={seal(store.secret, payload)}"


def _group(
    record: Record, since: int, low: datetime, high: datetime, view: View, noise: bool
) -> list[Item]:
    """What one changed event contributes to a round that started at change ``since``."""
    before = record.at(since) if since else None
    was = before is not None and before.visible(low, high)
    if record.visible(low, high):
        items = [{"@odata.type": EVENT_TYPE, **full(record, view)}]
        if record.series is not None:
            now = record.originals(low, high)
            items.extend(stripped(record, original, view) for original in now)
            if was and before is not None and before.series is not None:
                left = set(before.originals(low, high)) - set(now) - record.cancelled
                items.extend(
                    removed(view.ids.occurrence_id(before, o, view.immutable)) for o in sorted(left)
                )
        return items
    if since == 0 or not (was or noise):
        return []  # the client never saw it (the first round lists only what is in the window)
    items = [removed(record.any_id(view.immutable))]
    if was and before is not None and before.series is not None:
        items.extend(
            removed(view.ids.occurrence_id(before, o, view.immutable))
            for o in before.originals(low, high)
        )
    return items
