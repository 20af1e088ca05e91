"""Listings that read only the notes the real file watcher reported, and every case in which a
listing must read everything again (real files in a temporary vault, the real watcher)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kalends.bridges.base import RemoteDeletion, RemoteEvent, Transient
from kalends.bridges.obsidian import ObsidianBridge, listing
from kalends.ical import parse

OLD = 1_600_000_000_000_000_000  # an mtime long past: the catalog trusts the file's stat
DAY = "---\ntitle: {title}\nallDay: true\ndate: 2026-01-05\n---\n"


@dataclass
class Listed:
    events: dict[str, RemoteEvent] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    unreadable: set[str] = field(default_factory=set)
    complete: bool = True
    cursor: str | None = None

    def title(self, remote_id: str) -> str | None:
        return parse(self.events[remote_id].ical).sub("VEVENT")[0].first("SUMMARY")


class Watched:
    """A bridge with its file watcher, listing on from its own last cursor as the engine does."""

    def __init__(self, vault: Path, full_listing_every: float = listing.FULL_EVERY) -> None:
        self.bridge = ObsidianBridge(vault, page_size=2, full_listing_every=full_listing_every)
        self.signal = asyncio.Event()
        self.cursor: str | None = None

    async def start(self) -> None:
        await self.bridge.watch(self.signal.set)

    async def settle(self) -> None:
        """Wait until the watcher reported a change, and for the rest of its burst."""
        await asyncio.wait_for(self.signal.wait(), 3.0)
        await asyncio.sleep(0.3)  # events are grouped for 0.1 s
        self.signal.clear()

    async def list(self) -> Listed:
        """The changes since the last listing's cursor."""
        return await self.list_since(self.cursor)

    async def list_since(self, since: str | None) -> Listed:
        listed = Listed()
        page = await self.bridge.list_changes(since)
        while True:
            listed.complete = page.complete
            for change in page.changes:
                if isinstance(change, RemoteEvent):
                    listed.events[change.remote_id] = change
                else:
                    assert isinstance(change, RemoteDeletion)
                    listed.deleted.add(change.remote_id)
            listed.unreadable.update(page.unreadable)
            if page.next_page is None:
                listed.cursor = self.cursor = page.cursor
                return listed
            page = await self.bridge.list_changes(since, page.next_page)


def scenario(
    test: Callable[[Watched], Awaitable[None]], vault: Path, full_every: float = listing.FULL_EVERY
) -> None:
    async def run() -> None:
        watched = Watched(vault, full_every)
        try:
            await test(watched)
        finally:
            await watched.bridge.aclose()

    asyncio.run(run())


def write(folder: Path, name: str, title: str, *, old: bool = False) -> Path:
    path = folder / name
    path.write_text(DAY.format(title=title), encoding="utf-8")
    if old:
        os.utime(path, ns=(OLD, OLD))
    return path


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    folder = tmp_path / "vault" / "calendar"
    folder.mkdir(parents=True)
    for name in "abcde":
        write(folder, f"{name}.md", name.upper(), old=True)
    return tmp_path / "vault"


def test_with_a_watcher_a_listing_reads_only_the_notes_that_changed(vault: Path) -> None:
    async def test(watched: Watched) -> None:
        await watched.start()
        first = await watched.list()
        assert first.complete and sorted(first.events) == [f"calendar/{n}.md" for n in "abcde"]
        write(vault / "calendar", "b.md", "B edited")
        await watched.settle()
        second = await watched.list()
        assert not second.complete and set(second.events) == {"calendar/b.md"}
        assert second.title("calendar/b.md") == "B edited" and not second.deleted
        quiet = await watched.list()  # b.md is read again until its stat is settled, no other
        assert not quiet.complete and set(quiet.events) <= {"calendar/b.md"}
        assert quiet.events["calendar/b.md"].version == second.events["calendar/b.md"].version

    scenario(test, vault)


def test_created_deleted_and_renamed_notes_are_listed(vault: Path) -> None:
    folder = vault / "calendar"

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        write(folder, "new.md", "New")
        (folder / "c.md").unlink()
        (folder / "d.md").rename(folder / "d, renamed.md")
        await watched.settle()
        listed = await watched.list()
        assert not listed.complete
        assert set(listed.events) == {"calendar/new.md", "calendar/d, renamed.md"}
        assert listed.deleted == {"calendar/c.md", "calendar/d.md"}
        assert listed.title("calendar/d, renamed.md") == "D"

    scenario(test, vault)


