"""End to end: a live server syncing a temp Obsidian vault, driven by the ``caldav`` client and
by writing note files, as a person using both would."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import caldav
import pytest

from kalends.cli import main
from tests.harness import PASSWORD, LiveServer, live_server, write_config

T = TypeVar("T")
WAIT = 5.0  # a functional bound; the latency target is measured by bench/sync_bench.py


def note(title: str, date: str, start: str, end: str, extra: str = "") -> str:
    return (
        f'---\ntitle: {title}\nallDay: false\ndate: {date}\nstartTime: "{start}"\n'
        f'endTime: "{end}"\n{extra}---\n\nNotes about {title}.\n'
    )


def eventually(probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def setup(tmp_path: Path, password_hash: str) -> Iterator[tuple[LiveServer, Path, Path]]:
    vault = tmp_path / "vault"
    (vault / "calendar").mkdir(parents=True)
    (vault / "calendar" / "2026-03-02 Kickoff.md").write_text(
        note("Kickoff", "2026-03-02", "09:00", "10:00", "uid: kickoff@test\n"), encoding="utf-8"
    )
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'kalends.db'}", password_hash,
        users={"alice": ("calendar",)},
    )  # fmt: skip
    with config.open("a", encoding="utf-8") as file:
        file.write('default_target = "notes"\n\n[sources.notes]\ntype = "obsidian"\n')
        file.write(f'user = "alice"\npath = "{vault.as_posix()}"\nfolder = "calendar"\n')
    with live_server(config) as server:
        yield server, vault / "calendar", config


def calendar(server: LiveServer, name: str) -> caldav.Calendar:
    client = caldav.DAVClient(url=server.url, username="alice", password=PASSWORD)
    return client.calendar(url=f"{server.url}/alice/{name}/")


def summaries(cal: caldav.Calendar) -> dict[str, str]:
    found = {}
    for item in cal.events():
        component = item.icalendar_component
        found[str(component["UID"])] = str(component.get("SUMMARY", ""))
    return found


def test_notes_and_caldav_edits_flow_both_ways(setup: tuple[LiveServer, Path, Path]) -> None:
    server, folder, config = setup
    unified, notes = calendar(server, "all"), calendar(server, "notes")
    eventually(lambda: summaries(unified).get("kickoff@test") == "Kickoff" or None,
               "the vault's note in the unified calendar")  # fmt: skip

    (folder / "2026-03-03 Review.md").write_text(
        note("Review", "2026-03-03", "14:00", "15:00", "uid: review@test\n"), encoding="utf-8"
    )
    eventually(lambda: "review@test" in summaries(unified) or None, "a new note, unified")
    assert summaries(notes)["review@test"] == "Review", "and in the Obsidian calendar"

    unified.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:lunch@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260304T120000Z\r\n"
        "DTEND:20260304T130000Z\r\nSUMMARY:Lunch with Ada\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    created = eventually(
        lambda: next((p for p in folder.glob("*.md") if "Lunch with Ada" in p.read_text()), None),
        "a note for the event PUT into the unified calendar",
    )
    assert "uid: lunch@test" in created.read_text(encoding="utf-8")
    assert main(["status", "--config", str(config)]) == 0


def test_edits_of_different_properties_on_both_sides_both_survive(
    setup: tuple[LiveServer, Path, Path],
) -> None:
    server, folder, _config = setup
    notes = calendar(server, "notes")
    path = folder / "2026-03-02 Kickoff.md"
    item = eventually(lambda: next(iter(notes.events()), None), "the note as an event")

    # Different properties on each side: both survive.
    text = path.read_text(encoding="utf-8").replace("title: Kickoff", "title: Kickoff v2")
    component = item.icalendar_component
    component["LOCATION"] = "Room 4"
    item.save()
    path.write_text(text, encoding="utf-8")

    def merged() -> dict[str, str] | None:
        event = next(iter(notes.events())).icalendar_component
        values = {"summary": str(event.get("SUMMARY")), "location": str(event.get("LOCATION"))}
        on_disk = path.read_text(encoding="utf-8")
        done = values == {"summary": "Kickoff v2", "location": "Room 4"} and "Room 4" in on_disk
        return values if done else None

    eventually(merged, "both edits in CalDAV and in the note")
    assert "Notes about Kickoff." in path.read_text(encoding="utf-8"), "the body survives"


def test_a_clash_is_settled_and_the_loser_kept(
    tmp_path: Path, password_hash: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both sides change the title between two rounds (run by hand with `kalends sync`)."""
    folder = tmp_path / "vault" / "calendar"
    folder.mkdir(parents=True)
    path = folder / "2026-03-02 Kickoff.md"
    path.write_text(note("Kickoff", "2026-03-02", "09:00", "10:00", "uid: k@test\n"), "utf-8")
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash, users={"alice": ()}
    )
    with config.open("a", encoding="utf-8") as file:
        file.write('\n[sources.notes]\ntype = "obsidian"\nuser = "alice"\n')
        file.write(f'path = "{(tmp_path / "vault").as_posix()}"\n')
    assert main(["sync", "--once", "--config", str(config)]) == 0
    assert "pull-create" in capsys.readouterr().out

    from kalends.config import load_settings
    from kalends.storage.base import Transactions
    from kalends.storage.engine import create_storage_engine
    from kalends.sync.sqlstore import SqlSyncStore, find_source_collection

    settings = load_settings(config)
    engine = create_storage_engine(settings.storage.url)
    transactions = Transactions(engine)
    store = SqlSyncStore(transactions, find_source_collection(transactions, "notes"))
    local = next(iter(store.load().statuses.values()))
    text = store.current([local.href])[local.href].text
    assert text is not None
    edited = text.replace("SUMMARY:Kickoff", "SUMMARY:From CalDAV")
    edited = edited.replace("END:VEVENT", "LAST-MODIFIED:20990101T000000Z\r\nEND:VEVENT", 1)
    from kalends.storage.writes import upsert_item
    from kalends.sync.sqlwrites import prepare_item

    with transactions.write("alice") as conn:  # what a CalDAV PUT does
        item = prepare_item(store.collection.path, local.href, edited)
        upsert_item(conn, store.collection.id, local.href, item)
    engine.dispose()
    path.write_text(path.read_text("utf-8").replace("title: Kickoff", "title: From the note"))

    assert main(["sync", "--once", "--config", str(config)]) == 0
    assert "merge" in capsys.readouterr().out
    assert "title: From CalDAV" in path.read_text("utf-8"), "the newer LAST-MODIFIED wins"
    assert main(["conflicts", "--config", str(config)]) == 0
    listed = capsys.readouterr().out
    assert "SUMMARY kept from local" in listed and "losing version kept" in listed


