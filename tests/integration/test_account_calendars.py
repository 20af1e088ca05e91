"""End to end: one admin-file entry with ``calendars = "all"`` syncs every calendar of a Google
or Outlook account (the local fakes), each as a calendar of its own, as a CalDAV client sees
them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import caldav
import pytest
from sqlalchemy import select

from kalends.config import load_settings
from kalends.security.secrets import load_secret_key
from kalends.storage.credentials import CredentialStore
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.storage.models import collections
from kalends.sync import commands
from tests.contract.outlook_harness import CLIENT_ID as GRAPH_CLIENT_ID
from tests.fakes.google import GoogleFake, running_google_fake
from tests.fakes.graph import running_graph_fake
from tests.harness import PASSWORD, LiveServer, live_server, write_config
from tests.integration.test_google_sync import (
    CLIENT_ID,
    CLIENT_SECRET,
    calendar,
    eventually,
    google_live,
    summaries,
    timed,
)
from tests.integration.test_outlook_sync import outlook_live
from tests.integration.test_outlook_sync import timed as outlook_timed

WORK = "work-1@group.calendar.google.com"
HOLIDAYS = "en.german#holiday@group.v.calendar.google.com"
FAMILY = "family-7@group.calendar.google.com"
NEW_EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\n"
    "DTEND:20260310T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def fake() -> Iterator[GoogleFake]:
    with running_google_fake() as made:
        made.register_client(CLIENT_ID, CLIENT_SECRET)
        made.insert(made.user_email, timed("Standup", "2026-03-02T09:00:00+01:00",
                                           "2026-03-02T09:15:00+01:00"))  # fmt: skip
        made.add_calendar(WORK, "Work", "Europe/Berlin")
        made.insert(WORK, timed("Planning", "2026-03-03T14:00:00+01:00",
                                "2026-03-03T15:00:00+01:00"))  # fmt: skip
        made.add_calendar(HOLIDAYS, "Holidays in Germany", access_role="reader")
        made.insert(HOLIDAYS, {"summary": "Easter Monday", "start": {"date": "2026-04-06"},
                               "end": {"date": "2026-04-07"}})  # fmt: skip
        made.add_calendar(FAMILY, "Family")
        made.insert(FAMILY, timed("Dinner", "2026-03-04T19:00:00+01:00",
                                  "2026-03-04T21:00:00+01:00"))  # fmt: skip
        yield made


def _config(tmp_path: Path, password_hash: str, fake: GoogleFake, entry_extra: str = "") -> Path:
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'kalends.db'}", password_hash,
        users={"alice": ("calendar",)},
    )  # fmt: skip
    common = (
        f'user = "alice"\nclient_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
        f'api_url = "{fake.api_url}"\ntoken_url = "{fake.token_url}"\n'
        f'auth_url = "{fake.auth_url}"\npoll_interval = 30\n'
    )
    with config.open("a", encoding="utf-8") as file:
        file.write('default_target = "google"\n\n')
        file.write(f'[sources.google]\ntype = "google"\ncalendars = "all"\n{common}')
        file.write(f"{entry_extra}\n")
        # One calendar of the account synced on its own terms: "all" leaves it to this entry.
        file.write('[sources.family]\ntype = "google"\naccount = "google"\n')
        file.write(f'calendar = "{FAMILY}"\ndirection = "read-only"\n{common}')
    settings = load_settings(config)
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url, pool_size=1)
    try:
        box = load_secret_key(settings.server.data_dir, {})
        CredentialStore(engine, box).put(
            "google",
            {"refresh_token": fake.issue_refresh_token(CLIENT_ID), "client_id": CLIENT_ID,
             "client_secret": CLIENT_SECRET, "token_url": fake.token_url},
        )  # fmt: skip
    finally:
        engine.dispose()
    return config


def calendars_of_alice(server: LiveServer) -> dict[str, str]:
    """Path name -> display name of every calendar alice's client discovers."""
    client = caldav.DAVClient(url=server.url, username="alice", password=PASSWORD)
    return {
        str(cal.url).rstrip("/").rsplit("/", 1)[1]: str(cal.get_display_name())
        for cal in client.principal().calendars()
    }


