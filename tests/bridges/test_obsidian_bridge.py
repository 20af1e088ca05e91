"""The Obsidian bridge on a real vault in a temporary directory: listings, writes, conflicts."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kalends.bridges.base import (
    Bridge,
    BridgeError,
    Capability,
    InvalidCursor,
    NotFound,
    PreconditionFailed,
    RemoteEvent,
    Transient,
    Unsupported,
)
from kalends.bridges.obsidian import ObsidianBridge
from kalends.bridges.obsidian.frontmatter import BOM, split
from kalends.bridges.obsidian.vault import file_version
from kalends.ical import parse

T = TypeVar("T")
OLD = 1_600_000_000_000_000_000  # an mtime long past, so the stat cache trusts the file


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def vcal(uid: str, summary: str, *lines: str) -> str:
    dates = lines or ("DTSTART:20260105T100000Z", "DTEND:20260105T110000Z")
    body = "".join(f"{line}\r\n" for line in dates)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{body}SUMMARY:{summary}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def summary_of(event: RemoteEvent) -> str | None:
    return parse(event.ical).sub("VEVENT")[0].first("SUMMARY")


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    (tmp_path / "vault" / "calendar").mkdir(parents=True)
    return tmp_path / "vault"


def write_note(vault: Path, name: str, text: str, *, old: bool = False) -> Path:
    path = vault / "calendar" / name
    path.write_bytes(text.encode("utf-8"))
    if old:
        os.utime(path, ns=(OLD, OLD))
    return path


async def full_listing(bridge: Bridge) -> tuple[list[RemoteEvent], list[str], int]:
    """(events, unreadable ids, pages) of one listing."""
    events: list[RemoteEvent] = []
    unreadable: list[str] = []
    page = await bridge.list_changes(None)
    pages = 1
    while True:
        assert page.complete
        events.extend(change for change in page.changes if isinstance(change, RemoteEvent))
        unreadable.extend(page.unreadable)
        if page.next_page is None:
            assert page.cursor is not None
            return events, unreadable, pages
        assert page.cursor is None
        page = await bridge.list_changes(None, page.next_page)
        pages += 1


DAY = "---\ntitle: {title}\nallDay: true\ndate: 2026-01-05\n---\n"


def test_capabilities_are_recurrence_and_push() -> None:
    bridge = ObsidianBridge(Path("/nonexistent"))
    assert bridge.capabilities == Capability.RECURRENCE | Capability.PUSH
    assert isinstance(bridge, Bridge)


def test_listing_pages_in_path_order_and_only_direct_md_children(vault: Path) -> None:
    for n in range(7):
        write_note(vault, f"{n} event.md", DAY.format(title=f"Event {n}"))
    (vault / "calendar" / "sub").mkdir()
    write_note(vault, "sub/nested.md", DAY.format(title="Nested"))  # Full Calendar skips it
    write_note(vault, "notes.txt", DAY.format(title="Text"))
    write_note(vault, ".hidden.md", DAY.format(title="Hidden"))
    (vault / "elsewhere.md").write_text(DAY.format(title="Root"), encoding="utf-8")
    bridge = ObsidianBridge(vault, page_size=3)
    events, unreadable, pages = run(full_listing(bridge))
    assert [event.remote_id for event in events] == [f"calendar/{n} event.md" for n in range(7)]
    assert pages == 3 and unreadable == []


def test_a_vault_that_is_gone_is_a_transient_error_not_an_empty_calendar(tmp_path: Path) -> None:
    """An unmounted drive must not read as "every event was deleted"."""
    bridge = ObsidianBridge(tmp_path / "unmounted")
    with pytest.raises(Transient):
        run(bridge.list_changes(None))
    with pytest.raises(Transient):
        run(bridge.create(vcal("t@test", "T"), "t@test"))
    assert not (tmp_path / "unmounted").exists()


def test_an_unparseable_note_is_reported_logged_once_and_left_alone(
    vault: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = "---\ntitle: Secret plans\ndate: [2026-01-05\n---\nPrivate body text\n"
    path = write_note(vault, "broken.md", broken)
    write_note(vault, "fine.md", DAY.format(title="Fine"))
    before = path.read_bytes(), path.stat().st_mtime_ns
    bridge = ObsidianBridge(vault)
    with caplog.at_level(logging.WARNING, logger="kalends.bridges.obsidian"):
        for _ in range(3):
            events, unreadable, _ = run(full_listing(bridge))
            assert [event.remote_id for event in events] == ["calendar/fine.md"]
            assert unreadable == ["calendar/broken.md"]
    assert "not valid YAML" in bridge.problems["calendar/broken.md"]
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "calendar/broken.md" in warnings[0]
    assert "Secret" not in warnings[0] and "Private" not in warnings[0]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    with pytest.raises(BridgeError, match="not valid YAML"):
        run(bridge.get("calendar/broken.md"))
    path.write_text(DAY.format(title="Fixed"), encoding="utf-8")
    events, unreadable, _ = run(full_listing(bridge))
    assert len(events) == 2 and unreadable == [] and bridge.problems == {}


def test_a_listing_rereads_only_files_whose_stat_changed(vault: Path) -> None:
    path = write_note(vault, "a.md", DAY.format(title="Alpha"), old=True)
    bridge = ObsidianBridge(vault)
    first, _, _ = run(full_listing(bridge))
    # Same size, same mtime, same inode: the cache answers without reading the file.
    path.write_text(DAY.format(title="Omega"), encoding="utf-8")
    os.utime(path, ns=(OLD, OLD))
    cached, _, _ = run(full_listing(bridge))
    assert cached == first
    os.utime(path, ns=(OLD + 10**9, OLD + 10**9))
    fresh, _, _ = run(full_listing(bridge))
    assert summary_of(fresh[0]) == "Omega" and fresh[0].version != first[0].version


def test_touching_a_note_does_not_change_its_version(vault: Path) -> None:
    path = write_note(vault, "a.md", DAY.format(title="Alpha"), old=True)
    bridge = ObsidianBridge(vault)
    before = run(bridge.get("calendar/a.md"))
    os.utime(path)
    assert run(bridge.get("calendar/a.md")) == before
    assert before.version == file_version(path.read_bytes())


def test_a_note_is_never_written_just_because_it_has_no_uid(vault: Path) -> None:
    path = write_note(vault, "a.md", DAY.format(title="Alpha"))
    data = path.read_bytes()
    bridge = ObsidianBridge(vault)
    event = run(bridge.get("calendar/a.md"))
    assert run(bridge.find_by_uid(event.uid)) == event
    unchanged = run(bridge.update(event.remote_id, event.ical, event.version))
    assert path.read_bytes() == data and unchanged.version == event.version
    renamed = event.ical.replace("SUMMARY:Alpha", "SUMMARY:Beta")
    updated = run(bridge.update(event.remote_id, renamed, event.version))
    assert updated.uid == event.uid  # now pinned in the note: a rename keeps it
    assert split(path.read_text(encoding="utf-8")).mapping()["uid"] == event.uid


def test_an_update_keeps_unknown_keys_body_crlf_and_bom(vault: Path) -> None:
    original = (
        BOM
        + '---\r\ntitle: Planning\r\nproject: "[[Roadmap]]"\r\ntags:\r\n  - work\r\n'
        + "allDay: false\r\ndate: 2026-01-21\r\nstartTime: 10:00\r\nendTime: 11:00\r\n"
        + "completed: false\r\n---\r\n## Agenda\r\n\r\n- item one\r\n"
    )
    path = write_note(vault, "2026-01-21 Planning.md", original)
    bridge = ObsidianBridge(vault)
    event = run(bridge.get("calendar/2026-01-21 Planning.md"))
    changed = event.ical.replace("SUMMARY:Planning", "SUMMARY:Q1 planning").replace(
        "T110000", "T113000"
    )
    updated = run(bridge.update(event.remote_id, changed, event.version))
    text = path.read_bytes().decode("utf-8")
    expected = original.replace("title: Planning", "title: Q1 planning").replace(
        "endTime: 11:00", 'endTime: "11:30"'
    )
    assert text == expected.replace("---\r\n## Agenda", f"uid: {event.uid}\r\n---\r\n## Agenda")
    assert updated.remote_id == event.remote_id  # no rename on our writes
    assert "Q1 planning" in run(bridge.get(event.remote_id)).ical


def test_create_names_notes_like_full_calendar_and_a_retry_does_not_duplicate(
    vault: Path,
) -> None:
    bridge = ObsidianBridge(vault)
    ical = vcal("new@test", "Lunch with Ana")
    created = run(bridge.create(ical, "new@test"))
    assert created.remote_id == "calendar/2026-01-05 Lunch with Ana.md"
    assert run(bridge.create(ical, "new@test")) == created
    other = run(bridge.create(vcal("other@test", "Lunch with Ana"), "other@test"))
    assert other.remote_id == "calendar/2026-01-05 Lunch with Ana (2).md"
    assert sorted(path.name for path in (vault / "calendar").iterdir()) == [
        "2026-01-05 Lunch with Ana (2).md",
        "2026-01-05 Lunch with Ana.md",
    ]
    text = (vault / "calendar" / "2026-01-05 Lunch with Ana.md").read_text(encoding="utf-8")
    assert "uid: new@test\n" in text and 'startTime: "10:00"\n' in text


def test_the_timezone_option_is_used_for_utc_times(vault: Path) -> None:
    bridge = ObsidianBridge(vault, timezone="America/New_York")
    created = run(bridge.create(vcal("ny@test", "Call"), "ny@test"))
    fields = split((vault / created.remote_id).read_text(encoding="utf-8")).mapping()
    assert (fields["timezone"], fields["startTime"], fields["endTime"]) == (
        "America/New_York",
        "05:00",
        "06:00",
    )
    assert "DTSTART;TZID=America/New_York:20260105T050000" in created.ical


def test_all_day_events_written_and_read_back_keep_their_days(vault: Path) -> None:
    trip = vcal("trip@test", "Trip", "DTSTART;VALUE=DATE:20260803", "DTEND;VALUE=DATE:20260808")
    created = run(ObsidianBridge(vault).create(trip, "trip@test"))
    text = (vault / created.remote_id).read_text(encoding="utf-8")
    assert "date: 2026-08-03\n" in text and "endDate: 2026-08-08\n" in text
    again = run(ObsidianBridge(vault).get(created.remote_id))  # a fresh bridge, from the file
    vevent = parse(again.ical).sub("VEVENT")[0]
    assert (vevent.first("DTSTART"), vevent.first("DTEND")) == ("20260803", "20260808")


def test_a_change_on_disk_between_read_and_write_is_a_precondition_failure(
    vault: Path,
) -> None:
    path = write_note(vault, "a.md", DAY.format(title="Alpha"))
    bridge = ObsidianBridge(vault)
    event = run(bridge.get("calendar/a.md"))
    theirs = DAY.format(title="Alpha (edited on the phone)")
    path.write_text(theirs, encoding="utf-8")  # Obsidian Sync lands a change meanwhile
    with pytest.raises(PreconditionFailed):
        run(bridge.update(event.remote_id, vcal(event.uid, "Ours"), event.version))
    with pytest.raises(PreconditionFailed):
        run(bridge.delete(event.remote_id, event.version))
    assert path.read_text(encoding="utf-8") == theirs


def test_delete_moves_the_note_to_the_vault_trash(vault: Path) -> None:
    write_note(vault, "a.md", DAY.format(title="Alpha") + "Body kept in the trash\n")
    bridge = ObsidianBridge(vault)
    event = run(bridge.get("calendar/a.md"))
    run(bridge.delete(event.remote_id, event.version))
    with pytest.raises(NotFound):
        run(bridge.get(event.remote_id))
    with pytest.raises(NotFound):
        run(bridge.delete(event.remote_id, None))
    assert "Body kept" in (vault / ".trash" / "a.md").read_text(encoding="utf-8")
    assert run(full_listing(bridge))[0] == []


def test_overrides_are_refused_and_the_note_is_untouched(vault: Path) -> None:
    path = write_note(vault, "a.md", DAY.format(title="Alpha"))
    data = path.read_bytes()
    bridge = ObsidianBridge(vault)
    event = run(bridge.get("calendar/a.md"))
    series = vcal(event.uid, "Series", "DTSTART:20260105T100000", "RRULE:FREQ=DAILY")
    override = series.replace(
        "END:VCALENDAR",
        f"BEGIN:VEVENT\r\nUID:{event.uid}\r\nRECURRENCE-ID:20260106T100000\r\n"
        "DTSTART:20260106T120000\r\nEND:VEVENT\r\nEND:VCALENDAR",
    )
    with pytest.raises(Unsupported, match="RECURRENCE-ID"):
        run(bridge.update(event.remote_id, override, event.version))
    with pytest.raises(Unsupported, match="RECURRENCE-ID"):
        run(bridge.create(override.replace(event.uid, "o@test"), "o@test"))
    assert path.read_bytes() == data
    assert sorted(p.name for p in (vault / "calendar").iterdir()) == ["a.md"]


def test_writes_leave_no_temporary_files_and_keep_the_file_mode(vault: Path) -> None:
    path = write_note(vault, "a.md", DAY.format(title="Alpha"))
    path.chmod(0o640)
    bridge = ObsidianBridge(vault)
    event = run(bridge.get("calendar/a.md"))
    run(bridge.update(event.remote_id, event.ical.replace("Alpha", "Beta"), event.version))
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in (vault / "calendar").iterdir()] == ["a.md"]


def test_a_note_renamed_in_obsidian_keeps_its_uid_under_the_new_path(vault: Path) -> None:
    """Full Calendar renames a note when its title or date changes; the uid key follows it."""
    path = write_note(
        vault, "2026-01-05 Lunch.md", "---\nuid: lunch@test\n" + DAY.format(title="Lunch")[4:]
    )
    bridge = ObsidianBridge(vault)
    before = run(bridge.get("calendar/2026-01-05 Lunch.md"))
    path.rename(vault / "calendar" / "2026-01-06 Lunch.md")
    events, _, _ = run(full_listing(bridge))
    assert [(event.remote_id, event.uid) for event in events] == [
        ("calendar/2026-01-06 Lunch.md", "lunch@test")
    ]
    found = run(bridge.find_by_uid("lunch@test"))
    assert found is not None and found.version == before.version
    with pytest.raises(NotFound):
        run(bridge.get(before.remote_id))


def test_a_page_token_of_another_listing_is_an_invalid_cursor(vault: Path) -> None:
    for n in range(3):
        write_note(vault, f"{n}.md", DAY.format(title=n))
    bridge = ObsidianBridge(vault, page_size=2)
    first = run(bridge.list_changes(None))
    assert first.next_page is not None
    with pytest.raises(InvalidCursor):
        run(bridge.list_changes(None, "not-a-listing:2"))
    assert len(run(bridge.list_changes(None, first.next_page)).changes) == 1