def test_undo_restores_what_a_run_overwrote(
    setup: tuple[LiveServer, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, folder, config = setup
    notes = calendar(server, "notes")
    eventually(lambda: next(iter(notes.events()), None), "the note as an event")
    path = folder / "2026-03-02 Kickoff.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Kickoff", "Renamed"), "utf-8")
    eventually(lambda: summaries(notes).get("kickoff@test") == "Renamed" or None, "the rename")
    os.sync()
    capsys.readouterr()
    assert main(["sync", "--once", "--dry-run", "--config", str(config)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    from sqlalchemy import create_engine, select

    from kalends.storage.models import journal

    engine = create_engine(server.settings.storage.url)
    with engine.connect() as conn:
        run_id = conn.execute(
            select(journal.c.run_id).where(journal.c.action == "pull-update")
            .order_by(journal.c.id.desc())
        ).scalars().first()  # fmt: skip
    engine.dispose()
    assert run_id is not None
    assert main(["undo", run_id, "--config", str(config)]) == 0
    assert "1 of 1 changes undone" in capsys.readouterr().out
    eventually(lambda: summaries(notes).get("kickoff@test") == "Kickoff" or None, "undone here")
    eventually(lambda: "title: Kickoff" in path.read_text(encoding="utf-8") or None,
               "and in the note")  # fmt: skip
