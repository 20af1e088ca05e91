"""The model of an Outlook mailbox behind the fake: calendars, events, series, their changes.

Pure Python, no HTTP: the server and the test's control API call the same methods, under one
lock, so a change made "by the Outlook user" is indistinguishable from one made over the API.
Listeners hear every change (the subscriptions), outside the lock.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any, Literal

from tests.fakes.graph.bodies import Times, check_body, extended_of, times_of
from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.faults import Faults
from tests.fakes.graph.model import Calendar, Exception_, Ids, Record, new_calendar_id
from tests.fakes.graph.recurrence import Series, parse_recurrence
from tests.fakes.graph.zones import resolve

__all__ = ["Change", "Owner", "Store"]

ChangeType = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class Owner:
    """The one user whose mailbox the fake serves."""

    name: str
    address: str
    oid: str  # the user's object id (a GUID)
    tid: str  # the tenant id (a GUID)

    def email_address(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address}


@dataclass(frozen=True)
class Change:
    calendar_id: str
    record: Record  # the version after the change (a tombstone for deletions)
    change_type: ChangeType


class Store:
    def __init__(self, clock: Callable[[], float], owner: Owner, faults: Faults) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.owner = owner
        self.faults = faults
        self.ids = Ids()
        self.secret = secrets.token_bytes(32)  # seals delta and skip tokens
        self.listeners: list[Callable[[Change], None]] = []
        self.calendars: dict[str, Calendar] = {}
        self.records: dict[str, Record] = {}  # live events and tombstones, by key
        self._by_id: dict[str, str] = {}  # REST and immutable ids of live events -> key
        self._by_serial: dict[int, str] = {}
        self._by_transaction: dict[str, str] = {}
        self.seq = 0
        self._serials = 0
        self._last_stamp = 0.0
        self.default_calendar_id = self.add_calendar("Calendar", default=True)

    def stamp(self) -> float:
        """Now, strictly after every earlier stamp."""
        now = max(self.clock(), self._last_stamp + 0.000001)
        self._last_stamp = now
        return now

    # -- calendars ---------------------------------------------------------------------------

    def add_calendar(self, name: str, *, default: bool = False, can_edit: bool = True) -> str:
        with self.lock:
            cid = new_calendar_id()
            token_id = hashlib.sha256(cid.encode()).hexdigest()[:12]
            self.calendars[cid] = Calendar(
                cid, name, default, self.ids.change_key(), token_id, can_edit=can_edit
            )
            return cid

    def calendar(self, cid: str) -> Calendar:
        found = self.calendars.get(cid)
        if found is None:
            raise GraphError.item_not_found() if Ids.well_formed(cid) else GraphError.malformed_id()
        return found

    def calendar_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                c.resource(self.owner.name, self.owner.address) for c in self.calendars.values()
            ]

    # -- reading -----------------------------------------------------------------------------

    def locate(self, eid: str) -> tuple[Record, datetime | None]:
        """The live event an id names, with the original start when it names an occurrence."""
        key = self._by_id.get(eid)
        if key is not None:
            return self.records[key], None
        found = self.ids.read_occurrence(eid)
        if found is not None:
            serial, generation, immutable, original = found
            master = self.records.get(self._by_serial.get(serial, ""))
            if master is not None and not master.deleted and master.series is not None:
                current = immutable or generation == master.generation
                live = original not in master.cancelled and (
                    original in master.exceptions or master.series.occurs(original)
                )
                if current and live:
                    return master, original
        raise GraphError.item_not_found() if Ids.well_formed(eid) else GraphError.malformed_id()

    def live(self, cid: str) -> list[Record]:
        """The single events and series masters of a calendar, oldest first."""
        cal = self.calendar(cid)
        return sorted(
            (r for r in self.records.values() if r.calendar_id == cal.id and not r.deleted),
            key=lambda r: (r.created, r.serial),
        )

    # -- writing -----------------------------------------------------------------------------

    def _notify(self, change: Change) -> None:
        for listener in list(self.listeners):
            listener(change)

    def _commit(self, cal: Calendar, record: Record) -> None:
        self.seq += 1
        record.seq = self.seq
        self.records[record.key] = record
        cal.log(record.seq, record.key)
        if record.deleted:
            for name in (record.rid, record.iid):
                if self._by_id.get(name) == record.key:
                    del self._by_id[name]
            if record.transaction_id is not None:
                self._by_transaction.pop(record.transaction_id, None)
        else:
            self._by_id[record.rid] = self._by_id[record.iid] = record.key
            self._by_serial[record.serial] = record.key
            if record.transaction_id is not None:
                self._by_transaction[record.transaction_id] = record.key
        cal.compact(self.records)

    def create(self, cid: str, body: Any, *, custom_zone: bool = False) -> tuple[Record, bool]:
        """A new event (False: an earlier POST with the same transactionId made it)."""
        with self.lock:
            cal = self.calendar(cid)
            if not cal.can_edit:
                raise GraphError.access_denied()
            clean = check_body(body)
            transaction = clean.pop("transactionId", None)
            if transaction is not None and transaction in self._by_transaction:
                return self.records[self._by_transaction[transaction]], False
            extended = extended_of(clean.pop("singleValueExtendedProperties", None), {})
            clean.pop("multiValueExtendedProperties", None)
            times = times_of(clean, None)
            recurrence, series, start, end = _series(clean.get("recurrence"), times)
            for name in ("start", "end", "isAllDay", "recurrence"):
                clean.pop(name, None)
            now = self.stamp()
            self._serials += 1
            iid = self.ids.immutable_id()
            record = Record(
                iid,
                self._serials,
                iid,
                self.ids.rest_id(),
                0,
                cal.id,
                {k: v for k, v in clean.items() if v is not None},
                start,
                end,
                times[2],
                times[3],
                times[4],
                recurrence,
                series,
                self.ids.ical_uid(),
                self.ids.change_key(),
                now,
                now,
                transaction,
                extended,
                custom_zone,
            )
            self._commit(cal, record)
        self._notify(Change(cal.id, record, "created"))
        return record, True

    def update(
        self, eid: str, body: Any, if_match: str | None = None
    ) -> tuple[Record, datetime | None]:
        with self.lock:
            record, original = self.locate(eid)
            _check_match(if_match, _change_key(record, original))
            clean = check_body(body)
            clean.pop("transactionId", None)  # set once, on creation
            if original is None:
                new = self._revise(record, clean)
            else:
                new = self._revise_occurrence(record, original, clean)
            self._commit(self.calendars[record.calendar_id], new)
        self._notify(Change(new.calendar_id, new, "updated"))
        return new, original

    def _revise(self, record: Record, clean: dict[str, Any]) -> Record:
        extended = extended_of(clean.pop("singleValueExtendedProperties", None), record.extended)
        clean.pop("multiValueExtendedProperties", None)
        before: Times = (
            record.start,
            record.end,
            record.start_zone,
            record.end_zone,
            record.all_day,
        )
        times = times_of(clean, before)
        raw = clean.get("recurrence", record.recurrence)
        recurrence, series, start, end = _series(raw, times)
        body = dict(record.body)
        for name, value in clean.items():
            if name in ("start", "end", "isAllDay", "recurrence"):
                continue
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        moved = (start, end, recurrence, times[4]) != (
            record.start,
            record.end,
            record.recurrence,
            record.all_day,
        )
        return replace(
            record,
            body=body,
            start=start,
            end=end,
            start_zone=times[2],
            end_zone=times[3],
            all_day=times[4],
            recurrence=recurrence,
            series=series,
            extended=extended,
            exceptions={} if moved else record.exceptions,
            cancelled=frozenset() if moved else record.cancelled,
            change_key=self.ids.change_key(),
            modified=self.stamp(),
            prior=record,
        )

    def _revise_occurrence(
        self, record: Record, original: datetime, clean: dict[str, Any]
    ) -> Record:
        if clean.get("recurrence") is not None:
            raise GraphError.validation()
        changed = record.exceptions.get(original)
        length = record.end - record.start
        before: Times = (
            changed.start if changed else original,
            changed.end if changed else original + length,
            changed.start_zone if changed else record.start_zone,
            changed.end_zone if changed else record.end_zone,
            record.all_day,
        )
        clean.pop("isAllDay", None)  # an occurrence keeps the series' kind
        start, end, start_zone, end_zone, _ = times_of(clean, before)
        overrides = dict(changed.overrides) if changed else {}
        for name, value in clean.items():
            if name not in (
                "start",
                "end",
                "recurrence",
                "singleValueExtendedProperties",
                "multiValueExtendedProperties",
            ):
                overrides[name] = value
        now = self.stamp()
        made = Exception_(
            original, start, end, start_zone, end_zone, overrides, self.ids.change_key(), now
        )
        return replace(
            record,
            exceptions={**record.exceptions, original: made},
            change_key=self.ids.change_key(),
            modified=now,
            prior=record,
        )

    def delete(self, eid: str, if_match: str | None = None) -> Record:
        with self.lock:
            record, original = self.locate(eid)
            _check_match(if_match, _change_key(record, original))
            cal = self.calendars[record.calendar_id]
            if not cal.can_edit:
                raise GraphError.access_denied()
            if original is None:
                new = replace(record, deleted=True, prior=record, modified=self.stamp())
                change: ChangeType = "deleted"
            else:  # the series forgets the occurrence; v1.0 has no trace of it
                exceptions = {k: v for k, v in record.exceptions.items() if k != original}
                new = replace(
                    record,
                    exceptions=exceptions,
                    cancelled=record.cancelled | {original},
                    change_key=self.ids.change_key(),
                    modified=self.stamp(),
                    prior=record,
                )
                change = "updated"
            self._commit(cal, new)
        self._notify(Change(cal.id, new, change))
        return new

    def move(self, eid: str, cid: str) -> Record:
        """The user drags an event to another calendar: its REST id changes, the immutable
        id stays."""
        with self.lock:
            record, original = self.locate(eid)
            if original is not None:
                raise GraphError.bad_request("An occurrence cannot be moved on its own.")
            target = self.calendar(cid)
            source = self.calendars[record.calendar_id]
            if target.id == source.id:
                return record
            gone = replace(
                record,
                key=f"{record.key}#{record.generation}",
                deleted=True,
                prior=record,
                modified=self.stamp(),
            )
            self._commit(source, gone)
            del self._by_id[record.rid]  # the old REST id names nothing any more
            moved = replace(
                record,
                calendar_id=target.id,
                generation=record.generation + 1,
                rid=self.ids.rest_id(),
                change_key=self.ids.change_key(),
                modified=self.stamp(),
                prior=None,
            )
            self._commit(target, moved)
        self._notify(Change(source.id, gone, "deleted"))
        self._notify(Change(target.id, moved, "created"))
        return moved

    def expire_delta_tokens(self, cid: str | None, mode: str) -> None:
        if mode not in ("gone", "not_found"):
            raise ValueError("mode is 'gone' (410) or 'not_found' (400 SyncStateNotFound)")
        with self.lock:
            for cal in self.calendars.values() if cid is None else [self.calendar(cid)]:
                cal.epoch += 1
                cal.reset = mode


def _change_key(record: Record, original: datetime | None) -> str:
    changed = record.exceptions.get(original) if original is not None else None
    return changed.change_key if changed is not None else record.change_key


def _check_match(if_match: str | None, change_key: str) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if change_key not in tags:
        raise GraphError.conflict()


def _series(
    raw: Any, times: Times
) -> tuple[dict[str, Any] | None, Series | None, datetime, datetime]:
    """The normalized recurrence, its series and the master's times (its first occurrence)."""
    start, end, zone_name, _, all_day = times
    recurrence = parse_recurrence(raw, zone_name)
    if recurrence is None:
        return None, None, start, end
    where = resolve(zone_name)
    local = start.astimezone(where)
    series = Series(recurrence, where, time(0, 0) if all_day else local.time())
    first = series.first()
    if first is None:
        raise GraphError.validation()
    if all_day:
        days = (end.astimezone(where).date() - local.date()).days
        last = datetime.combine(
            first.astimezone(where).date() + timedelta(days=days), time(0, 0), tzinfo=where
        )
        return recurrence, series, first, last.astimezone(first.tzinfo)
    return recurrence, series, first, first + (end - start)