def test_every_calendar_of_the_account_is_a_calendar_of_its_own(
    tmp_path: Path, password_hash: str, fake: GoogleFake
) -> None:
    config = _config(tmp_path, password_hash, fake)
    with live_server(config) as server:
        found = calendars_of_alice(server)
        assert found == {
            "calendar": "calendar", "all": "All calendars", "google-primary": fake.user_email,
            "google-work": "Work", "google-holidays-in-germany": "Holidays in Germany",
            "family": "family",
        }  # fmt: skip
        unified = calendar(server, "all")
        eventually(
            lambda: (
                sorted(summaries(unified).values())
                == ["Dinner", "Easter Monday", "Planning", "Standup"]
            ),
            "every calendar's events, in the unified calendar",
        )
        assert list(summaries(calendar(server, "google-work")).values()) == ["Planning"]

        # Written into one calendar, it lands in that Google calendar; into the unified
        # one, in the entry's own (primary) calendar, the user's default target.
        calendar(server, "google-work").save_event(
            NEW_EVENT.format(uid="review@test", summary="Review")
        )
        unified.save_event(NEW_EVENT.format(uid="lunch@test", summary="Lunch"))
        eventually(lambda: "review@test" in google_live(fake, WORK), "an event, in Work")
        eventually(lambda: "lunch@test" in google_live(fake, fake.user_email), "in primary")

        # The account may only read the holidays: an edit there is restored, never sent.
        holidays = calendar(server, "google-holidays-in-germany")
        easter = next(iter(holidays.events()))
        easter.icalendar_component["SUMMARY"] = "Easter Monday (mine)"
        easter.save()
        eventually(
            lambda: list(summaries(holidays).values()) == ["Easter Monday"],
            "the read-only calendar's event, restored",
        )
    lines = commands.status(load_settings(config))
    assert [line.split(" (")[0] for line in lines if not line.startswith(" ")] == [
        "google-primary", "google-work", "google-holidays-in-germany", "family",
    ]  # fmt: skip
    assert not [line for line in lines if "error" in line]


def test_calendars_follow_the_account_from_one_start_to_the_next(
    tmp_path: Path, password_hash: str, fake: GoogleFake
) -> None:
    config = _config(tmp_path, password_hash, fake)
    with live_server(config) as server:
        eventually(lambda: "google-work" in calendars_of_alice(server), "the first start")

    # Google cannot be asked at the next start: the calendars known before stand and sync.
    fake.rename_calendar(WORK, "Office")
    fake.add_calendar("travel-3@group.calendar.google.com", "Travel")
    fake.fail_next(503, count=50, path_contains="calendarList")
    with live_server(config) as server:
        assert "google-travel" not in calendars_of_alice(server)
        fake.insert(WORK, timed("Offsite", "2026-03-05T09:00:00+01:00",
                                "2026-03-05T17:00:00+01:00"))  # fmt: skip
        work = calendar(server, "google-work")
        eventually(lambda: "Offsite" in summaries(work).values(), "a change, still synced")
    fake.faults.clear()

    # Asked again: the new calendar appears; the renamed one keeps its address and the
    # name the client knows; a calendar gone from the account becomes a plain calendar.
    fake.remove_calendar(HOLIDAYS)
    lines = commands.sync(load_settings(config), "google", dry_run=False, confirm=None)
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")] == [
        "google-primary", "google-work", "google-travel",
    ]  # fmt: skip
    with live_server(config) as server:
        found = calendars_of_alice(server)
        assert found["google-work"] == "Work" and found["google-travel"] == "Travel"
        assert found["google-holidays-in-germany"] == "Holidays in Germany"
        kept = summaries(calendar(server, "google-holidays-in-germany"))
        assert list(kept.values()) == ["Easter Monday"], "its events stay"


