"""The stored shapes: calendars with their change log, events, and the ids Exchange hands out.

An event is one ``Record`` (a single instance or a series master); the exceptions and deleted
occurrences of a series live inside its master, as in Exchange, so any change to a series is a
new version of the master (new change key, new place in the change log). Records are replaced,
never changed in place, and each keeps the version it replaced (``prior``) so a delta round can
tell what the client saw when its token was issued.

Ids: every event has a REST id (``AAMkAD...``, changes when the event moves to another calendar)
and an immutable id (``AAkALg...``, answered when the request prefers ``IdType="ImmutableId"``).
Occurrence ids are sealed (series, original start) pairs, so any occurrence can be addressed
without the fake remembering the ids it handed out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.graph.recurrence import Series

__all__ = ["Calendar", "Exception_", "Ids", "Record", "new_calendar_id"]

REST_PREFIX = "AAMkAD"
IMMUTABLE_PREFIX = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A"
ICAL_PREFIX = "040000008200E00074C5B7101A82E00800000000"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def new_calendar_id() -> str:
    return REST_PREFIX + _b64(secrets.token_bytes(45)) + "AAA="


@dataclass(eq=False)
class Exception_:
    """A changed occurrence of a series (Graph ``type: exception``)."""

    original: datetime
    start: datetime
    end: datetime
    start_zone: str
    end_zone: str
    overrides: dict[str, Any]  # the fields that differ from the master
    change_key: str
    modified: float


@dataclass(eq=False)
class Record:
    key: str  # the store's key (the immutable id; tombstones of moves get their own)
    serial: int  # names the series inside occurrence ids
    iid: str
    rid: str
    generation: int  # bumped on every move (the REST id changes)
    calendar_id: str
    body: dict[str, Any]  # the client's fields, as stored
    start: datetime  # UTC
    end: datetime
    start_zone: str  # the zone names the client gave
    end_zone: str
    all_day: bool
    recurrence: dict[str, Any] | None
    series: Series | None
    uid: str
    change_key: str
    created: float
    modified: float
    transaction_id: str | None = None
    extended: dict[str, tuple[str, str]] = field(default_factory=dict)  # folded id -> (id, value)
    custom_zone: bool = False  # created in desktop Outlook with a legacy custom zone
    exceptions: dict[datetime, Exception_] = field(default_factory=dict)
    cancelled: frozenset[datetime] = frozenset()  # deleted occurrences
    seq: int = 0
    deleted: bool = False
    prior: Record | None = None

    def any_id(self, immutable: bool) -> str:
        return self.iid if immutable else self.rid

    def at(self, seq: int) -> Record | None:
        """The version a client saw at change ``seq`` (None when it did not exist yet)."""
        found: Record | None = self
        while found is not None and found.seq > seq:
            found = found.prior
        return found

    def originals(self, low: datetime | None, high: datetime | None) -> list[datetime]:
        """Original starts of live occurrences that overlap ``[low, high)`` (exceptions by their
        own times), in order of their actual start."""
        if self.series is None:
            return []
        length = self.end - self.start
        shifted = low - length if low is not None else None
        found = {o for o in self.series.starts(shifted, high) if o not in self.cancelled}
        found = {
            o for o in found if o not in self.exceptions and _overlaps(o, o + length, low, high)
        }
        for original, changed in self.exceptions.items():
            if _overlaps(changed.start, changed.end, low, high):
                found.add(original)
        return sorted(
            found, key=lambda o: (self.exceptions[o].start if o in self.exceptions else o, o)
        )

    def visible(self, low: datetime | None, high: datetime | None) -> bool:
        """Whether the event shows in a calendar view of ``[low, high)``."""
        if self.deleted:
            return False
        if self.series is None:
            return _overlaps(self.start, self.end, low, high)
        return bool(self.originals(low, high))


def _overlaps(start: datetime, end: datetime, low: datetime | None, high: datetime | None) -> bool:
    if high is not None and start >= high:
        return False
    if low is None:
        return True
    return end > low or (start == end and start >= low)


@dataclass(eq=False)
class Calendar:
    id: str
    name: str
    default: bool
    change_key: str
    token_id: str  # names the calendar inside delta tokens
    can_edit: bool = True
    color: str = "auto"
    epoch: int = 0  # bumped to expire every delta token of the calendar
    reset: str = "gone"  # how expired tokens are refused: "gone" (410) or "not_found" (400)
    log_seqs: list[int] = field(default_factory=list)
    log_keys: list[str] = field(default_factory=list)

    def resource(self, owner_name: str, owner_address: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "color": self.color,
            "hexColor": "",
            "isDefaultCalendar": self.default,
            "changeKey": self.change_key,
            "canShare": True,
            "canViewPrivateItems": True,
            "canEdit": self.can_edit,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness",
            "isTallyingResponses": True,
            "isRemovable": not self.default,
            "owner": {"name": owner_name, "address": owner_address},
        }

    def log(self, seq: int, key: str) -> None:
        self.log_seqs.append(seq)
        self.log_keys.append(key)

    def after(self, seq: int, records: dict[str, Record]) -> Iterator[Record]:
        """The events of this calendar whose latest change is newer than ``seq``, oldest first."""
        index = bisect_right(self.log_seqs, seq)
        while index < len(self.log_seqs):
            record = records.get(self.log_keys[index])
            current = record is not None and record.seq == self.log_seqs[index]
            if current and record is not None and record.calendar_id == self.id:
                yield record
            index += 1

    def compact(self, records: dict[str, Record]) -> None:
        """Drop log entries that events have left behind (when they pile up)."""
        if len(self.log_keys) <= 2 * len(records) + 256:
            return
        live = sorted(
            (r for r in records.values() if r.calendar_id == self.id), key=lambda r: r.seq
        )
        self.log_seqs = [r.seq for r in live]
        self.log_keys = [r.key for r in live]


class Ids:
    """Makes ids, change keys and iCalUIds, and reads occurrence ids back."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._mailbox = secrets.token_bytes(10)
        self._changes = 0

    def rest_id(self) -> str:
        return REST_PREFIX + _b64(secrets.token_bytes(99))

    def immutable_id(self) -> str:
        return IMMUTABLE_PREFIX + _b64(secrets.token_bytes(42))

    def change_key(self) -> str:
        self._changes += 1
        return _b64(self._mailbox + self._changes.to_bytes(6, "big") + secrets.token_bytes(6))

    @staticmethod
    def ical_uid() -> str:
        stamp = struct.pack("<Q", int(datetime.now(UTC).timestamp() * 10_000_000)).hex().upper()
        return f"{ICAL_PREFIX}{stamp}{'0' * 16}10000000{secrets.token_hex(16).upper()}"

    def occurrence_id(self, record: Record, original: datetime, immutable: bool) -> str:
        kind = b"I" if immutable else b"R"
        generation = 0 if immutable else record.generation
        payload = kind + struct.pack(">QHq", record.serial, generation, int(original.timestamp()))
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:6]
        prefix = IMMUTABLE_PREFIX if immutable else REST_PREFIX
        return prefix + "AB" + _b64(payload + mac)

    def read_occurrence(self, eid: str) -> tuple[int, int, bool, datetime] | None:
        """(series serial, generation, immutable, original start) of an occurrence id."""
        for prefix, immutable in ((IMMUTABLE_PREFIX + "AB", True), (REST_PREFIX + "AB", False)):
            if eid.startswith(prefix):
                try:
                    raw = base64.urlsafe_b64decode(eid[len(prefix) :])
                except ValueError:
                    return None
                payload, mac = raw[:-6], raw[-6:]
                good = hmac.new(self._secret, payload, hashlib.sha256).digest()[:6]
                if len(payload) != 19 or not hmac.compare_digest(mac, good):
                    return None
                if payload[:1] != (b"I" if immutable else b"R"):
                    return None
                serial, generation, seconds = struct.unpack(">QHq", payload[1:])
                return serial, generation, immutable, datetime.fromtimestamp(seconds, UTC)
        return None

    @staticmethod
    def well_formed(eid: str) -> bool:
        if not eid.startswith((REST_PREFIX, IMMUTABLE_PREFIX)):
            return False
        alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
        return set(eid) <= alphabet
