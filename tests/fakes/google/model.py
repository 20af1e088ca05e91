"""The stored shapes: one calendar's events, its change log, and how an event is rendered.

Every write gives the event the calendar's next sequence number and appends it to the change
log, so an incremental listing walks the log from the token's number on (entries an event has
since left behind are skipped, and the log is rebuilt when they pile up): no listing ever sorts
the whole calendar.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.google.recurrence import Series
from tests.fakes.google.times import Moment, When, as_instant, instance_key, zone

__all__ = ["Calendar", "Record", "instance_of", "minimal", "render"]


@dataclass(eq=False)
class Record:
    """One stored event (a single event, a master or an exception), or a computed instance.

    ``body`` is replaced, never changed in place, so a reader may keep a shallow copy.
    ``deleted`` marks a tombstone; a cancelled exception of a live series is not one (it is
    the series' way of saying "this occurrence is gone").
    """

    body: dict[str, Any]
    start: When
    end: When
    series: Series | None = None
    original: When | None = None  # exceptions and instances: the original start
    seq: int = 0
    deleted: bool = False
    updated: float = 0.0
    virtual: bool = False  # a computed instance, not stored
    vanished: set[Moment] = field(default_factory=set)  # occurrences a series change removed

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def master_id(self) -> str | None:
        found = self.body.get("recurringEventId")
        return str(found) if found is not None else None

    @property
    def cancelled(self) -> bool:
        return self.body.get("status") == "cancelled"

    @property
    def uid(self) -> str:
        return str(self.body.get("iCalUID", ""))

    @property
    def etag(self) -> str:
        return str(self.body["etag"])

    @property
    def duration(self) -> timedelta:
        length: timedelta = self.end.moment - self.start.moment  # type: ignore[operator]
        return length

    def overlaps(self, low: datetime | None, high: datetime | None, where: ZoneInfo) -> bool:
        """Google's window: the end after timeMin, the start before timeMax."""
        if low is not None and as_instant(self.end.moment, where) <= low:
            return False
        return high is None or as_instant(self.start.moment, where) < high


@dataclass(eq=False)
class Calendar:
    id: str
    summary: str
    time_zone: str
    token_id: str  # names the calendar inside tokens
    primary: bool = False
    access_role: str = "owner"  # or "writer", "reader", "freeBusyReader"
    default_reminders: list[dict[str, Any]] = field(
        default_factory=lambda: [{"method": "popup", "minutes": 10}]
    )
    records: dict[str, Record] = field(default_factory=dict)
    by_uid: dict[str, set[str]] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)  # master id -> exception ids
    retired: set[str] = field(default_factory=set)  # ids of purged tombstones, never reused
    log_seqs: list[int] = field(default_factory=list)
    log_ids: list[str] = field(default_factory=list)
    seq: int = 0
    epoch: int = 0  # bumped to expire every sync token of the calendar
    horizon_seq: int = 0  # tokens older than the newest purged tombstone are expired
    horizon_time: float | None = None
    updated: float = 0.0

    @property
    def where(self) -> ZoneInfo:
        return zone(self.time_zone)

    def entry(self) -> dict[str, Any]:
        """The calendar's calendarList entry."""
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": f'"{int(self.updated * 1000)}"',
            "id": self.id,
            "summary": self.summary,
            "timeZone": self.time_zone,
            "colorId": "14",
            "backgroundColor": "#9fe1e7",
            "foregroundColor": "#000000",
            "selected": True,
            "accessRole": self.access_role,
            "defaultReminders": [dict(r) for r in self.default_reminders],
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }
        if self.primary:
            entry["primary"] = True
        return entry

    def commit(self, record: Record, now: float) -> None:
        """Store ``record`` as the newest change of the calendar."""
        self.seq += 1
        record.seq = self.seq
        self.updated = now
        self.records[record.id] = record
        self.by_uid.setdefault(record.uid, set()).add(record.id)
        if record.master_id is not None:
            self.children.setdefault(record.master_id, set()).add(record.id)
        self.log_seqs.append(record.seq)
        self.log_ids.append(record.id)
        if len(self.log_ids) > 2 * len(self.records) + 256:
            self.rebuild_log()

    def rebuild_log(self) -> None:
        live = sorted(self.records.values(), key=lambda r: r.seq)
        self.log_seqs = [r.seq for r in live]
        self.log_ids = [r.id for r in live]

    def after(self, seq: int) -> Iterator[Record]:
        """The events whose latest change is newer than ``seq``, oldest change first."""
        index = bisect_right(self.log_seqs, seq)
        seqs, ids, records = self.log_seqs, self.log_ids, self.records
        while index < len(seqs):
            record = records.get(ids[index])
            if record is not None and record.seq == seqs[index]:
                yield record
            index += 1

    def forget(self, record: Record) -> None:
        """Purge a tombstone (its id stays taken)."""
        self.records.pop(record.id, None)
        self.retired.add(record.id)
        self.by_uid.get(record.uid, set()).discard(record.id)
        if record.master_id is not None:
            self.children.get(record.master_id, set()).discard(record.id)


def derived_etag(master_etag: str, instance_id: str) -> str:
    digest = hashlib.sha256(f"{master_etag}/{instance_id}".encode()).digest()
    return f'"{int.from_bytes(digest[:8], "big") % 10**16:016d}"'


def instance_of(master: Record, moment: Moment) -> Record:
    """The computed occurrence of ``master`` that originally starts at ``moment``."""
    instance_id = f"{master.id}_{instance_key(moment)}"
    start = When(moment, master.start.zone)
    end = When(moment + master.duration, master.end.zone)
    original = When(moment, master.start.zone)
    etag = derived_etag(master.etag, instance_id)
    body: dict[str, Any] = {"kind": "calendar#event", "etag": etag, "id": instance_id}
    for name, value in master.body.items():
        if name not in ("recurrence", "id", "etag", "kind"):
            body[name] = value
    body["start"], body["end"] = start.stored(), end.stored()
    body["recurringEventId"] = master.id
    body["originalStartTime"] = original.stored()
    return Record(
        body, start, end, original=original, seq=master.seq, deleted=master.deleted,
        updated=master.updated, virtual=True,
    )  # fmt: skip


def render(record: Record, where: ZoneInfo) -> dict[str, Any]:
    """The resource as the API returns it, its times in ``where``."""
    out = dict(record.body)
    out["start"] = record.start.render(where)
    out["end"] = record.end.render(where)
    if record.original is not None:
        out["originalStartTime"] = record.original.render(where)
    return out


def minimal(record: Record, where: ZoneInfo) -> dict[str, Any]:
    """A cancelled item in a listing: only what Google guarantees for it."""
    out: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": record.etag,
        "id": record.id,
        "status": "cancelled",
    }
    if record.original is not None and record.master_id is not None:
        out["recurringEventId"] = record.master_id
        out["originalStartTime"] = record.original.render(where)
    return out


def utc_now(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