def test_a_running_server_follows_calendars_made_and_removed(
    tmp_path: Path, password_hash: str, fake: GoogleFake
) -> None:
    config = _config(tmp_path, password_hash, fake, "calendar_list_interval = 0.3\n")
    with live_server(config) as server:
        eventually(lambda: "google-work" in calendars_of_alice(server), "the first start")
        travel = "travel-3@group.calendar.google.com"
        fake.add_calendar(travel, "Travel")
        fake.insert(travel, timed("Flight", "2026-03-06T07:00:00+01:00",
                                  "2026-03-06T09:00:00+01:00"))  # fmt: skip
        eventually(
            lambda: list(summaries(calendar(server, "google-travel")).values()) == ["Flight"]
            if "google-travel" in calendars_of_alice(server) else None,
            "a calendar made in Google, with its event",
        )  # fmt: skip
        assert travel in [c.calendar_id for c in fake.channels], "its changes are pushed too"
        calendar(server, "google-travel").save_event(
            NEW_EVENT.format(uid="hotel@test", summary="Hotel")
        )
        eventually(lambda: "hotel@test" in google_live(fake, travel), "written back to it")

        fake.remove_calendar(WORK)
        work = calendar(server, "google-work")
        eventually(lambda: not _is_a_source(server, "google-work"), "the removed calendar")
        assert list(summaries(work).values()) == ["Planning"], "its events stay, unsynced"
        eventually(lambda: WORK not in [c.calendar_id for c in fake.channels], "its channel stops")
        work.save_event(NEW_EVENT.format(uid="kept-here@test", summary="Kept here"))
        assert "google-work" not in [line.split(" (")[0] for line in
                                     commands.status(load_settings(config))]  # fmt: skip


def _is_a_source(server: LiveServer, name: str) -> bool:
    engine = create_storage_engine(server.settings.storage.url, pool_size=1)
    try:
        with engine.connect() as conn:
            kind = conn.execute(
                select(collections.c.kind).where(collections.c.path == f"alice/{name}")
            ).scalar()
    finally:
        engine.dispose()
    return kind == "source"


def test_every_calendar_of_an_outlook_account_is_a_calendar_of_its_own(
    tmp_path: Path, password_hash: str
) -> None:
    with running_graph_fake() as fake:
        fake.auto_approve, fake.device_code_interval = True, 0
        own = fake.default_calendar_id
        fake.create(own, outlook_timed("Standup", "2026-12-07"))
        team = fake.add_calendar("Team")
        fake.create(team, outlook_timed("Retro", "2026-12-08"))
        shared = fake.add_calendar("Bob's calendar")
        fake.create(shared, outlook_timed("Bob away", "2026-12-09"))
        fake.store.calendars[shared].can_edit = False  # shared with alice to read only
        config = write_config(
            tmp_path, f"sqlite:///{tmp_path / 'kalends.db'}", password_hash,
            users={"alice": ("calendar",)},
        )  # fmt: skip
        with config.open("a", encoding="utf-8") as file:
            file.write('\n[sources.outlook]\ntype = "outlook"\nuser = "alice"\n')
            file.write(f'calendars = "all"\nclient_id = "{GRAPH_CLIENT_ID}"\n')
            file.write(f'authority = "{fake.authority}"\ngraph_url = "{fake.graph_url}"\n')
            file.write(f'ca_file = "{fake.ca_path}"\n')
        # `kalends auth outlook-team` signs the account in, once for all of its calendars
        # (known from before: the entry stands for its own calendar until first asked).
        with pytest.raises(commands.SyncCommandError, match="no source named 'outlook-team'"):
            commands.auth(load_settings(config), "outlook-team", print, lambda _line: None)
        commands.auth(load_settings(config), "outlook", print, lambda _line: None)
        commands.auth(load_settings(config), "outlook-primary", print, lambda _line: None)
        with live_server(config) as server:
            found = calendars_of_alice(server)
            assert {k: v for k, v in found.items() if k.startswith("outlook-")} == {
                "outlook-primary": "Calendar", "outlook-team": "Team",
                "outlook-bob-s-calendar": "Bob's calendar",
            }  # fmt: skip
            unified = calendar(server, "all")
            eventually(
                lambda: sorted(summaries(unified).values()) == ["Bob away", "Retro", "Standup"],
                "every calendar's events, in the unified calendar",
            )
            calendar(server, "outlook-team").save_event(
                NEW_EVENT.format(uid="review@test", summary="Review")
            )
            eventually(lambda: "Review" in outlook_live(fake, team), "an event, in Team")
        settings = load_settings(config)
        lines = commands.status(settings)
        assert "outlook-bob-s-calendar (outlook, read-only)" in "\n".join(lines)
