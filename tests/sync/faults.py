"""Fault injection around a bridge and a store: failed calls, calls that land but report a
failure, and process deaths (``Crash``) before or after any call."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from kalends.bridges.base import Bridge, Capability, ChangePage, RemoteEvent, Transient, Watch
from kalends.sync.model import LocalItem
from kalends.sync.store import Applied, Outcome, RoundEnd, RoundState, SyncStore


class Crash(Exception):
    """The process died here: nothing after this point ran."""


@dataclass
class Faults:
    """Which numbered call fails how: "fail" (before it runs), "lost-reply" (it ran, the caller
    sees a failure), "crash" (death before it runs), "crash-after" (death after it ran)."""

    plan: dict[int, str] = field(default_factory=dict)
    calls: int = 0
    fired: list[str] = field(default_factory=list)

    def before(self, name: str) -> str | None:
        self.calls += 1
        kind = self.plan.get(self.calls)
        if kind is not None:
            self.fired.append(f"{kind} at {name}")
        if kind == "fail":
            raise Transient(f"injected failure of {name}")
        if kind == "crash":
            raise Crash(name)
        return kind

    @staticmethod
    def after(kind: str | None, name: str) -> None:
        if kind == "lost-reply":
            raise Transient(f"injected lost reply of {name}")
        if kind == "crash-after":
            raise Crash(name)


class FaultyBridge:
    def __init__(self, inner: Bridge, faults: Faults) -> None:
        self.inner = inner
        self.faults = faults

    @property
    def capabilities(self) -> Capability:
        return self.inner.capabilities

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        kind = self.faults.before("list_changes")
        result = await self.inner.list_changes(cursor, page)
        self.faults.after(kind, "list_changes")
        return result

    async def get(self, remote_id: str) -> RemoteEvent:
        kind = self.faults.before("get")
        result = await self.inner.get(remote_id)
        self.faults.after(kind, "get")
        return result

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        kind = self.faults.before("find_by_uid")
        result = await self.inner.find_by_uid(uid)
        self.faults.after(kind, "find_by_uid")
        return result

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        kind = self.faults.before("create")
        result = await self.inner.create(ical, uid)
        self.faults.after(kind, "create")
        return result

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        kind = self.faults.before("update")
        result = await self.inner.update(remote_id, ical, if_match)
        self.faults.after(kind, "update")
        return result

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        kind = self.faults.before("delete")
        await self.inner.delete(remote_id, if_match)
        self.faults.after(kind, "delete")

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        return await self.inner.watch(notify)

    async def aclose(self) -> None:
        await self.inner.aclose()


class CrashingStore:
    """A store that may die before or after (never inside) any of its transactions."""

    def __init__(self, inner: SyncStore, faults: Faults) -> None:
        self.inner = inner
        self.faults = faults

    def load(self) -> RoundState:
        return self.inner.load()

    def bases(self, remote_ids: Collection[str]) -> dict[str, str]:
        return self.inner.bases(remote_ids)

    def current(self, hrefs: Collection[str]) -> dict[str, LocalItem]:
        return self.inner.current(hrefs)

    def start_run(self, run_id: str) -> None:
        self.inner.start_run(run_id)

    def apply(self, run_id: str, applied: Sequence[Applied], outbox_through: int) -> list[Outcome]:
        kind = self._guard("apply")
        result = self.inner.apply(run_id, applied, outbox_through)
        Faults.after(kind, "apply")
        return result

    def finish(self, run_id: str, end: RoundEnd) -> None:
        kind = self._guard("finish")
        self.inner.finish(run_id, end)
        Faults.after(kind, "finish")

    def _guard(self, name: str) -> str | None:
        try:
            kind = self.faults.before(name)
        except Transient:
            raise Crash(name) from None  # a local transaction does not fail halfway: it dies
        return kind if kind in ("crash-after",) else None
