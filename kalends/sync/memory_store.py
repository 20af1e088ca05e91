"""The reference ``SyncStore``: our side of one source in memory, with the same rules as SQL.

Also plays the CalDAV clients (``client_put``, ``client_delete``), whose writes queue outbox
rows exactly as the storage plugin does. Used by the property-based tests of the engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from kalends.ical import uid_of
from kalends.sync.model import Kind, LocalItem, Status
from kalends.sync.store import Applied, Outcome, RoundEnd, RoundState


def etag_of(text: str) -> str:
    return '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + '"'


@dataclass
class JournalEntry:
    run_id: str
    href: str
    uid: str
    action: str
    before: str | None
    after: str | None
    conflict: bool = False
    detail: str = ""


@dataclass
class MemoryStore:
    items: dict[str, tuple[str, str]] = field(default_factory=dict)  # href -> (etag, text)
    outbox: list[tuple[int, str]] = field(default_factory=list)
    statuses: dict[str, Status] = field(default_factory=dict)  # by href
    journal: list[JournalEntry] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    cursor: str | None = None
    quarantine: str | None = None
    last_error: str | None = None
    _next_outbox: int = 1

    # -- CalDAV clients ------------------------------------------------------------------------

    def client_put(self, href: str, text: str) -> None:
        self.items[href] = (etag_of(text), text)
        self._queue(href)

    def client_delete(self, href: str) -> None:
        if self.items.pop(href, None) is not None:
            self._queue(href)

    def _queue(self, href: str) -> None:
        self.outbox.append((self._next_outbox, href))
        self._next_outbox += 1

    # -- SyncStore -----------------------------------------------------------------------------

    def load(self) -> RoundState:
        through = self.outbox[-1][0] if self.outbox else 0
        hrefs = {href for _, href in self.outbox}
        changes = {href: self._local(href) for href in hrefs}
        statuses = {status.remote_id: status for status in self.statuses.values()}
        return RoundState(statuses, changes, through, self.cursor, self.quarantine)

    def _local(self, href: str) -> LocalItem:
        found = self.items.get(href)
        if found is None:
            return LocalItem(href, None, None, None)
        return LocalItem(href, found[0], found[1], uid_of(found[1]))

    def bases(self, remote_ids: Collection[str]) -> dict[str, str]:
        wanted = set(remote_ids)
        return {s.remote_id: s.base for s in self.statuses.values() if s.remote_id in wanted}

    def current(self, hrefs: Collection[str]) -> dict[str, LocalItem]:
        return {href: self._local(href) for href in hrefs if href in self.items}

    def start_run(self, run_id: str) -> None:
        self.runs.append(run_id)

    def apply(self, run_id: str, applied: Sequence[Applied], outbox_through: int) -> list[Outcome]:
        return [self._apply_one(run_id, one, outbox_through) for one in applied]

    def _apply_one(self, run_id: str, one: Applied, through: int) -> Outcome:
        action = one.action
        href = action.href or self._free_href(action.uid)
        etag = one.local_etag or action.expect_etag
        if action.write_local and one.write_local:
            current = self.items.get(href)
            if (current[0] if current else None) != action.expect_etag:
                return Outcome(action, False)
            if action.local_text is None:
                self.items.pop(href, None)
                etag = None
            else:
                etag = etag_of(action.local_text)
                self.items[href] = (etag, action.local_text)
        if not one.journaled:
            self._journal(run_id, href, one)
        self._link(href, one, etag)
        if not one.local_pending:
            self.outbox = [(n, h) for n, h in self.outbox if not (h == href and n <= through)]
        return Outcome(action, True, etag, href)

    def _journal(self, run_id: str, href: str, one: Applied) -> None:
        action = one.action
        after = action.local_text if action.write_local else action.remote_text
        if action.kind is not Kind.LINK:
            self.journal.append(
                JournalEntry(
                    run_id,
                    href,
                    action.uid,
                    action.kind.value,
                    action.before_local,
                    after,
                    detail=action.detail,
                )
            )
        if action.conflict_loser is not None:
            self.journal.append(
                JournalEntry(
                    run_id,
                    href,
                    action.uid,
                    action.kind.value,
                    action.conflict_loser,
                    None,
                    conflict=True,
                    detail=action.detail,
                )
            )

    def _link(self, href: str, one: Applied, etag: str | None) -> None:
        action, remote = one.action, one.remote
        if one.local_pending:
            if action.status is not None:
                old = action.status
                self.statuses[href] = Status(
                    old.remote_id, href, old.uid, old.remote_version, "", old.base, old.vector
                )
            return
        if remote is None or (etag is None and href not in self.items):
            self.statuses.pop(href, None)
            return
        self.statuses[href] = Status(
            remote.remote_id, href, action.uid, remote.version, etag or "", remote.ical,
            action.vector,
        )  # fmt: skip

    def _free_href(self, uid: str) -> str:
        base = "".join(c if c.isalnum() or c in "-_@." else "_" for c in uid)[:80]
        href, n = f"{base}.ics", 1
        while href in self.items or href in self.statuses:
            n += 1
            href = f"{base}-{n}.ics"
        return href

    def finish(self, run_id: str, end: RoundEnd) -> None:
        if end.save_cursor:
            self.cursor = end.cursor
        self.quarantine = end.quarantine
        self.last_error = end.error
        by_remote = {status.remote_id: status for status in self.statuses.values()}
        for remote_id, version in end.refreshed.items():
            old = by_remote.get(remote_id)
            if old is not None:
                self.statuses[old.href] = Status(
                    old.remote_id, old.href, old.uid, version, old.local_etag, old.base,
                    old.vector,
                )  # fmt: skip
