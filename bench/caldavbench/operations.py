"""The operations timed on each server, in the order of measurement, and their labels."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from .data import month_windows, week_windows
from .dav import (
    DEPTH0,
    DEPTH1,
    PROPFIND_BODY,
    Dav,
    calendar_query_body,
    freebusy_body,
    freebusy_periods_of,
    multiget_body,
    response_hrefs,
    sync_body,
    sync_token,
)
from .ics import render
from .model import EventSpec, Window


@dataclass
class Session:
    """The state the operations on one calendar share during one measurement."""

    dav: Dav
    calendar: str
    specs: dict[str, EventSpec]  # href -> event, for every loaded event
    years: float
    new_events: Iterator[EventSpec]
    rng: random.Random = field(default_factory=random.Random)
    created: list[str] = field(default_factory=list)  # made by put_new, removed by delete
    changeable: list[str] = field(default_factory=list)  # sync_delta edits these (default: all)
    token: str = ""
    version: int = 0
    sizes: dict[str, list[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def hrefs(self) -> list[str]:
        return list(self.specs)

    def note(self, op: str, size: int) -> None:
        self.sizes.setdefault(op, []).append(size)

    def report(
        self, body: str, headers: dict[str, str], expect: int = 207
    ) -> tuple[httpx.Response, float]:
        return self.dav.request("REPORT", self.calendar, body, headers, (expect,))


def op_get_event(s: Session) -> float:
    return s.dav.request("GET", s.calendar + s.rng.choice(s.hrefs))[1]


def _time_range_query(s: Session, op: str, window: Window) -> float:
    response, elapsed = s.report(calendar_query_body(window), DEPTH1)
    s.note(op, len(response_hrefs(response)))
    return elapsed


def op_week_query(s: Session) -> float:
    return _time_range_query(s, "week_query", week_windows(s.years, s.rng, 1)[0])


def op_month_query(s: Session) -> float:
    return _time_range_query(s, "month_query", month_windows(s.years, s.rng, 1)[0])


def op_multiget_100(s: Session) -> float:
    wanted = s.rng.sample(s.hrefs, min(100, len(s.specs)))
    response, elapsed = s.report(multiget_body(s.calendar + h for h in wanted), DEPTH1)
    got = response_hrefs(response, " 200")
    if sorted(got) != sorted(wanted):
        s.failures.append(f"multiget: asked {len(wanted)} hrefs, got {len(got)} with 200")
    s.note("multiget_100", len(got))
    return elapsed


def op_freebusy_month(s: Session) -> float:
    window = month_windows(s.years, s.rng, 1)[0]
    response, elapsed = s.report(freebusy_body(window), DEPTH1, expect=200)
    s.note("freebusy_month", len(freebusy_periods_of(response.text)))
    return elapsed


def op_propfind_depth1(s: Session) -> float:
    response, elapsed = s.dav.request("PROPFIND", s.calendar, PROPFIND_BODY, DEPTH1, (207,))
    s.note("propfind_depth1", len(response_hrefs(response)) - 1)
    return elapsed


def op_get_collection(s: Session) -> float:
    response, elapsed = s.dav.request("GET", s.calendar)
    s.note("get_collection", response.text.count("BEGIN:VEVENT"))
    return elapsed


def op_sync_initial(s: Session) -> float:
    response, elapsed = s.report(sync_body(""), DEPTH0)
    found = response_hrefs(response, " 200")
    s.token = sync_token(response)
    if len(found) != len(s.specs):
        s.failures.append(f"initial sync: {len(found)} hrefs for {len(s.specs)} events")
    s.note("sync_initial", len(found))
    return elapsed


def op_sync_delta(s: Session) -> float:
    """Change 10 events (not timed), then time the delta REPORT from the previous token."""
    if not s.token:
        s.token = sync_token(s.report(sync_body(""), DEPTH0)[0])
    pool = s.changeable or s.hrefs
    changed = s.rng.sample(pool, min(10, len(pool)))
    for href in changed:
        s.version += 1
        text = render(s.specs[href], sequence=s.version, note=f" [changed {s.version}]")
        s.dav.put(s.calendar + href, text, create=False)
    response, elapsed = s.report(sync_body(s.token), DEPTH0)
    got = response_hrefs(response)
    s.token = sync_token(response)
    if sorted(got) != sorted(changed):
        s.failures.append(f"sync delta: changed {sorted(changed)}, reported {sorted(got)}")
    s.note("sync_delta", len(got))
    return elapsed


def op_put_new(s: Session) -> float:
    spec = next(s.new_events)
    elapsed = s.dav.put(s.calendar + spec.href, render(spec), create=True)
    s.created.append(spec.href)
    return elapsed


def op_delete(s: Session) -> float:
    if not s.created:
        op_put_new(s)
    href = s.created.pop()
    return s.dav.request("DELETE", s.calendar + href, expect=(200, 204))[1]


Operation = Callable[[Session], float]
# name, function, slow (fewer repeats); the order is the order of measurement
OPERATIONS: tuple[tuple[str, Operation, bool], ...] = (
    ("get_event", op_get_event, False),
    ("week_query", op_week_query, False),
    ("month_query", op_month_query, False),
    ("multiget_100", op_multiget_100, False),
    ("freebusy_month", op_freebusy_month, True),
    ("propfind_depth1", op_propfind_depth1, True),
    ("get_collection", op_get_collection, True),
    ("sync_initial", op_sync_initial, True),
    ("sync_delta", op_sync_delta, False),
    ("put_new", op_put_new, False),
    ("delete", op_delete, False),
)
LABELS = {
    "first_request": "first request after restart (OPTIONS, login)",
    "get_event": "GET one event",
    "week_query": "calendar-query week (etag + data)",
    "month_query": "calendar-query month (etag + data)",
    "multiget_100": "calendar-multiget 100 hrefs",
    "freebusy_month": "free-busy REPORT month",
    "propfind_depth1": "PROPFIND Depth 1 (getetag)",
    "get_collection": "GET whole collection",
    "sync_initial": "sync-collection initial",
    "sync_delta": "sync-collection delta (10 changes)",
    "put_new": "PUT new event",
    "delete": "DELETE event",
}