def test_a_rename_that_changes_only_the_case_lists_the_name_on_disk(vault: Path) -> None:
    folder = vault / "calendar"

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        (folder / "a.md").rename(folder / "A.md")
        await watched.settle()
        listed = await watched.list()
        assert set(listed.events) == {"calendar/A.md"} and listed.deleted == {"calendar/a.md"}

    scenario(test, vault)


def test_the_first_listing_and_a_cursor_not_handed_out_last_are_full(vault: Path) -> None:
    async def test(watched: Watched) -> None:
        await watched.start()
        assert (await watched.list_since(None)).complete  # the first one
        first = await watched.list()
        assert not first.complete
        second = await watched.list()
        # A round that did not finish kept the cursor before: what came since is not known.
        assert (await watched.list_since(first.cursor)).complete
        assert (await watched.list_since("vault")).complete  # the cursor of an older release
        assert (await watched.list_since(second.cursor)).complete  # no longer the last one
        assert not (await watched.list()).complete

    scenario(test, vault)


def test_another_bridge_on_the_same_vault_lists_everything(vault: Path) -> None:
    """A restart (or ``kalends sync`` in another process): edits made meanwhile, even while
    no server ran, are read by a full listing."""

    async def test(watched: Watched) -> None:
        await watched.start()
        handed = (await watched.list()).cursor
        write(vault / "calendar", "e.md", "E edited while down", old=True)
        restarted = Watched(vault)
        await restarted.start()
        listed = await restarted.list_since(handed)
        assert listed.complete and listed.title("calendar/e.md") == "E edited while down"
        await restarted.bridge.aclose()

    scenario(test, vault)


def test_without_a_watcher_every_listing_is_full(vault: Path) -> None:
    async def test(watched: Watched) -> None:
        await watched.list()
        write(vault / "calendar", "a.md", "A edited")
        listed = await watched.list()
        assert listed.complete and len(listed.events) == 5
        assert listed.title("calendar/a.md") == "A edited"

    scenario(test, vault)


def test_an_edit_as_the_watcher_starts_is_in_the_next_listing(vault: Path) -> None:
    folder = vault / "calendar"

    async def test(watched: Watched) -> None:
        before = await watched.list()  # listed before any watcher ran
        await watched.start()
        write(folder, "a.md", "A edited at once")  # no await between: before any event
        listed = await watched.list_since(before.cursor)
        assert listed.complete and listed.title("calendar/a.md") == "A edited at once"

    scenario(test, vault)


def test_an_edit_whose_event_is_still_on_its_way_is_not_lost(vault: Path) -> None:
    folder = vault / "calendar"

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        write(folder, "a.md", "A edited")
        early = await watched.list()  # before the watcher reported it, most likely
        await watched.settle()
        late = await watched.list()
        seen = {**early.events, **late.events}
        assert Listed(seen).title("calendar/a.md") == "A edited"

    scenario(test, vault)


def test_an_edit_the_watcher_cannot_see_waits_for_the_periodic_full_listing(
    vault: Path, tmp_path: Path
) -> None:
    """A write through another name of the file (a hard link elsewhere; on a network file
    system, another machine's write) gives the folder's watcher no event."""
    elsewhere = tmp_path / "elsewhere.md"
    os.link(vault / "calendar" / "a.md", elsewhere)

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        elsewhere.write_text(DAY.format(title="A unseen"), encoding="utf-8")
        assert "calendar/a.md" not in (await watched.list()).events
        await asyncio.sleep(1.1)
        listed = await watched.list()
        assert listed.complete and listed.title("calendar/a.md") == "A unseen"

    scenario(test, vault, full_every=1.0)


def test_a_same_size_edit_in_the_same_clock_tick_is_read_again(vault: Path, tmp_path: Path) -> None:
    """A note read right after a write is read again by the next listings until its stat is
    settled, whether or not the watcher reports the next write."""
    path = vault / "calendar" / "a.md"
    elsewhere = tmp_path / "elsewhere.md"
    os.link(path, elsewhere)

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        write(path.parent, "a.md", "First")
        await watched.settle()
        assert (await watched.list()).title("calendar/a.md") == "First"
        status = path.stat()
        elsewhere.write_text(DAY.format(title="Other"), encoding="utf-8")  # unseen, same size
        os.utime(elsewhere, ns=(status.st_atime_ns, status.st_mtime_ns))  # unseen as well
        assert (path.stat().st_mtime_ns, path.stat().st_size) == (
            status.st_mtime_ns,
            status.st_size,
        )
        assert (await watched.list()).title("calendar/a.md") == "Other"

    scenario(test, vault)


