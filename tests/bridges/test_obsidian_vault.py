"""The vault's edges: unsafe titles, traversal, symbolic links out of the vault, atomicity."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalends.bridges.base import BridgeError, NotFound, RemoteEvent, Unsupported
from kalends.bridges.obsidian import ObsidianBridge
from kalends.bridges.obsidian.vault import safe_stem

T = TypeVar("T")
DAY = "---\ntitle: {title}\nallDay: true\ndate: 2026-01-05\n---\n"
UNSAFE = set('/\\:*?"<>|#^[]')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10))}


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def vcal(uid: str, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260105\r\n"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    (tmp_path / "vault" / "calendar").mkdir(parents=True)
    return tmp_path / "vault"


def assert_safe(stem: str) -> None:
    assert stem and not set(stem) & UNSAFE
    assert not stem.startswith((".", " ")) and not stem.endswith((".", " "))
    assert all(ord(char) >= 32 and ord(char) != 127 for char in stem)
    assert stem.split(".")[0].upper() not in RESERVED
    assert len(stem.encode("utf-8")) <= 150


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("../../etc/passwd", "etc passwd"),
        ('a/b\\c:d*e?f"g<h>i|j', "a b c d e f g h i j"),
        ("Review [[Q1]] #work ^block", "Review Q1 work block"),
        (".hidden", "hidden"),
        ("..", "Untitled"),
        ("   ", "Untitled"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Tab\there\nnew line\x00nul", "Tab here new line nul"),
        ("Café 🎉 会議", "Café 🎉 会議"),
        ("trailing dots...", "trailing dots"),
    ],
)
def test_titles_become_safe_file_names(title: str, stem: str) -> None:
    assert safe_stem(title) == stem
    assert_safe(safe_stem(title))


def test_long_titles_are_capped_on_a_character_boundary() -> None:
    stem = safe_stem("é" * 400)
    assert len(stem.encode("utf-8")) <= 150 and stem == "é" * 75


@given(st.text())
def test_any_title_gives_a_safe_name(title: str) -> None:
    assert_safe(safe_stem(title))


def test_created_notes_with_hostile_titles_stay_in_the_folder(vault: Path) -> None:
    bridge = ObsidianBridge(vault)
    titles = ["../../escape", "/etc/passwd", "..\\..\\win", "CON", ".obsidian", "a" * 300]
    for n, title in enumerate(titles):
        created = run(bridge.create(vcal(f"h{n}@test", title), f"h{n}@test"))
        path = (vault / created.remote_id).resolve()
        assert path.parent == (vault / "calendar").resolve()
        assert_safe(path.name.removesuffix(".md"))
        assert run(bridge.get(created.remote_id)).uid == f"h{n}@test"
    assert sorted(p.name for p in vault.iterdir()) == ["calendar"]
    assert len(list((vault / "calendar").iterdir())) == len(titles)


@pytest.mark.parametrize(
    "remote_id",
    ["../outside.md", "calendar/../../outside.md", "/etc/passwd", "calendar\\..\\x.md"],
)
def test_paths_leaving_the_vault_are_refused(vault: Path, remote_id: str) -> None:
    (vault.parent / "outside.md").write_text(DAY.format(title="Outside"), encoding="utf-8")
    bridge = ObsidianBridge(vault)
    ical = vcal("x@test", "Overwrite")
    with pytest.raises(Unsupported, match="inside the vault"):
        run(bridge.get(remote_id))
    with pytest.raises(Unsupported):
        run(bridge.update(remote_id, ical, "v"))
    with pytest.raises(Unsupported):
        run(bridge.delete(remote_id, None))
    assert "Outside" in (vault.parent / "outside.md").read_text(encoding="utf-8")


def test_ids_that_are_not_notes_of_the_folder_are_not_found(vault: Path) -> None:
    (vault / "elsewhere.md").write_text(DAY.format(title="Root"), encoding="utf-8")
    bridge = ObsidianBridge(vault)
    for remote_id in ["elsewhere.md", "calendar/missing.md", "calendar/x.txt", "no-such-id"]:
        with pytest.raises(NotFound):
            run(bridge.get(remote_id))


def test_a_symlinked_note_pointing_outside_is_refused(vault: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text(DAY.format(title="Secret"), encoding="utf-8")
    (vault / "calendar" / "link.md").symlink_to(secret)
    (vault / "calendar" / "fine.md").write_text(DAY.format(title="Fine"), encoding="utf-8")
    bridge = ObsidianBridge(vault)
    page = run(bridge.list_changes(None))
    listed = [c.remote_id for c in page.changes if isinstance(c, RemoteEvent)]
    assert listed == ["calendar/fine.md"] and list(page.unreadable) == ["calendar/link.md"]
    assert "symbolic link" in bridge.problems["calendar/link.md"]
    with pytest.raises(Unsupported, match="symbolic link"):
        run(bridge.get("calendar/link.md"))
    with pytest.raises(Unsupported, match="symbolic link"):
        run(bridge.update("calendar/link.md", vcal("s@test", "Pwned"), "v"))
    with pytest.raises(Unsupported, match="symbolic link"):
        run(bridge.delete("calendar/link.md", None))
    assert secret.read_text(encoding="utf-8") == DAY.format(title="Secret")
    assert (vault / "calendar" / "link.md").is_symlink()


def test_a_symlinked_folder_pointing_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.md").write_text(DAY.format(title="Outside"), encoding="utf-8")
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "calendar").symlink_to(outside, target_is_directory=True)
    bridge = ObsidianBridge(vault)
    with pytest.raises(Unsupported, match="symbolic link"):
        run(bridge.list_changes(None))
    with pytest.raises(Unsupported, match="symbolic link"):
        run(bridge.create(vcal("n@test", "New"), "n@test"))
    with pytest.raises(BridgeError):
        run(bridge.get("calendar/a.md"))
    with pytest.raises(BridgeError):
        run(bridge.watch(lambda: None))
    assert [p.name for p in outside.iterdir()] == ["a.md"]


def test_a_symlinked_trash_is_not_followed(vault: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (vault / ".trash").symlink_to(elsewhere, target_is_directory=True)
    (vault / "calendar" / "a.md").write_text(DAY.format(title="A"), encoding="utf-8")
    bridge = ObsidianBridge(vault)
    with pytest.raises(Unsupported, match="symbolic link"):
        run(bridge.delete("calendar/a.md", None))
    assert (vault / "calendar" / "a.md").exists() and list(elsewhere.iterdir()) == []
