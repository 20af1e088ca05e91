"""The provider's side of the sync state machine, behind one small interface.

A ``RemoteSide`` is what a person does in the provider's own app (add, edit, remove by UID),
what the provider holds now (``events``, ``uids``), a new client process (``new_bridge``), and
which side wins a same-property clash (``clash_winner``), since that follows the LAST-MODIFIED
each side writes.

* ``MemorySide``: ``MemoryCalendar`` through ``MemoryBridge(page_size=2)``; LAST-MODIFIED is
  whatever the machine wrote, so the later edit wins (local on a tie, the policy's default).
* ``GoogleSide``: one calendar of the local Google fake, over real HTTP. Google stamps
  ``updated`` (LAST-MODIFIED) itself with the wall clock, later than the machine's January 2026
  stamps, so the Google side wins every clash. It also arms Google's own faults (``arm``).
* ``OutlookSide``: one calendar of the local Graph fake, over HTTPS, signed in once per fake
  (``outlook_vault``). Outlook stamps ``lastModifiedDateTime`` itself with the wall clock, so the
  Outlook side wins every clash too. It arms Graph's own faults (``arm``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

from kalends.bridges.base import Bridge, Capability, ChangePage, RemoteEvent, Watch
from kalends.bridges.google.mapping import GoogleSeries, to_ical
from kalends.bridges.memory import MemoryBridge, MemoryCalendar
from kalends.bridges.outlook.mapping import GraphSeries
from kalends.bridges.outlook.mapping import to_ical as graph_to_ical
from kalends.ical import parse
from kalends.ical_zones import ZoneBlocks
from tests.contract.google_harness import google_body, google_bridge, new_calendar
from tests.contract.outlook_harness import (
    DictVault,
    graph_body,
    outlook_bridge,
    outlook_options,
    signed_in_vault,
)
from tests.fakes.google import GoogleFake
from tests.fakes.graph import GraphFake

__all__ = [
    "GOOGLE_FAULTS",
    "OUTLOOK_FAULTS",
    "GoogleSide",
    "MemorySide",
    "OutlookSide",
    "RemoteSide",
    "Side",
    "outlook_vault",
]

Side = Literal["local", "remote"]


class RemoteSide(Protocol):
    def add(self, ical: str) -> None:
        """Create an event in the provider's app (its UID is new to the provider)."""
        ...

    def edit(self, uid: str, ical: str) -> None:
        """Replace the live event with this UID."""
        ...

    def remove(self, uid: str) -> None:
        """Delete the live event with this UID."""
        ...

    def forget_change_log(self) -> None:
        """Old cursors stop working: the next listing reconciles from a full one."""
        ...

    def events(self) -> dict[str, str]:
        """The live events, iCalendar text by UID."""
        ...

    def uids(self) -> list[str]:
        """The UID of every live event, once per event (a UID twice is a duplicate)."""
        ...

    def new_bridge(self) -> Bridge:
        """A client for one round, as a freshly started process makes it."""
        ...

    def clash_winner(self, local_stamp: int, remote_stamp: int) -> Side:
        """Who wins a same-property clash between edits stamped at these machine ticks."""
        ...

    def calm(self) -> None:
        """Disarm the provider's own faults (before the clean rounds)."""
        ...


class MemorySide:
    def __init__(self) -> None:
        self.calendar = MemoryCalendar()

    def _remote_id(self, uid: str) -> str:
        event = self.calendar.by_uid(uid)
        assert event is not None, f"no live event {uid}"
        return event.remote_id

    def add(self, ical: str) -> None:
        self.calendar.add(ical)

    def edit(self, uid: str, ical: str) -> None:
        self.calendar.edit(self._remote_id(uid), ical)

    def remove(self, uid: str) -> None:
        self.calendar.remove(self._remote_id(uid))

    def forget_change_log(self) -> None:
        self.calendar.compact()

    def events(self) -> dict[str, str]:
        return {event.uid: event.ical for event in self.calendar.events.values()}

    def uids(self) -> list[str]:
        return [event.uid for event in self.calendar.events.values()]

    def new_bridge(self) -> Bridge:
        return MemoryBridge(self.calendar, page_size=2)

    def clash_winner(self, local_stamp: int, remote_stamp: int) -> Side:
        return "local" if local_stamp >= remote_stamp else "remote"

    def calm(self) -> None:
        return None


