"""Push: a real file watcher on a temporary vault signals edits well within a second."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from kalends.bridges.obsidian import ObsidianBridge

DAY = "---\ntitle: {title}\nallDay: true\ndate: 2026-01-05\n---\n"


async def signalled(events: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(events.wait(), seconds)
    except TimeoutError:
        return False
    return True


def test_an_edit_is_signalled_within_one_second(tmp_path: Path) -> None:
    async def scenario() -> float:
        (tmp_path / "calendar").mkdir()
        note = tmp_path / "calendar" / "a.md"
        note.write_text(DAY.format(title="A"), encoding="utf-8")
        bridge = ObsidianBridge(tmp_path)
        changed = asyncio.Event()
        watch = await bridge.watch(changed.set)
        assert watch is not None
        start = time.monotonic()
        note.write_text(DAY.format(title="A, edited"), encoding="utf-8")
        assert await signalled(changed, 1.0)
        elapsed = time.monotonic() - start
        await watch.close()
        await bridge.aclose()
        return elapsed

    assert asyncio.run(scenario()) < 1.0


def test_new_and_removed_notes_are_signalled_and_temporary_files_are_not(tmp_path: Path) -> None:
    async def scenario() -> None:
        bridge = ObsidianBridge(tmp_path)  # the folder does not exist yet: watch creates it
        changed = asyncio.Event()
        await bridge.watch(changed.set)
        folder = tmp_path / "calendar"
        (folder / ".kalends-0123.tmp").write_text("partial", encoding="utf-8")
        (folder / "notes.txt").write_text("not a note", encoding="utf-8")
        assert not await signalled(changed, 0.5)
        (folder / "b.md").write_text(DAY.format(title="B"), encoding="utf-8")
        assert await signalled(changed, 1.0)
        changed.clear()
        (folder / "b.md").unlink()
        assert await signalled(changed, 1.0)
        await bridge.aclose()

    asyncio.run(scenario())


def test_our_own_writes_signal_once_and_closing_stops_the_signals(tmp_path: Path) -> None:
    async def scenario() -> None:
        bridge = ObsidianBridge(tmp_path)
        calls: list[float] = []
        changed = asyncio.Event()

        def notify() -> None:
            calls.append(time.monotonic())
            changed.set()

        watch = await bridge.watch(notify)
        assert watch is not None
        ical = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:w@test\r\n"
            "DTSTART;VALUE=DATE:20260105\r\nSUMMARY:W\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        await bridge.create(ical, "w@test")
        assert await signalled(changed, 1.0)
        await watch.close()
        count = len(calls)
        (tmp_path / "calendar" / "c.md").write_text(DAY.format(title="C"), encoding="utf-8")
        await asyncio.sleep(0.5)
        assert len(calls) == count
        await bridge.aclose()

    asyncio.run(scenario())