def test_touching_the_folder_keeps_listings_incremental(vault: Path) -> None:
    folder = vault / "calendar"

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        os.chmod(folder, 0o750)
        os.utime(folder)
        write(folder, "a.md", "A edited")
        await watched.settle()
        listed = await watched.list()
        assert not listed.complete and listed.title("calendar/a.md") == "A edited"

    scenario(test, vault)


def test_a_folder_moved_away_and_replaced_is_listed_in_full_from_then_on(vault: Path) -> None:
    folder = vault / "calendar"

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        folder.rename(vault / "old calendar")
        folder.mkdir()
        write(folder, "x.md", "X")
        await watched.settle()
        listed = await watched.list()
        assert listed.complete and set(listed.events) == {"calendar/x.md"}
        write(folder, "y.md", "Y")  # the watcher follows the old folder: no event for this
        listed = await watched.list()
        assert listed.complete and set(listed.events) == {"calendar/x.md", "calendar/y.md"}

    scenario(test, vault)


def test_a_folder_deleted_and_made_again_is_listed_in_full(vault: Path) -> None:
    folder = vault / "calendar"

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        shutil.rmtree(folder)
        folder.mkdir()  # may well get the same inode number
        write(folder, "x.md", "X")
        await watched.settle()
        assert (await watched.list()).complete
        write(folder, "y.md", "Y")
        listed = await watched.list()
        assert listed.complete and set(listed.events) == {"calendar/x.md", "calendar/y.md"}

    scenario(test, vault)


def test_a_vault_replaced_under_the_watcher_is_listed_in_full(vault: Path) -> None:
    """Moving the vault gives the events folder's watcher no event at all: the folder at the
    path is checked to be the one watched."""

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        vault.rename(vault.with_name("vault, moved"))
        (vault / "calendar").mkdir(parents=True)
        write(vault / "calendar", "x.md", "X", old=True)
        listed = await watched.list()
        assert listed.complete and set(listed.events) == {"calendar/x.md"}

    scenario(test, vault)


def test_a_vault_that_is_gone_fails_the_listing_and_the_next_is_full(vault: Path) -> None:
    async def test(watched: Watched) -> None:
        await watched.start()
        handed = (await watched.list()).cursor
        vault.rename(vault.with_name("unmounted"))
        with pytest.raises(Transient):
            await watched.list_since(handed)
        vault.with_name("unmounted").rename(vault)
        assert (await watched.list_since(handed)).complete

    scenario(test, vault)


def test_a_stopped_watcher_means_full_listings(vault: Path) -> None:
    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        assert not (await watched.list()).complete
        await watched.bridge.aclose()
        write(vault / "calendar", "a.md", "A edited after the watch", old=True)
        listed = await watched.list()
        assert listed.complete and listed.title("calendar/a.md") == "A edited after the watch"

    scenario(test, vault)


def test_a_burst_of_reported_changes_is_listed_in_full(
    vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "BURST", 3)

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        for name in "abcd":
            write(vault / "calendar", f"{name}.md", f"{name} edited")
        await watched.settle()
        assert (await watched.list()).complete

    scenario(test, vault)


def test_a_note_gone_between_two_pages_is_a_deletion(vault: Path) -> None:
    folder = vault / "calendar"

    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        for name in "abc":
            write(folder, f"{name}.md", f"{name} edited")
        await watched.settle()
        page = await watched.bridge.list_changes(watched.cursor)
        assert not page.complete and page.next_page is not None  # pages of 2
        (folder / "c.md").unlink()
        last = await watched.bridge.list_changes(watched.cursor, page.next_page)
        assert last.changes == [RemoteDeletion("calendar/c.md")]

    scenario(test, vault)


def test_quiet_listings_read_no_note(vault: Path) -> None:
    async def test(watched: Watched) -> None:
        await watched.start()
        await watched.list()
        for _ in range(3):
            listed = await watched.list()
            assert not listed.complete and not listed.events and not listed.deleted

    scenario(test, vault)
