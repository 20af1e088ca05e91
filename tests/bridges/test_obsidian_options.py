"""Source options from the admin file, and the sample vault a first run starts from."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from kalends.bridges.base import RemoteEvent, SourceOptionError
from kalends.bridges.context import SourceContext
from kalends.bridges.obsidian import ObsidianBridge, open_bridge
from kalends.ical import parse

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vault"


def listing(bridge: ObsidianBridge) -> dict[str, RemoteEvent]:
    page = asyncio.run(bridge.list_changes(None))
    assert page.next_page is None and page.complete and not page.unreadable
    return {change.remote_id: change for change in page.changes if isinstance(change, RemoteEvent)}


def vevent_lines(event: RemoteEvent) -> list[str]:
    return list(parse(event.ical).sub("VEVENT")[0].lines)


def test_the_sample_vault_parses_completely() -> None:
    bridge = ObsidianBridge(SAMPLE)
    events = listing(bridge)
    assert len(events) == 6 and bridge.problems == {}
    names = {Path(remote_id).name: event for remote_id, event in events.items()}
    standup = vevent_lines(names["2026-01-05 Weekly standup.md"])
    assert "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" in standup
    assert "EXDATE;TZID=Europe/Paris:20260119T093000" in standup
    gym = vevent_lines(names["(Every T,R) Gym.md"])
    assert "RRULE:FREQ=WEEKLY;BYDAY=TU,TH" in gym and "DTSTART:20260106T183000" in gym
    assert "DTEND;VALUE=DATE:20260808" in vevent_lines(names["2026-08-03 Lisbon trip.md"])
    assert "DTEND;VALUE=DATE:20260515" in vevent_lines(names["2026-05-14 Mum's birthday.md"])
    dentist = vevent_lines(names["2026-12-10 Dentist.md"])
    assert "DTSTART;TZID=Europe/London:20261210T140000" in dentist
    planning = vevent_lines(names["2027-01-21 Quarterly planning.md"])
    assert "DTSTART;TZID=America/New_York:20270121T100000" in planning


def test_a_first_run_copies_the_seed_and_later_runs_keep_the_vault(tmp_path: Path) -> None:
    options = {"path": "vault", "seed": str(SAMPLE), "timezone": "Europe/Paris"}
    bridge = open_bridge(options, SourceContext("test", tmp_path))
    assert bridge.timezone == "Europe/Paris"
    assert len(listing(bridge)) == 6
    (tmp_path / "vault" / "calendar" / "2026-12-10 Dentist.md").unlink()
    again = open_bridge(options, SourceContext("test", tmp_path))
    assert len(listing(again)) == 5  # the seed is not copied over an existing vault


def test_relative_paths_are_relative_to_the_data_directory(tmp_path: Path) -> None:
    (tmp_path / "notes" / "Events").mkdir(parents=True)
    bridge = open_bridge({"path": "notes", "folder": "Events"}, SourceContext("test", tmp_path))
    created = asyncio.run(
        bridge.create(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:r@test\r\n"
            "DTSTART;VALUE=DATE:20260105\r\nSUMMARY:R\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "r@test",
        )
    )
    assert created.remote_id == "Events/2026-01-05 R.md"
    assert (tmp_path / "notes" / "Events" / "2026-01-05 R.md").is_file()


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"path": "vault", "timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus'"),
        ({"path": "vault", "timezone": "../../etc/passwd"}, "timezone"),
        ({"path": "vault", "folder": "../outside"}, "folder '../outside'"),
        ({"path": "vault", "folder": "/etc"}, "folder '/etc'"),
        ({"path": "vault", "folder": "a\\b"}, "folder"),
        ({"path": "missing"}, "path 'missing'"),
        ({"path": "file.txt"}, "path 'file.txt'"),
        ({"path": "missing", "seed": "nowhere"}, "seed 'nowhere'"),
        ({}, "path"),
        ({"path": 3}, "path"),
        ({"path": "vault", "folder": "calendar.md"}, "folder 'calendar.md'"),
        ({"path": "vault", "calender": "x"}, "calender"),
    ],
)
def test_bad_options_name_the_option_and_value(
    tmp_path: Path, options: dict[str, object], words: str
) -> None:
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "calendar.md").write_text("not a folder", encoding="utf-8")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(SourceOptionError, match=re.escape(words)):
        open_bridge(options, SourceContext("test", tmp_path))
    assert not (tmp_path / "missing").exists()


def test_a_symlinked_events_folder_is_a_bad_option(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "calendar").symlink_to(tmp_path / "outside")
    with pytest.raises(SourceOptionError, match=r"folder 'calendar'.*symbolic link"):
        open_bridge({"path": "vault"}, SourceContext("test", tmp_path))
