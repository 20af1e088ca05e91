"""The Obsidian bridge in the contract suite: a real vault in a temporary directory.

The person editing the provider is someone working in Obsidian: notes are written, edited and
removed straight on disk (plain, non-atomic writes as an editor does them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kalends.bridges.base import Bridge
from kalends.bridges.obsidian import ObsidianBridge
from kalends.bridges.obsidian.mapping import ical_to_note
from kalends.ical import parse


class ObsidianHarness:
    writable = True

    def __init__(self, root: Path) -> None:
        self.vault = root / "vault"
        self.folder = self.vault / "calendar"
        self.folder.mkdir(parents=True)
        (self.vault / ".obsidian").mkdir()
        self.bridge: Bridge = ObsidianBridge(self.vault, page_size=3)

    def add(self, ical: str) -> str:
        summary = parse(ical).sub("VEVENT")[0].first("SUMMARY") or "Untitled"
        path = self.folder / f"{summary}.md"
        path.write_text(ical_to_note(ical), encoding="utf-8")
        return f"calendar/{path.name}"

    def edit(self, remote_id: str, ical: str) -> None:
        path = self.vault / remote_id
        note = path.read_text(encoding="utf-8")
        path.write_text(ical_to_note(ical, note=note, remote_id=remote_id), encoding="utf-8")

    def remove(self, remote_id: str) -> None:
        (self.vault / remote_id).unlink()


@contextmanager
def obsidian_harness(tmp_path: Path) -> Iterator[ObsidianHarness]:
    harness = ObsidianHarness(tmp_path)
    yield harness