# Google's own misbehaviour, armed for the next (faulty) round (see ``GoogleSide.arm``).
GOOGLE_FAULTS = (
    "rate-limited",  # 429 rateLimitExceeded with a Retry-After
    "user-rate-limited",  # 403 userRateLimitExceeded
    "backend-error",  # 503 backendError
    "lost-reply",  # the request is applied, the answer is a 503
    "short-pages-on",  # short and empty pages that still carry a nextPageToken
    "short-pages-off",
    "expire-sync-tokens",  # the next incremental listing gets 410: reconcile
    "expire-access-tokens",  # the access token is refused from some call of the round on
)


class GoogleSide:
    """One fresh calendar of a running ``GoogleFake``; the bridge sees it only over HTTP."""

    page_size = 3

    def __init__(self, fake: GoogleFake, zone: str = "UTC") -> None:
        self.fake = fake
        self.calendar_id = new_calendar(fake, zone)
        self.expire_tokens_at: int | None = None  # the faulty round's call that expires tokens
        fake.faults.clear()
        fake.short_pages = False
        fake.store.rng.seed(fake.faults.seed)  # short pages alike whenever an example replays

    def _live(self) -> list[dict[str, Any]]:
        """The live masters (and single events), oldest change first."""
        return [
            resource
            for resource in self.fake.events(self.calendar_id)
            if not resource.get("recurringEventId") and resource.get("status") != "cancelled"
        ]

    def _event_id(self, uid: str) -> str:
        ids = [str(r["id"]) for r in self._live() if r.get("iCalUID") == uid]
        assert len(ids) == 1, f"{uid}: live events {ids}"
        return ids[0]

    def add(self, ical: str) -> None:
        self.fake.insert(self.calendar_id, google_body(ical))

    def edit(self, uid: str, ical: str) -> None:
        self.fake.update(self.calendar_id, self._event_id(uid), google_body(ical))

    def remove(self, uid: str) -> None:
        self.fake.delete(self.calendar_id, self._event_id(uid))

    def forget_change_log(self) -> None:
        self.fake.compact(self.calendar_id)  # tombstones purged: older sync tokens get 410

    def events(self) -> dict[str, str]:
        zones = ZoneBlocks()
        return {
            str(master["iCalUID"]): to_ical(GoogleSeries(master, ()), zones=zones)
            for master in self._live()
        }

    def uids(self) -> list[str]:
        return [str(master["iCalUID"]) for master in self._live()]

    def new_bridge(self) -> Bridge:
        bridge = google_bridge(self.fake, self.calendar_id, page_size=self.page_size)
        tokens = bridge.api.api._tokens  # its sign-in client: aclose leaves it open
        at, self.expire_tokens_at = self.expire_tokens_at, None
        return Hooked(bridge, at, self.fake.expire_access_tokens, getattr(tokens, "close", None))

    def clash_winner(self, local_stamp: int, remote_stamp: int) -> Side:
        return "remote"  # Google's wall-clock ``updated`` is newer than any machine stamp

    def arm(self, kind: str, count: int = 1, method: str | None = None) -> None:
        """Arm one of ``GOOGLE_FAULTS`` (``count`` times; for failures, on ``method`` only)."""
        fake = self.fake
        if kind == "rate-limited":
            fake.fail_next(429, "rateLimitExceeded", retry_after=30, count=count, method=method)
        elif kind == "user-rate-limited":
            fake.fail_next(403, "userRateLimitExceeded", count=count, method=method)
        elif kind == "backend-error":
            fake.fail_next(503, "backendError", count=count, method=method)
        elif kind == "lost-reply":
            fake.lose_next_reply(count=count, method=method)
        elif kind in ("short-pages-on", "short-pages-off"):
            fake.short_pages = kind == "short-pages-on"
        elif kind == "expire-sync-tokens":
            fake.expire_sync_tokens(self.calendar_id)
        elif kind == "expire-access-tokens":  # after ``count`` calls: the first one signs in
            self.expire_tokens_at = count + 1
        else:
            raise ValueError(f"unknown Google fault {kind!r}")

    def calm(self) -> None:
        """Failures and lost replies still armed are dropped; short pages stay (they are how
        Google answers, not a failure) and so do expired sync tokens (the next listing
        reconciles)."""
        self.fake.faults.clear()
        self.expire_tokens_at = None


