"""Sync rounds on a watched vault, as ``kalends serve`` runs them: whatever happens to the notes,
our side ends equal to what a fresh full listing of the vault says (the engine and its
reference store, real files, the real file watcher)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from kalends.bridges.base import RemoteEvent
from kalends.bridges.obsidian import ObsidianBridge
from kalends.ical import parse, uid_of
from kalends.sync.executor import Report, Round
from kalends.sync.memory_store import MemoryStore
from kalends.sync.model import Policy

OLD = 1_600_000_000_000_000_000
POLICY = Policy(min_items_for_rails=10**9)  # the test deletes more than the rails allow


def note(title: str, uid: str, day: int = 5) -> str:
    return f"---\ntitle: {title}\nuid: {uid}\nallDay: true\ndate: 2026-01-{day:02d}\n---\n"


def summary(ical: str) -> str:
    return str(parse(ical).sub("VEVENT")[0].first("SUMMARY"))


async def vault_now(vault: Path) -> dict[str, str]:
    """uid -> title of every event in the vault, by a bridge that never listed it before."""
    fresh = ObsidianBridge(vault, page_size=1000)
    page = await fresh.list_changes(None)
    assert page.next_page is None and page.complete
    return {c.uid: summary(c.ical) for c in page.changes if isinstance(c, RemoteEvent)}


def ours(store: MemoryStore) -> dict[str, str]:
    return {uid_of(text): summary(text) for _, text in store.items.values()}


class Server:
    """One bridge with its watcher, and rounds when the watcher signals, like the scheduler."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault
        self.bridge = ObsidianBridge(vault)
        self.store = MemoryStore()
        self.signal = asyncio.Event()

    async def round(self) -> Report:
        report = await Round(self.bridge, self.store, POLICY).run()
        assert report.error is None and not report.failed, (report.error, report.failed)
        return report

    async def after_change(self, *, unreadable: frozenset[str] = frozenset()) -> Report:
        """The round the watcher's signal starts; then our side is what the vault says (but
        for events of notes that do not parse, which are left alone)."""
        await asyncio.wait_for(self.signal.wait(), 3.0)
        await asyncio.sleep(0.3)
        self.signal.clear()
        report = await self.round()
        kept = {uid: title for uid, title in ours(self.store).items() if uid not in unreadable}
        assert kept == await vault_now(self.vault)
        return report


def test_every_kind_of_change_reaches_our_side_through_incremental_rounds(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    folder = vault / "calendar"
    folder.mkdir(parents=True)
    for n in range(8):
        (folder / f"{n}.md").write_text(note(f"Event {n}", f"e{n}@test"), encoding="utf-8")
        os.utime(folder / f"{n}.md", ns=(OLD, OLD))

    async def scenario() -> None:
        server = Server(vault)
        await server.bridge.watch(server.signal.set)
        first = await server.round()
        assert first.full_listing and len(ours(server.store)) == 8
        (folder / "0.md").write_text(note("Event 0 edited", "e0@test"), encoding="utf-8")
        assert not (await server.after_change()).full_listing
        (folder / "new.md").write_text(note("New", "new@test"), encoding="utf-8")
        assert not (await server.after_change()).full_listing
        (folder / "1.md").rename(folder / "1 moved.md")  # Full Calendar renames on edit
        report = await server.after_change()
        assert not report.full_listing and [a.kind.value for a in report.actions] == ["link"]
        (folder / "2.md").unlink()
        assert not (await server.after_change()).full_listing
        (folder / "3.md").write_text("---\ndate: [broken\n---\n", encoding="utf-8")
        await server.after_change(unreadable=frozenset({"e3@test"}))
        assert ours(server.store)["e3@test"] == "Event 3"  # left alone while it does not parse
        (folder / "3.md").write_text(note("Event 3 fixed", "e3@test"), encoding="utf-8")
        await server.after_change()
        assert ours(server.store)["e3@test"] == "Event 3 fixed"
        shutil.move(folder, vault / "archive")
        shutil.copytree(vault / "archive", folder)
        (folder / "4.md").write_text(note("Event 4 in the copy", "e4@test"), encoding="utf-8")
        assert (await server.after_change()).full_listing
        (folder / "5.md").write_text(note("Event 5 unwatched", "e5@test"), encoding="utf-8")
        report = await server.round()  # the watcher watches the archive: the round lists all
        assert report.full_listing and ours(server.store)["e5@test"] == "Event 5 unwatched"
        await server.bridge.aclose()

    asyncio.run(scenario())


def test_an_edit_made_while_the_server_was_down_is_synced_at_start(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    folder = vault / "calendar"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text(note("A", "a@test"), encoding="utf-8")

    async def scenario() -> None:
        before = Server(vault)
        await before.bridge.watch(before.signal.set)
        await before.round()
        await before.bridge.aclose()  # the server stops
        (folder / "a.md").write_text(note("A edited while down", "a@test"), encoding="utf-8")
        os.utime(folder / "a.md", ns=(OLD, OLD))
        after = Server(vault)  # a new process: new bridge, same store and its saved cursor
        after.store = before.store
        await after.bridge.watch(after.signal.set)
        report = await after.round()
        assert report.full_listing and ours(after.store) == {"a@test": "A edited while down"}
        await after.bridge.aclose()

    asyncio.run(scenario())
