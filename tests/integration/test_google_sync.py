"""End to end: a live server syncing a Google calendar (the local fake, reached by the real
bridge over HTTP, with push channels to the server's webhook), driven by the ``caldav`` client
and by edits made "in Google" through the fake, as a person using both would."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import caldav
import pytest

from kalends.config import load_settings
from kalends.security.secrets import load_secret_key
from kalends.storage.credentials import CredentialStore
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.sync import commands
from tests.fakes.google import GoogleFake, running_google_fake
from tests.harness import PASSWORD, LiveServer, live_server, write_config

T = TypeVar("T")
WAIT = 5.0  # a functional bound; latency targets are measured by bench/google_bench.py
CLIENT_ID, CLIENT_SECRET = "kalends-test.apps.example", "test-secret"


def eventually(probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def fake() -> Iterator[GoogleFake]:
    with running_google_fake() as made:
        made.register_client(CLIENT_ID, CLIENT_SECRET)
        yield made


@dataclass
class Setup:
    server: LiveServer
    fake: GoogleFake
    calendar_id: str
    config: Path


def _write_config(tmp_path: Path, password_hash: str, fake: GoogleFake, cid: str) -> Path:
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'kalends.db'}", password_hash,
        users={"alice": ("calendar",)},
    )  # fmt: skip
    with config.open("a", encoding="utf-8") as file:
        file.write('default_target = "work"\n\n[sources.work]\ntype = "google"\n')
        file.write(f'user = "alice"\ncalendar = "{cid}"\nclient_id = "{CLIENT_ID}"\n')
        file.write(f'client_secret = "{CLIENT_SECRET}"\napi_url = "{fake.api_url}"\n')
        file.write(f'token_url = "{fake.token_url}"\nauth_url = "{fake.auth_url}"\n')
        file.write("poll_interval = 30\n")  # long: what arrives fast arrived by push
    return config


def _sign_in(config: Path, fake: GoogleFake) -> None:
    settings = load_settings(config)
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url, pool_size=1)
    try:
        box = load_secret_key(settings.server.data_dir, {})
        refresh = fake.issue_refresh_token(CLIENT_ID)
        CredentialStore(engine, box).put(
            "work",
            {"refresh_token": refresh, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             "token_url": fake.token_url},
        )  # fmt: skip
    finally:
        engine.dispose()


@pytest.fixture
def setup(
    request: pytest.FixtureRequest, tmp_path: Path, password_hash: str, fake: GoogleFake
) -> Iterator[Setup]:
    zone = getattr(request, "param", "Europe/Berlin")  # the calendar's and the source's zone
    cid = f"team-{tmp_path.name[-12:].lower().replace('_', '')}@group.calendar.google.com"
    fake.add_calendar(cid, "Team", time_zone=zone)
    fake.insert(cid, timed("Kickoff", "2026-03-02T09:00:00+01:00", "2026-03-02T10:00:00+01:00"))
    config = _write_config(tmp_path, password_hash, fake, cid)
    with config.open("a", encoding="utf-8") as file:
        file.write(f'timezone = "{zone}"\n')
    _sign_in(config, fake)
    with live_server(config) as server:
        yield Setup(server, fake, cid, config)


def timed(summary: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    zone = {"timeZone": "Europe/Berlin"}
    return {"summary": summary, "start": {"dateTime": start, **zone},
            "end": {"dateTime": end, **zone}, **extra}  # fmt: skip


def calendar(server: LiveServer, name: str) -> caldav.Calendar:
    client = caldav.DAVClient(url=server.url, username="alice", password=PASSWORD)
    return client.calendar(url=f"{server.url}/alice/{name}/")


def components(cal: caldav.Calendar) -> dict[str, list[Any]]:
    """UID -> the VEVENTs of its calendar object (master first)."""
    found: dict[str, list[Any]] = {}
    for item in cal.events():
        for part in item.icalendar_instance.walk("VEVENT"):
            found.setdefault(str(part["UID"]), []).append(part)
    return found


def summaries(cal: caldav.Calendar) -> dict[str, str]:
    return {uid: str(parts[0].get("SUMMARY", "")) for uid, parts in components(cal).items()}


def google_live(fake: GoogleFake, cid: str) -> dict[str, dict[str, Any]]:
    """iCalUID -> master of every live event in the Google calendar."""
    return {
        str(e["iCalUID"]): e
        for e in fake.events(cid)
        if not e.get("recurringEventId") and e.get("status") != "cancelled"
    }


def test_google_edits_reach_caldav_by_push_and_back(setup: Setup) -> None:
    fake, cid, server = setup.fake, setup.calendar_id, setup.server
    work, unified = calendar(server, "work"), calendar(server, "all")
    kickoff = next(iter(google_live(fake, cid)))
    eventually(lambda: summaries(unified).get(kickoff) == "Kickoff", "the first sync, unified")
    assert fake.channels, "a watch channel was opened for the calendar"

    created = fake.insert(cid, timed("Planning", "2026-03-03T14:00:00+01:00",
                                     "2026-03-03T15:00:00+01:00"))  # fmt: skip
    uid = str(created["iCalUID"])
    eventually(lambda: summaries(work).get(uid) == "Planning", "a Google insert, over CalDAV")
    fake.patch(cid, created["id"], {"summary": "Planning (moved)",
                                    "start": {"dateTime": "2026-03-04T14:00:00+01:00"},
                                    "end": {"dateTime": "2026-03-04T15:00:00+01:00"}})  # fmt: skip
    moved = eventually(
        lambda: next((p for p in components(unified).get(uid, [])
                      if str(p.get("SUMMARY")) == "Planning (moved)"), None),
        "a Google edit and move, unified",
    )  # fmt: skip
    assert moved["DTSTART"].dt.isoformat() == "2026-03-04T14:00:00+01:00"
    fake.delete(cid, created["id"])
    eventually(lambda: uid not in summaries(unified), "a Google delete, unified")

    event = work.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:from-caldav@test\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20260305T100000\r\nDTEND;TZID=Europe/Berlin:20260305T110000\r\n"
        "SUMMARY:Written in Thunderbird\r\nX-CUSTOM:kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    pushed = eventually(lambda: google_live(fake, cid).get("from-caldav@test"),
                        "a CalDAV event, in Google")  # fmt: skip
    assert pushed["summary"] == "Written in Thunderbird"
    assert pushed["start"]["timeZone"] == "Europe/Berlin"
    event.icalendar_component["SUMMARY"] = "Edited in Thunderbird"
    event.save()
    eventually(lambda: google_live(fake, cid)["from-caldav@test"]["summary"]
               == "Edited in Thunderbird", "a CalDAV edit, in Google")  # fmt: skip
    assert "X-CUSTOM:kept" in calendar(server, "work").event_by_uid("from-caldav@test").data
    event.delete()
    eventually(lambda: "from-caldav@test" not in google_live(fake, cid), "a CalDAV delete")


SERIES_BODY = {
    "summary": "Standup",
    "start": {"dateTime": "2026-03-02T09:00:00+01:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2026-03-02T09:15:00+01:00", "timeZone": "Europe/Berlin"},
    "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
}


def _moved_and_cancelled(fake: GoogleFake, cid: str, master_id: str) -> None:
    instances = fake.instances(cid, master_id)
    second, third = instances[1], instances[2]
    fake.patch(cid, second["id"], {"start": {"dateTime": "2026-03-03T10:00:00+01:00"},
                                   "end": {"dateTime": "2026-03-03T10:15:00+01:00"}})  # fmt: skip
    fake.delete(cid, third["id"])


def test_a_series_with_a_moved_and_a_cancelled_instance_survives_both_ways(
    setup: Setup,
) -> None:
    fake, cid, server = setup.fake, setup.calendar_id, setup.server
    work = calendar(server, "work")
    master = fake.insert(cid, dict(SERIES_BODY))
    _moved_and_cancelled(fake, cid, str(master["id"]))
    uid = str(master["iCalUID"])

    def arrived() -> list[Any] | None:
        parts = components(work).get(uid, [])
        return parts if len(parts) == 2 and "EXDATE" in parts[0] else None

    parts = eventually(arrived, "the series with its moved and cancelled instances")
    series, moved = parts
    assert str(series["RRULE"].to_ical(), "ascii") == "FREQ=DAILY;COUNT=5"
    assert [d.dt.isoformat() for d in series["EXDATE"].dts] == ["2026-03-04T09:00:00+01:00"]
    assert moved["RECURRENCE-ID"].dt.isoformat() == "2026-03-03T09:00:00+01:00"
    assert moved["DTSTART"].dt.isoformat() == "2026-03-03T10:00:00+01:00"

    # The same shape written over CalDAV arrives in Google as a series with its exceptions.
    text = work.event_by_uid(uid).data.replace(uid, "caldav-series@test")
    work.save_event(text)

    def pushed_with_its_exception() -> dict[str, Any] | None:
        master = google_live(fake, cid).get("caldav-series@test")
        if master is None:
            return None
        found = {i["originalStartTime"]["dateTime"][:19]: i
                 for i in fake.instances(cid, str(master["id"]))}  # fmt: skip
        moved = found.get("2026-03-03T09:00:00")
        return (
            found if moved and moved["start"]["dateTime"].startswith("2026-03-03T10:00") else None
        )

    # The master lands first, then its moved instance (Google has no transactions).
    instances = eventually(pushed_with_its_exception, "the CalDAV series, in Google")
    assert "2026-03-04T09:00:00" not in instances, "the cancelled occurrence stays cancelled"
    assert len(instances) == 4


@pytest.mark.parametrize(
    "setup", ["Pacific/Kiritimati", "America/Los_Angeles", "Europe/Berlin"], indirect=True
)
def test_an_all_day_event_stays_on_its_day(setup: Setup) -> None:
    fake, cid, server = setup.fake, setup.calendar_id, setup.server
    made = fake.insert(cid, {"summary": "Holiday", "start": {"date": "2026-03-09"},
                             "end": {"date": "2026-03-10"}})  # fmt: skip
    uid = str(made["iCalUID"])
    parts = eventually(lambda: components(calendar(server, "all")).get(uid), "the all-day event")
    assert parts[0]["DTSTART"].to_ical() == b"20260309"
    assert parts[0]["DTEND"].to_ical() == b"20260310"
    calendar(server, "work").save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:day-off@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260316\r\n"
        "DTEND;VALUE=DATE:20260317\r\nSUMMARY:Day off\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    pushed = eventually(lambda: google_live(fake, cid).get("day-off@test"), "all-day, in Google")
    assert pushed["start"] == {"date": "2026-03-16"} and pushed["end"] == {"date": "2026-03-17"}


def test_a_revoked_grant_needs_re_auth_and_deletes_nothing(setup: Setup) -> None:
    fake, server = setup.fake, setup.server
    work = calendar(server, "work")
    eventually(lambda: len(summaries(work)) == 1, "the first sync")
    fake.invalid_grant = True
    fake.expire_access_tokens()
    try:  # a change in Google wakes the source, which can no longer sign in
        fake.insert(setup.calendar_id, timed("Trigger", "2026-03-06T09:00:00+01:00",
                                             "2026-03-06T10:00:00+01:00"))  # fmt: skip
        lines = eventually(
            lambda: (found := commands.status(load_settings(setup.config)))
            and any("NEEDS RE-AUTH" in line for line in found) and found,
            "the source marked as needing a new sign-in", timeout=10,
        )  # fmt: skip
        assert any("kalends auth work" in line for line in lines)
        assert len(summaries(work)) == 1, "nothing was deleted"
        assert calendar(server, "calendar").events() == [], "the server keeps serving"
    finally:
        fake.invalid_grant = False