# Graph's own misbehaviour, armed for the next (faulty) round (see ``OutlookSide.arm``).
OUTLOOK_FAULTS = (
    "throttled",  # 429 TooManyRequests with a Retry-After
    "throttled-bare",  # 429 without one (and throttling answers omit it: omit_retry_after)
    "unavailable",  # 503 ServiceNotAvailable
    "gateway-timeout",  # 504 GatewayTimeout, the request not applied
    "lost-reply",  # the request is applied, the answer is a 504
    "empty-pages-on",  # delta rounds start with (and sometimes hold) empty pages
    "empty-pages-off",
    "replays-on",  # the last event of a delta page comes again on the next page
    "replays-off",
    "removed-noise-on",  # events changed outside the window are reported @removed
    "removed-noise-off",
    "expire-delta-gone",  # old delta tokens get 410 with a Location: reconcile
    "expire-delta-not-found",  # old delta tokens get 400 SyncStateNotFound: reconcile
    "expire-access-tokens",  # the access token is refused from some call of the round on
)
MACHINE_DAY = date(2026, 3, 1)  # the day of the machine's events (``event_text``)
# The calendars earlier OutlookSides made in each fake (see ``OutlookSide.__init__``).
_MACHINE_CALENDARS: weakref.WeakKeyDictionary[GraphFake, list[str]] = weakref.WeakKeyDictionary()


def outlook_vault(fake: GraphFake) -> DictVault:
    """A vault signed in to ``fake`` (device code, approved at once): sign in once per fake, as
    one grant serves every calendar of the account."""
    return signed_in_vault(fake, outlook_options(fake, fake.default_calendar_id))


