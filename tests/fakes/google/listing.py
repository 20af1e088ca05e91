"""events.list and events.instances: filters, expansion, pages and sync tokens.

A listing walks the calendar's change log from a cursor (the sequence number of the last event
it handed out, plus how many items of that event's expansion were already given). The sync
token at the end of a full listing is the sequence number the listing *started* at, so an event
changed while the client paged comes again in the next incremental listing, never lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tests.fakes.common import seal, unseal
from tests.fakes.google.errors import ApiError
from tests.fakes.google.model import Calendar, Record, instance_of, minimal, render
from tests.fakes.google.times import as_instant, instance_key, parse_rfc3339, stamp, zone
from tests.fakes.google.tokens import NOISE, bound_to, digest, since

if TYPE_CHECKING:
    from tests.fakes.google.store import Store

__all__ = ["list_events", "list_instances"]

Params = Mapping[str, list[str]]
Item = dict[str, Any]
DEFAULT_PAGE, MAX_PAGE = 250, 2500


@dataclass
class Query:
    params: Params
    where: ZoneInfo
    max_results: int
    single: bool
    show_deleted: bool
    time_min: datetime | None
    time_max: datetime | None
    updated_min: float | None
    ical_uid: str | None
    order_by: str | None
    words: list[str]
    private: list[tuple[str, str]]
    shared: list[tuple[str, str]]
    event_types: frozenset[str]

    def first(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None


def _bool(params: Params, name: str, default: bool) -> bool:
    values = params.get(name)
    if not values:
        return default
    value = values[0].lower()
    if value not in ("true", "false"):
        raise ApiError.invalid(location=name)
    return value == "true"


def _time(params: Params, name: str) -> datetime | None:
    values = params.get(name)
    if not values:
        return None
    try:
        return parse_rfc3339(values[0])
    except ValueError:
        raise ApiError.bad_request() from None


def _properties(params: Params, name: str) -> list[tuple[str, str]]:
    found = []
    for value in params.get(name, []):
        key, equals, wanted = value.partition("=")
        if not equals:
            raise ApiError.invalid(location=name)
        found.append((key, wanted))
    return found


def parse_query(params: Params, cal: Calendar) -> Query:
    first = {name: values[0] for name, values in params.items() if values}
    try:
        where = zone(first["timeZone"]) if "timeZone" in first else cal.where
    except ValueError:
        raise ApiError.invalid(location="timeZone") from None
    try:
        max_results = min(int(first.get("maxResults", DEFAULT_PAGE)), MAX_PAGE)
    except ValueError:
        raise ApiError.invalid(location="maxResults") from None
    if max_results < 1:
        raise ApiError.invalid(location="maxResults")
    order_by = first.get("orderBy")
    if order_by not in (None, "startTime", "updated"):
        raise ApiError.invalid(location="orderBy")
    updated_min = _time(params, "updatedMin")
    types = [t for value in params.get("eventTypes", []) for t in value.split(",") if t]
    return Query(
        params, where, max_results, _bool(params, "singleEvents", False),
        _bool(params, "showDeleted", False), _time(params, "timeMin"), _time(params, "timeMax"),
        updated_min.timestamp() if updated_min is not None else None, first.get("iCalUID"),
        order_by, first.get("q", "").lower().split(),
        _properties(params, "privateExtendedProperty"),
        _properties(params, "sharedExtendedProperty"), frozenset(types),
    )  # fmt: skip


# -- events.list ---------------------------------------------------------------------------------


def list_events(store: Store, cal: Calendar, params: Params) -> dict[str, Any]:
    query = parse_query(params, cal)
    token = query.first("syncToken")
    since_seq = since(store.secret, cal, query, token) if token is not None else None
    if since_seq is None and _too_long_ago(query.updated_min, cal.horizon_time):
        raise ApiError.updated_min_too_long_ago()
    if query.time_min and query.time_max and query.time_min >= query.time_max:
        raise ApiError.time_range_empty(location="timeMax")
    if query.order_by == "startTime" and not query.single:
        raise ApiError.bad_request(
            "The requested ordering is not available for the particular query."
        )
    fingerprint = digest(params, lambda name: name not in NOISE)
    page = _page(store, cal, query, "p", fingerprint)
    snapshot = int(page["n"]) if page else cal.seq
    cursor, skip = (int(page["r"]), int(page["u"])) if page else (since_seq or 0, 0)
    capacity = _capacity(store, query.max_results)
    lister = _Lister(store, cal, query, incremental=since_seq is not None)
    if query.order_by is not None:
        items, more = lister.ordered(int(page["o"]) if page else 0, capacity)
        resume: dict[str, Any] | None = {"o": more} if more is not None else None
    else:
        items, at = lister.stream(cursor, skip, capacity)
        resume = {"r": at[0], "u": at[1]} if at is not None else None
    if resume is None and items and store.faults.short_pages and store.rng.random() < 0.3:
        resume = {"r": cal.seq, "u": 0, "o": 1 << 30}  # an empty last page follows
    body = _envelope(cal, query.where)
    if resume is not None:
        payload = {"t": "p", "c": cal.token_id, "f": fingerprint, "n": snapshot, **resume}
        body["nextPageToken"] = seal(store.secret, payload)
    else:
        payload = {"t": "s", "c": cal.token_id, "q": snapshot, "e": cal.epoch, "b": bound_to(query)}
        body["nextSyncToken"] = seal(store.secret, payload)
    body["items"] = items
    return body


def _too_long_ago(updated_min: float | None, horizon: float | None) -> bool:
    """Whether tombstones newer than ``updatedMin`` were purged already."""
    return updated_min is not None and horizon is not None and updated_min <= horizon


def _page(
    store: Store, cal: Calendar, query: Query, kind: str, fingerprint: str
) -> dict[str, Any] | None:
    token = query.first("pageToken")
    if token is None:
        return None
    page = unseal(store.secret, token)
    if page is None or page.get("t") != kind or page.get("c") != cal.token_id:
        raise ApiError.invalid("Invalid page token value.", "pageToken")
    if page.get("f") != fingerprint:
        raise ApiError.invalid("The page token belongs to a listing with other parameters.",
                               "pageToken")  # fmt: skip
    return page


def _capacity(store: Store, max_results: int) -> int:
    if not store.faults.short_pages:
        return max_results
    roll = store.rng.random()
    if roll < 0.25:
        return 0
    if roll < 0.5:
        return 1
    return store.rng.randint(1, max(1, max_results // 2))


def _envelope(cal: Calendar, where: ZoneInfo) -> dict[str, Any]:
    return {
        "kind": "calendar#events",
        "etag": f'"p{cal.seq:x}{cal.epoch:x}"',
        "summary": cal.summary,
        "description": "",
        "updated": stamp(cal.updated),
        "timeZone": cal.time_zone,
        "accessRole": "owner",
        "defaultReminders": [dict(r) for r in cal.default_reminders],
    }


class _Lister:
    """The items one stored event contributes to a listing."""

    def __init__(self, store: Store, cal: Calendar, query: Query, *, incremental: bool) -> None:
        self.store, self.cal, self.query = store, cal, query
        self.where = query.where
        self.incremental = incremental
        self.now = store.now()
        self.with_deleted = incremental or query.show_deleted or query.updated_min is not None
        self.filtered = bool(query.words or query.private or query.shared)

    def source(self, after: int) -> Iterator[Record]:
        if self.query.ical_uid is None:
            return self.cal.after(after)
        ids = self.cal.by_uid.get(self.query.ical_uid, set())
        found = sorted((self.cal.records[i] for i in ids if i in self.cal.records),
                       key=lambda r: r.seq)  # fmt: skip
        return (r for r in found if r.seq > after)

    def stream(
        self, cursor: int, skip: int, capacity: int
    ) -> tuple[list[Item], tuple[int, int] | None]:
        """A page from ``cursor`` on; the cursor to resume at, None after the last page."""
        items: list[Item] = []
        resume = (cursor, skip)
        for record in self.source(cursor - 1 if skip else cursor):
            offset = skip if record.seq == cursor else 0
            rest = self.items(record)[offset:]
            if not rest:
                resume = (record.seq, 0)
                continue
            room = capacity - len(items)
            if room <= 0:
                return items, resume
            items.extend(rest[:room])
            if len(rest) > room:
                return items, (record.seq, offset + room)
            resume = (record.seq, 0)
        return items, None

    def ordered(self, offset: int, capacity: int) -> tuple[list[Item], int | None]:
        everything = [item for record in self.source(0) for item in self.items(record)]
        if self.query.order_by == "startTime":
            everything.sort(key=self._start_of)
        else:
            everything.sort(key=lambda item: str(item.get("updated", "")))
        page = everything[offset : offset + capacity]
        more = offset + capacity if offset + capacity < len(everything) else None
        return page, more

    def _start_of(self, item: Item) -> datetime:
        when = item.get("start") or item.get("originalStartTime") or {}
        if "dateTime" in when:
            return parse_rfc3339(when["dateTime"])
        if "date" in when:
            return as_instant(date.fromisoformat(when["date"]), self.where)
        return datetime.min.replace(tzinfo=self.where)

    # -- what one stored event contributes ---------------------------------------------------

    def items(self, record: Record) -> list[Item]:
        query = self.query
        if query.event_types and record.body.get("eventType", "default") not in query.event_types:
            return []
        if not self.incremental:
            if query.updated_min is not None and record.updated < query.updated_min:
                return []
            if self.filtered and not self._matches(record.body):
                return []
        if query.single:
            found = self._instances(record)
        elif record.deleted or record.cancelled:
            found = [minimal(record, self.where)] if self._shows_cancelled(record) else []
        elif self.incremental or self._in_window(record):
            found = [render(record, self.where)]
        else:
            found = []
        if record.vanished and query.single and self.incremental:
            found.extend(self._vanished(record))
        return found

    def _shows_cancelled(self, record: Record) -> bool:
        if self.incremental or self.with_deleted:
            return True
        # singleEvents=false lists a live series' cancelled occurrences even without showDeleted
        return not record.deleted and record.original is not None and not self.query.single

    def _instances(self, record: Record) -> list[Item]:
        if record.series is None:
            if record.deleted or record.cancelled:
                return [minimal(record, self.where)] if self.with_deleted else []
            if self.incremental or record.overlaps(*self._window(), self.where):
                return [render(record, self.where)]
            return []
        if record.deleted and not self.with_deleted:
            return []
        found = []
        low, high = self._window()
        shifted = low - record.duration if low is not None else None
        for moment in record.series.occurrences(shifted, high, self.where, self.now):
            if f"{record.id}_{instance_key(moment)}" in self.cal.records:
                continue  # an exception, listed for itself
            instance = instance_of(record, moment)
            if record.deleted:
                found.append(minimal(instance, self.where))
            elif self.incremental or instance.overlaps(low, high, self.where):
                found.append(render(instance, self.where))
        return found

    def _vanished(self, record: Record) -> list[Item]:
        found = []
        for moment in sorted(record.vanished, key=lambda m: as_instant(m, self.where)):
            if f"{record.id}_{instance_key(moment)}" not in self.cal.records:
                found.append(minimal(instance_of(record, moment), self.where))
        return found

    def _window(self) -> tuple[datetime | None, datetime | None]:
        if self.incremental:
            return None, None
        return self.query.time_min, self.query.time_max

    def _in_window(self, record: Record) -> bool:
        low, high = self._window()
        if low is None and high is None:
            return True
        if record.series is None:
            return record.overlaps(low, high, self.where)
        shifted = low - record.duration if low is not None else None
        return any(
            instance_of(record, m).overlaps(low, high, self.where)
            for m in record.series.occurrences(shifted, high, self.where, self.now, limit=2)
        )

    def _matches(self, body: dict[str, Any]) -> bool:
        query = self.query
        if query.words:
            text = " ".join(
                str(body.get(name, "")) for name in ("summary", "description", "location")
            )
            attendees = body.get("attendees") or []
            text += " " + " ".join(
                f"{a.get('email', '')} {a.get('displayName', '')}"
                for a in attendees
                if isinstance(a, dict)
            )
            text = text.lower()
            if not all(word in text for word in query.words):
                return False
        properties = body.get("extendedProperties") or {}
        for kind, wanted in (("private", query.private), ("shared", query.shared)):
            held = properties.get(kind) or {}
            if any(held.get(key) != value for key, value in wanted):
                return False
        return True


# -- events.instances ----------------------------------------------------------------------------


def list_instances(store: Store, cal: Calendar, eid: str, params: Params) -> dict[str, Any]:
    master = cal.records.get(eid)
    if master is None or master.master_id is not None:
        raise ApiError.not_found()
    if master.deleted:
        raise ApiError.deleted()
    query = parse_query(params, cal)
    where, now = query.where, store.now()
    fingerprint = digest(params, lambda name: name not in NOISE)
    page = _page(store, cal, query, "i", fingerprint)
    offset = int(page["o"]) if page else 0
    original = query.first("originalStart")
    if master.series is None:
        found = [master] if master.overlaps(query.time_min, query.time_max, where) else []
    elif original is not None:
        found = _at_original(store, cal, master, original)
    else:
        low, high = query.time_min, query.time_max
        shifted = low - master.duration if low is not None else None
        found = []
        for moment in master.series.occurrences(shifted, high, where, now):
            record = cal.records.get(f"{master.id}_{instance_key(moment)}")
            record = record or instance_of(master, moment)
            if record.overlaps(low, high, where):
                found.append(record)
    items = [
        minimal(r, where) if r.cancelled else render(r, where)
        for r in found
        if query.show_deleted or not (r.cancelled or r.deleted)
    ]
    body = _envelope(cal, where)
    body.pop("description")
    if offset + query.max_results < len(items):
        payload = {"t": "i", "c": cal.token_id, "f": fingerprint, "o": offset + query.max_results}
        body["nextPageToken"] = seal(store.secret, payload)
    body["items"] = items[offset : offset + query.max_results]
    return body


def _at_original(store: Store, cal: Calendar, master: Record, text: str) -> list[Record]:
    """The one occurrence that originally started at ``text`` (RFC 3339, or a date)."""
    assert master.series is not None
    try:
        moment: datetime | date = (
            date.fromisoformat(text) if len(text) == 10 else parse_rfc3339(text)
        )
    except ValueError:
        raise ApiError.invalid(location="originalStart") from None
    if master.series.all_day and isinstance(moment, datetime):
        moment = moment.astimezone(cal.where).date()
    stored = cal.records.get(f"{master.id}_{instance_key(moment)}")
    if stored is not None:
        return [stored]
    if master.series.occurs(moment, cal.where, store.now()):
        return [instance_of(master, moment)]
    return []
