"""Sync inside ``kalends serve``: when each source runs a round.

- a CalDAV client's write queues an outbox row; the outbox is watched every quarter second
  (one indexed query for all sources, and it works across processes), so it is pushed within
  a second;
- a push from the source (a file event in an Obsidian vault, a provider webhook) wakes the
  source's runner at once;
- otherwise each source polls on an adaptive interval: shorter after a round that found
  changes, longer while nothing happens, backing off after errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy import func, select

from kalends.bridges.base import SourceOptionError, Watch
from kalends.config import Settings
from kalends.storage.base import Transactions
from kalends.storage.models import outbox
from kalends.sync.executor import Report, Round
from kalends.sync.sources import Shared, SourceParts, open_source
from kalends.sync.sqlstore import SourceNotProvisioned

logger = logging.getLogger(__name__)

OUTBOX_POLL = 0.25


@dataclass
class AdaptiveInterval:
    """Poll interval of one source: ``base`` when things change, up to ``4 * base`` when
    quiet, doubling to ``max_backoff`` while rounds fail."""

    base: float
    max_backoff: float = 900.0
    current: float = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.base

    def after(self, report: Report) -> float:
        if report.error is not None:
            self.current = min(max(self.current, self.base) * 2, self.max_backoff)
        elif report.actions:
            self.current = self.base
        else:
            self.current = min(self.current * 1.5, self.base * 4)
        return self.current


class SourceRunner:
    def __init__(self, parts: SourceParts) -> None:
        self.parts = parts
        self.wake = asyncio.Event()
        self.interval = AdaptiveInterval(parts.interval)
        self._watch: Watch | None = None

    @property
    def name(self) -> str:
        return self.parts.settings.name

    async def run_forever(self) -> None:
        try:
            self._watch = await self.parts.bridge.watch(self._signal())
        except Exception as error:  # no push: the source is still polled
            logger.warning("source %s: change notifications unavailable: %s", self.name, error)
        while True:
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.interval.current)

    def _signal(self) -> Callable[[], None]:
        loop = asyncio.get_running_loop()

        def notify() -> None:  # bridges may call it from their own threads
            loop.call_soon_threadsafe(self.wake.set)

        return notify

    async def run_once(self) -> Report:
        self.wake.clear()
        parts = self.parts
        try:
            report = await Round(parts.bridge, parts.store, parts.policy).run()
        except Exception:  # a bug must not stop the other sources or the server
            logger.exception("sync of %s failed", self.name)
            report = Report("", error="internal error")
        self.interval.after(report)
        if report.actions or report.error:
            logger.info(
                "sync %s: %s%s", self.name, report.counts or "no changes",
                f"; error: {report.error}" if report.error else "",
            )  # fmt: skip
        return report

    async def close(self) -> None:
        if self._watch is not None:
            await self._watch.close()
        await self.parts.bridge.aclose()


class Scheduler:
    def __init__(self, runners: list[SourceRunner], transactions: Transactions) -> None:
        self.runners = {runner.parts.store.collection.id: runner for runner in runners}
        self.transactions = transactions
        self._runs: dict[int, asyncio.Task[None]] = {}
        self._outbox: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for collection_id, runner in self.runners.items():
            self._launch(collection_id, runner)

    def _launch(self, collection_id: int, runner: SourceRunner) -> None:
        self._runs[collection_id] = asyncio.create_task(runner.run_forever(), name=runner.name)
        if self._outbox is None:
            self._outbox = asyncio.create_task(self._watch_outbox(), name="outbox")

    async def drop_missing(self, settings: Settings) -> list[str]:
        """Stop the runners of sources ``settings`` no longer has, or has changed."""
        dropped = []
        for collection_id, runner in list(self.runners.items()):
            if settings.sources.get(runner.name) != runner.parts.settings:
                await self._retire(collection_id)
                dropped.append(runner.name)
        return dropped

    def add_new(self, settings: Settings, shared: Shared | None) -> list[str]:
        """Start runners for the sources of ``settings`` not running yet."""
        running = {runner.name for runner in self.runners.values()}
        added = open_runners(settings, self.transactions, shared, skip=running)
        for runner in added:
            collection_id = runner.parts.store.collection.id
            self.runners[collection_id] = runner
            self._launch(collection_id, runner)
        return [runner.name for runner in added]

    async def _retire(self, collection_id: int) -> None:
        runner = self.runners.pop(collection_id)
        task = self._runs.pop(collection_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await runner.close()

    async def _watch_outbox(self) -> None:
        seen: dict[int, float] = {}
        while True:
            newest = await asyncio.to_thread(self._outbox_heads)
            for collection_id, head in newest.items():
                if head > seen.get(collection_id, 0.0) and collection_id in self.runners:
                    self.runners[collection_id].wake.set()
            seen = newest
            await asyncio.sleep(OUTBOX_POLL)

    def _outbox_heads(self) -> dict[int, float]:
        """When each source's newest waiting change was queued. Not its row id: SQLite hands
        a consumed row's id to the next row, so ids alone would hide a new change."""
        with self.transactions.read() as conn:
            rows = conn.execute(
                select(outbox.c.collection_id, func.max(outbox.c.created_at)).group_by(
                    outbox.c.collection_id
                )
            ).all()
        return {int(cid): float(head) for cid, head in rows}

    async def stop(self) -> None:
        if self._outbox is not None:
            self._outbox.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._outbox
        for collection_id in list(self.runners):
            await self._retire(collection_id)


def open_runners(
    settings: Settings,
    transactions: Transactions,
    shared: Shared | None = None,
    skip: Collection[str] = (),
) -> list[SourceRunner]:
    """A runner per configured source (but those in ``skip``); a source that cannot start is
    logged and left out, so the calendars and the other sources keep working."""
    runners = []
    for name in settings.sources:
        if name in skip:
            continue
        try:
            runners.append(SourceRunner(open_source(settings, name, transactions, shared)))
        except (SourceOptionError, SourceNotProvisioned) as error:
            logger.error("source %s is not synced: %s", name, error)
    return runners


def build_scheduler(
    settings: Settings, transactions: Transactions, shared: Shared | None = None
) -> Scheduler:
    return Scheduler(open_runners(settings, transactions, shared), transactions)
