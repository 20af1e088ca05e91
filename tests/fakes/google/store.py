"""The model of Google Calendar behind the fake: calendars, events, their changes.

Pure Python, no HTTP: the server and the test's control API call the same methods, under one
lock, so a change made "by the Google user" is indistinguishable from one made over the API.
Listeners hear the calendar id of every change (the push channels), outside the lock.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.google import listing
from tests.fakes.google.errors import ApiError
from tests.fakes.google.faults import Faults
from tests.fakes.google.model import Calendar, Record, instance_of, render, utc_now
from tests.fakes.google.resources import (
    KEPT_ON_WRITE,
    OWNED,
    STATUSES,
    check_id,
    check_match,
    detach,
    html_link,
    merge_patch,
    new_id,
    object_body,
    only_reminders,
    series_of,
    times_of,
)
from tests.fakes.google.times import When, instance_key, parse_instance_key, parse_when, stamp, zone

__all__ = ["Store"]

Params = Mapping[str, list[str]]
# Fields a change to the series carries to the exceptions that still had the series' value.
PROPAGATED = ("summary", "description", "location", "colorId", "transparency", "visibility")
SEQUENCE_FIELDS = ("start", "end", "recurrence")
INVALID_SEQUENCE = (
    "Invalid sequence value. The specified sequence number is below the current sequence "
    "number of the resource."
)


class Store:
    def __init__(self, clock: Callable[[], float], user_email: str, faults: Faults) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.user_email = user_email
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.secret = secrets.token_bytes(32)  # seals page and sync tokens
        self.strict_ical_uid = True  # insert refuses an iCalUID the calendar holds (even deleted)
        self.listeners: list[Callable[[str], None]] = []
        self.calendars: dict[str, Calendar] = {}
        self._last_stamp = 0.0
        self._last_etag = 0
        self.add_calendar(user_email, user_email, "UTC", primary=True)

    # -- time and versions -------------------------------------------------------------------

    def stamp(self) -> float:
        """Now, to the millisecond, strictly after every earlier stamp."""
        now = round(max(self.clock(), self._last_stamp + 0.001), 3)
        self._last_stamp = now
        return now

    def etag(self) -> str:
        self._last_etag = max(int(self.clock() * 1_000_000), self._last_etag + 1)
        return f'"{self._last_etag}"'

    # -- calendars ---------------------------------------------------------------------------

    def add_calendar(
        self,
        cid: str,
        summary: str,
        time_zone: str = "UTC",
        *,
        primary: bool = False,
        access_role: str = "owner",
    ) -> None:
        zone(time_zone)
        with self.lock:
            if cid in self.calendars:
                raise ValueError(f"calendar {cid!r} exists already")
            token_id = hashlib.sha256(f"{cid}/{len(self.calendars)}".encode()).hexdigest()[:12]
            self.calendars[cid] = Calendar(
                cid, summary, time_zone, token_id, primary=primary, access_role=access_role,
                updated=self.stamp(),
            )  # fmt: skip

    def rename_calendar(self, cid: str, summary: str) -> None:
        with self.lock:
            cal = self.calendar(cid)
            cal.summary, cal.updated = summary, self.stamp()

    def remove_calendar(self, cid: str) -> None:
        with self.lock:
            del self.calendars[self.calendar(cid).id]

    def check_writable(self, cid: str) -> None:
        """Writes through the API need the owner's or a writer's access."""
        with self.lock:
            if self.calendar(cid).access_role not in ("owner", "writer"):
                raise ApiError.required_access_level()

    def calendar(self, cid: str) -> Calendar:
        if cid == "primary":
            cid = self.user_email
        found = self.calendars.get(cid)
        if found is None:
            raise ApiError.not_found()
        return found

    def calendar_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [c.entry() for c in self.calendars.values()]

    # -- reading -----------------------------------------------------------------------------

    def get(self, cid: str, eid: str, time_zone: str | None = None) -> dict[str, Any]:
        with self.lock:
            cal = self.calendar(cid)
            return render(self._locate(cal, eid), _where(cal, time_zone))

    def list_events(self, cid: str, params: Params) -> dict[str, Any]:
        with self.lock:
            return listing.list_events(self, self.calendar(cid), params)

    def list_instances(self, cid: str, eid: str, params: Params) -> dict[str, Any]:
        with self.lock:
            return listing.list_instances(self, self.calendar(cid), eid, params)

    def stored(self, cid: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            cal = self.calendar(cid)
            return [
                detach(render(r, cal.where))
                for r in cal.after(0)
                if include_deleted or not r.deleted
            ]

    def instances(self, cid: str, eid: str) -> list[dict[str, Any]]:
        """The live occurrences of a series (its default expansion horizon)."""
        with self.lock:
            cal = self.calendar(cid)
            master = self._locate(cal, eid)
            if master.series is None or master.virtual:
                return [] if master.deleted else [detach(render(master, cal.where))]
            found = []
            for moment in master.series.occurrences(None, None, cal.where, self.now()):
                item = cal.records.get(f"{master.id}_{instance_key(moment)}")
                item = item or instance_of(master, moment)
                if not item.cancelled and not item.deleted:
                    found.append(detach(render(item, cal.where)))
            return found

    def now(self) -> datetime:
        return utc_now(self.clock())

    def _locate(self, cal: Calendar, eid: str) -> Record:
        """A stored event, or the computed instance an instance id names; 404 otherwise."""
        found = cal.records.get(eid)
        if found is not None:
            return found
        master_id, sep, key = eid.rpartition("_")
        master = cal.records.get(master_id) if sep else None
        moment = parse_instance_key(key) if master is not None else None
        if master is None or master.series is None or moment is None:
            raise ApiError.not_found()
        if not master.series.occurs(moment, cal.where, self.now()):
            raise ApiError.not_found()
        return instance_of(master, moment)

    # -- writing -----------------------------------------------------------------------------

    def _notify(self, cal: Calendar) -> None:
        for listener in list(self.listeners):
            listener(cal.id)

    def insert(self, cid: str, body: Any) -> dict[str, Any]:
        with self.lock:
            cal = self.calendar(cid)
            record = self._insert(cal, object_body(body), imported=False)
            result = render(record, cal.where)
        self._notify(cal)
        return result

    def _insert(self, cal: Calendar, body: dict[str, Any], *, imported: bool) -> Record:
        body = detach(body)
        eid = body.get("id")
        if eid is None:
            eid = new_id()
        elif check_id(eid) in cal.records or eid in cal.retired:
            raise ApiError.duplicate()
        uid = body.get("iCalUID") or f"{eid}@google.com"
        if not isinstance(uid, str):
            raise ApiError.invalid("Invalid iCalUID value.")
        if not imported and self.strict_ical_uid and self._holder(cal, uid) is not None:
            raise ApiError.duplicate()
        body.pop("recurringEventId", None)
        body.pop("originalStartTime", None)
        now = self.stamp()
        base: dict[str, Any] = {"id": eid, "iCalUID": uid, "created": stamp(now),
                                "htmlLink": html_link(eid, cal.id),
                                "eventType": body.get("eventType") or "default",
                                "creator": {"email": self.user_email, "self": True},
                                "organizer": self._organizer(cal)}  # fmt: skip
        if imported and isinstance(body.get("organizer"), dict):
            base["organizer"] = body["organizer"]
        record = self._compose(cal, None, base, body, now, self._sequence(body, 0))
        cal.commit(record, now)
        return record

    def _organizer(self, cal: Calendar) -> dict[str, Any]:
        if cal.primary:
            return {"email": self.user_email, "self": True}
        return {"email": cal.id, "displayName": cal.summary, "self": True}

    def _holder(self, cal: Calendar, uid: str) -> Record | None:
        """The master or single event with this iCalUID (a live one first)."""
        found = [cal.records[i] for i in cal.by_uid.get(uid, ()) if i in cal.records]
        found = [r for r in found if r.master_id is None]
        found.sort(key=lambda r: (r.deleted, -r.seq))
        return found[0] if found else None

    @staticmethod
    def _sequence(body: dict[str, Any], floor: int) -> int:
        given = body.get("sequence")
        if given is None:
            return floor
        if not isinstance(given, int) or isinstance(given, bool) or given < 0:
            raise ApiError.invalid("Invalid sequence value.")
        return max(given, floor)

    def _compose(
        self,
        cal: Calendar,
        old: Record | None,
        kept: dict[str, Any],
        body: dict[str, Any],
        now: float,
        sequence: int,
    ) -> Record:
        """A new version of an event: ``kept`` fields win, Google's own fields are set."""
        incoming = {k: v for k, v in body.items() if k not in OWNED and k not in kept}
        start, end = times_of(incoming)
        instance = kept.get("recurringEventId") is not None
        if instance:
            incoming.pop("recurrence", None)
        series = None if instance else series_of(incoming, start)
        status = incoming.pop("status", "confirmed")
        if status not in STATUSES:
            raise ApiError.invalid("Invalid value for: status")
        made: dict[str, Any] = {"kind": "calendar#event", "etag": self.etag(),
                                "id": kept["id"], "status": status,
                                "htmlLink": kept["htmlLink"], "created": kept["created"],
                                "updated": stamp(now)}  # fmt: skip
        made.update(incoming)
        made.update(kept)
        made["start"], made["end"] = start.stored(), end.stored()
        made["sequence"] = sequence
        made.setdefault("reminders", {"useDefault": True})
        updated = now
        if old is not None:
            if only_reminders(old.body, made):
                made["updated"], updated = old.body["updated"], old.updated
            elif sequence == old.body.get("sequence", 0) and any(
                old.body.get(k) != made.get(k) for k in SEQUENCE_FIELDS
            ):
                made["sequence"] = sequence + 1  # Google counts changes of time and recurrence
        original = old.original if old is not None else None
        deleted = status == "cancelled" and not instance
        return Record(made, start, end, series, original, deleted=deleted, updated=updated)

    def import_event(self, cid: str, body: Any) -> dict[str, Any]:
        with self.lock:
            cal = self.calendar(cid)
            record = self._import(cal, object_body(body))
            result = render(record, cal.where)
        self._notify(cal)
        return result

    def _import(self, cal: Calendar, body: dict[str, Any]) -> Record:
        uid = body.get("iCalUID")
        if not isinstance(uid, str) or not uid:
            raise ApiError.required("Missing iCalUID.", location="iCalUID")
        holder = self._holder(cal, uid)
        if body.get("originalStartTime") is not None and holder is not None:
            original = _original(body).moment
            target = self._locate(cal, f"{holder.id}_{instance_key(original)}")
        elif holder is None:
            return self._insert(cal, body, imported=True)
        else:
            target = holder
        given = body.get("sequence", 0)
        if isinstance(given, int) and given < target.body.get("sequence", 0):
            raise ApiError.invalid(INVALID_SEQUENCE)
        return self._revise(cal, target, body)

    def update(
        self, cid: str, eid: str, body: Any, if_match: str | None = None, *, patch: bool = False
    ) -> dict[str, Any]:
        with self.lock:
            cal = self.calendar(cid)
            current = self._locate(cal, eid)
            check_match(if_match, current.etag)
            if current.deleted:  # what Google answers for an edit of a deleted event
                raise ApiError(403, "forbidden", "Forbidden")
            base = merge_patch(current.body, body) if patch else object_body(body)
            record = self._revise(cal, current, base)
            result = render(record, cal.where)
        self._notify(cal)
        return result

    def _revise(self, cal: Calendar, old: Record, body: dict[str, Any]) -> Record:
        kept = {k: old.body[k] for k in KEPT_ON_WRITE if k in old.body}
        kept["htmlLink"] = old.body["htmlLink"]
        now = self.stamp()
        floor = old.body.get("sequence", 0)
        record = self._compose(cal, old, kept, body, now, self._sequence(body, floor))
        cal.commit(record, now)
        if record.master_id is None:
            self._series_changed(cal, old, record, now)
        return record

    def _series_changed(self, cal: Calendar, old: Record, new: Record, now: float) -> None:
        """Exceptions follow their series: deleted with it, dropped when no longer occurrences,
        and given the series' new values where they still had its old ones."""
        where, today = cal.where, self.now()
        before = set(old.series.occurrences(None, None, where, today)) if old.series else set()
        after = set(new.series.occurrences(None, None, where, today)) if new.series else set()
        new.vanished = (old.vanished | (before - after)) - after
        moved = any(old.body.get(k) != new.body.get(k) for k in ("recurrence", "start"))
        for child_id in sorted(cal.children.get(new.id, ())):
            child = cal.records.get(child_id)
            if child is None or child.deleted or child.original is None:
                continue
            gone = new.deleted or new.series is None
            if not gone and moved:
                gone = not new.series.occurs(child.original.moment, where, today)  # type: ignore[union-attr]
            if gone:
                self._bury(cal, child, now)
            elif not child.cancelled:
                self._carry(cal, old, new, child, now)

    def _carry(self, cal: Calendar, old: Record, new: Record, child: Record, now: float) -> None:
        body = dict(child.body)
        for name in PROPAGATED:
            was, value = old.body.get(name), new.body.get(name)
            if was != value and child.body.get(name) == was:
                body.update({name: value} if name in new.body else {})
                if name not in new.body:
                    body.pop(name, None)
        if body != child.body:
            body["etag"], body["updated"] = self.etag(), stamp(now)
            cal.commit(_replace(child, body, now), now)

    def _bury(self, cal: Calendar, record: Record, now: float) -> None:
        body = dict(record.body, status="cancelled", etag=self.etag(), updated=stamp(now))
        buried = _replace(record, body, now)
        buried.deleted = True
        cal.commit(buried, now)

    def delete(self, cid: str, eid: str, if_match: str | None = None) -> None:
        with self.lock:
            cal = self.calendar(cid)
            current = self._locate(cal, eid)
            if current.deleted or (current.original is not None and current.cancelled):
                raise ApiError.deleted()
            check_match(if_match, current.etag)
            now = self.stamp()
            if current.original is not None:  # an occurrence: a cancelled exception
                body = dict(current.body, status="cancelled", etag=self.etag(), updated=stamp(now))
                cal.commit(_replace(current, body, now), now)
            else:
                self._bury(cal, current, now)
                self._series_changed(cal, current, cal.records[current.id], now)
        self._notify(cal)

    # -- keeping tokens honest -----------------------------------------------------------------

    def expire_sync_tokens(self, cid: str | None = None) -> None:
        with self.lock:
            for cal in self._targets(cid):
                cal.epoch += 1

    def compact(self, cid: str | None = None) -> None:
        """Purge tombstones: sync tokens and updatedMin older than them get 410 from now on."""
        with self.lock:
            for cal in self._targets(cid):
                purged = [r for r in cal.records.values() if r.deleted]
                marked = [r for r in cal.records.values() if r.vanished]
                for record in marked:
                    record.vanished = set()
                if not purged and not marked:
                    continue
                newest = purged + marked
                cal.horizon_seq = max(cal.horizon_seq, *(r.seq for r in newest))
                cal.horizon_time = max(r.updated for r in newest)
                for record in purged:
                    cal.forget(record)
                cal.rebuild_log()

    def _targets(self, cid: str | None) -> list[Calendar]:
        return list(self.calendars.values()) if cid is None else [self.calendar(cid)]


def _where(cal: Calendar, time_zone: str | None) -> ZoneInfo:
    if time_zone is None:
        return cal.where
    try:
        return zone(time_zone)
    except ValueError:
        raise ApiError.invalid("Invalid time zone.", location="timeZone") from None


def _original(body: dict[str, Any]) -> When:
    return parse_when(body.get("originalStartTime"), "originalStart")


def _replace(record: Record, body: dict[str, Any], now: float) -> Record:
    return Record(
        body, record.start, record.end, record.series, record.original,
        deleted=record.deleted, updated=now,
    )  # fmt: skip