class OutlookSide:
    """One fresh calendar of a running ``GraphFake``; the bridge sees it only over HTTPS."""

    page_size = 3

    def __init__(self, fake: GraphFake, vault: DictVault) -> None:
        self.fake = fake
        self.vault = vault
        # Every example reuses the same UIDs, and the bridge's transactionId (from the UID alone)
        # is remembered mailbox-wide: an event left in an earlier example's calendar would
        # answer this one's create. So earlier calendars are emptied first.
        earlier = _MACHINE_CALENDARS.setdefault(fake, [])
        for cid in earlier:
            for resource in fake.events(cid):
                if resource.get("type") in (None, "singleInstance", "seriesMaster"):
                    fake.delete(str(resource["id"]))
        self.calendar_id = fake.add_calendar("Machine")
        earlier.append(self.calendar_id)
        self.expire_tokens_at: int | None = None  # the faulty round's call that expires tokens
        fake.faults.clear()  # also turns empty pages, replays and removed noise off
        fake.faults.rng.seed(fake.faults.seed)  # empty pages alike whenever an example replays
        # The bridge syncs a window around today: keep the machine's day inside it.
        self.past_days = max(365, (datetime.now(UTC).date() - MACHINE_DAY).days + 30)

    def _live(self) -> list[dict[str, Any]]:
        """The live single events and series masters, oldest first."""
        return [
            resource
            for resource in self.fake.events(self.calendar_id)
            if resource.get("type") in (None, "singleInstance", "seriesMaster")
        ]

    def _by_uid(self) -> list[tuple[str, str, str]]:
        """(UID, REST id, iCalendar text) of every live event."""
        zones = ZoneBlocks()
        found = []
        for master in self._live():
            text = graph_to_ical(GraphSeries(master, ()), zones=zones)
            uid = parse(text).sub("VEVENT")[0].first("UID") or ""
            found.append((uid, str(master["id"]), text))
        return found

    def _event_id(self, uid: str) -> str:
        ids = [eid for found, eid, _ in self._by_uid() if found == uid]
        assert len(ids) == 1, f"{uid}: live events {ids}"
        return ids[0]

    def add(self, ical: str) -> None:
        self.fake.create(self.calendar_id, graph_body(ical))

    def edit(self, uid: str, ical: str) -> None:
        self.fake.update(self._event_id(uid), graph_body(ical))

    def remove(self, uid: str) -> None:
        self.fake.delete(self._event_id(uid))

    def forget_change_log(self) -> None:
        self.fake.expire_delta_tokens(self.calendar_id, "gone")  # the next listing reconciles

    def events(self) -> dict[str, str]:
        return {uid: text for uid, _, text in self._by_uid()}

    def uids(self) -> list[str]:
        return [uid for uid, _, _ in self._by_uid()]

    def new_bridge(self) -> Bridge:
        bridge = outlook_bridge(
            self.fake, self.calendar_id, self.vault,
            page_size=self.page_size, past_days=self.past_days,
        )  # fmt: skip
        tokens = bridge.api.api._tokens  # msal's requests session: aclose leaves it open
        session = getattr(getattr(tokens, "_app", None), "http_client", None)
        at, self.expire_tokens_at = self.expire_tokens_at, None
        return Hooked(bridge, at, self.fake.expire_access_tokens, getattr(session, "close", None))

    def clash_winner(self, local_stamp: int, remote_stamp: int) -> Side:
        return "remote"  # Outlook's wall-clock lastModifiedDateTime is newer than any stamp

    def arm(self, kind: str, count: int = 1, method: str | None = None) -> None:
        """Arm one of ``OUTLOOK_FAULTS`` (``count`` times; for failures, on ``method`` only)."""
        fake = self.fake
        if kind == "throttled":
            fake.fail_next(429, "TooManyRequests", retry_after=30, count=count, method=method)
        elif kind == "throttled-bare":
            fake.omit_retry_after = True
            fake.fail_next(429, "TooManyRequests", count=count, method=method)
        elif kind == "unavailable":
            fake.fail_next(503, count=count, method=method)
        elif kind == "gateway-timeout":
            fake.fail_next(504, count=count, method=method)
        elif kind == "lost-reply":
            fake.lose_next_reply(count=count, method=method)
        elif kind in ("empty-pages-on", "empty-pages-off"):
            fake.empty_pages = kind.endswith("-on")
        elif kind in ("replays-on", "replays-off"):
            fake.replays = kind.endswith("-on")
        elif kind in ("removed-noise-on", "removed-noise-off"):
            fake.removed_noise = kind.endswith("-on")
        elif kind in ("expire-delta-gone", "expire-delta-not-found"):
            mode = "gone" if kind == "expire-delta-gone" else "not_found"
            fake.expire_delta_tokens(self.calendar_id, mode)
        elif kind == "expire-access-tokens":  # before the ``count``-th call of the round
            self.expire_tokens_at = count
        else:
            raise ValueError(f"unknown Outlook fault {kind!r}")

    def calm(self) -> None:
        """Failures and lost replies still armed are dropped; empty pages, replays and removed
        noise stay (they are how Graph answers, not failures) and so do expired delta tokens
        (the next listing reconciles)."""
        fake = self.fake
        kept = fake.empty_pages, fake.replays, fake.removed_noise
        fake.faults.clear()
        fake.empty_pages, fake.replays, fake.removed_noise = kept
        self.expire_tokens_at = None


class Hooked:
    """A bridge that runs ``action`` just before its ``at``-th call (1-based; None: never) and
    ``closing`` after its own ``aclose``."""

    def __init__(
        self,
        inner: Bridge,
        at: int | None,
        action: Callable[[], None],
        closing: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.at = at
        self.action = action
        self.closing = closing
        self.calls = 0

    def _count(self) -> None:
        self.calls += 1
        if self.calls == self.at:
            self.action()

    @property
    def capabilities(self) -> Capability:
        return self.inner.capabilities

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        self._count()
        return await self.inner.list_changes(cursor, page)

    async def get(self, remote_id: str) -> RemoteEvent:
        self._count()
        return await self.inner.get(remote_id)

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        self._count()
        return await self.inner.find_by_uid(uid)

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        self._count()
        return await self.inner.create(ical, uid)

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        self._count()
        return await self.inner.update(remote_id, ical, if_match)

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        self._count()
        await self.inner.delete(remote_id, if_match)

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        return await self.inner.watch(notify)

    async def aclose(self) -> None:
        await self.inner.aclose()
        if self.closing is not None:
            self.closing()
