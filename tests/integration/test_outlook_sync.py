"""End to end: a live server syncing an Outlook calendar (the local Graph fake over HTTPS,
reached by the real bridge, msal and a Graph subscription to the server's webhook), driven by
the ``caldav`` client and by edits made "in Outlook" through the fake."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kalends.bridges.outlook.options import sign_in_outlook
from kalends.config import load_settings
from kalends.security.secrets import load_secret_key
from kalends.storage.credentials import CredentialStore
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.sync import commands
from tests.contract.outlook_harness import CLIENT_ID
from tests.fakes.graph import GraphFake, running_graph_fake
from tests.harness import LiveServer, live_server, write_config
from tests.integration.test_google_sync import calendar, components, eventually, summaries

BERLIN = "W. Europe Standard Time"


@pytest.fixture(scope="module")
def fake() -> Iterator[GraphFake]:
    with running_graph_fake() as made:
        made.auto_approve = True
        made.device_code_interval = 0
        yield made


@dataclass
class Setup:
    server: LiveServer
    fake: GraphFake
    calendar_id: str
    config: Path


def _config(tmp_path: Path, password_hash: str, fake: GraphFake, cid: str) -> Path:
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'kalends.db'}", password_hash,
        users={"alice": ("calendar",)},
    )  # fmt: skip
    with config.open("a", encoding="utf-8") as file:
        file.write('default_target = "office"\n\n[sources.office]\ntype = "outlook"\n')
        file.write(f'user = "alice"\ncalendar = "{cid}"\nclient_id = "{CLIENT_ID}"\n')
        file.write(f'authority = "{fake.authority}"\ngraph_url = "{fake.graph_url}"\n')
        file.write(f'ca_file = "{fake.ca_path}"\ntimezone = "Europe/Berlin"\n')
        file.write("poll_interval = 30\n")  # long: what arrives fast arrived by push
    return config


def _sign_in(config: Path) -> None:
    settings = load_settings(config)
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url, pool_size=1)
    try:
        vault = CredentialStore(engine, load_secret_key(settings.server.data_dir, {}))
        options = dict(settings.sources["office"].options)
        options.pop("poll_interval")
        sign_in_outlook("office", options, vault, lambda _message: None)
    finally:
        engine.dispose()


@pytest.fixture
def setup(tmp_path: Path, password_hash: str, fake: GraphFake) -> Iterator[Setup]:
    cid = fake.add_calendar(f"Office {tmp_path.name}")
    fake.create(cid, timed("Kickoff", "2026-12-07"))
    config = _config(tmp_path, password_hash, fake, cid)
    _sign_in(config)
    with live_server(config) as server:
        yield Setup(server, fake, cid, config)


def timed(subject: str, day: str, zone: str = BERLIN, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": f"{day}T09:00:00", "timeZone": zone},
        "end": {"dateTime": f"{day}T10:00:00", "timeZone": zone},
        **extra,
    }


def outlook_live(fake: GraphFake, cid: str) -> dict[str, dict[str, Any]]:
    """Subject -> event (singles and masters) in the Outlook calendar."""
    return {str(e["subject"]): e for e in fake.events(cid) if e.get("type") != "exception"}


def test_outlook_and_caldav_edits_flow_both_ways(setup: Setup) -> None:
    fake, cid, server = setup.fake, setup.calendar_id, setup.server
    office, unified = calendar(server, "office"), calendar(server, "all")
    eventually(lambda: "Kickoff" in summaries(unified).values(), "the first sync, unified")
    assert fake.subscriptions, "a Graph subscription was made for the calendar"

    made = fake.create(cid, timed("Planning", "2026-12-08"))
    uid = eventually(lambda: next((u for u, s in summaries(office).items() if s == "Planning"),
                                  None), "an Outlook event, over CalDAV")  # fmt: skip
    later = timed("Planning (moved)", "2026-12-09")
    fake.update(made["id"], {"subject": later["subject"], "start": later["start"],
                             "end": later["end"]})  # fmt: skip
    moved = eventually(lambda: next((p for p in components(unified).get(uid, [])
                                     if str(p.get("SUMMARY")) == "Planning (moved)"), None),
                       "an Outlook edit, unified")  # fmt: skip
    assert moved["DTSTART"].dt.isoformat() == "2026-12-09T09:00:00+01:00"
    fake.delete(made["id"])
    eventually(lambda: uid not in summaries(unified), "an Outlook delete, unified")

    event = office.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:from-caldav@test\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261210T100000\r\nDTEND;TZID=Europe/Berlin:20261210T110000\r\n"
        "SUMMARY:Written in Thunderbird\r\nX-CUSTOM:kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    pushed = eventually(lambda: outlook_live(fake, cid).get("Written in Thunderbird"),
                        "a CalDAV event, in Outlook")  # fmt: skip
    assert pushed["start"]["dateTime"].startswith("2026-12-10T09:00:00")  # UTC
    event.icalendar_component["SUMMARY"] = "Edited in Thunderbird"
    event.save()
    eventually(lambda: "Edited in Thunderbird" in outlook_live(fake, cid), "a CalDAV edit")
    assert "X-CUSTOM:kept" in calendar(server, "office").event_by_uid("from-caldav@test").data
    event.delete()
    eventually(lambda: "Edited in Thunderbird" not in outlook_live(fake, cid), "a CalDAV delete")


WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                "firstDayOfWeek": "monday"},
    "range": {"type": "numbered", "startDate": "2026-12-07", "numberOfOccurrences": 5,
              "recurrenceTimeZone": BERLIN},
}  # fmt: skip


def test_a_weekly_series_with_a_moved_and_a_deleted_occurrence_survives(setup: Setup) -> None:
    fake, cid, server = setup.fake, setup.calendar_id, setup.server
    office = calendar(server, "office")
    master = fake.create(cid, timed("Standup", "2026-12-07", recurrence=WEEKLY))
    occurrences = fake.instances(master["id"], "2026-12-01T00:00:00Z", "2027-02-01T00:00:00Z")
    fake.update(occurrences[1]["id"], {"start": {"dateTime": "2026-12-14T11:00:00",
                                                 "timeZone": BERLIN},
                                       "end": {"dateTime": "2026-12-14T12:00:00",
                                               "timeZone": BERLIN}})  # fmt: skip
    fake.delete(occurrences[3]["id"])

    def arrived() -> list[Any] | None:
        for parts in components(office).values():
            if str(parts[0].get("SUMMARY")) == "Standup" and len(parts) == 2:
                return parts if "EXDATE" in parts[0] else None
        return None

    series, moved = eventually(arrived, "the series with its moved and deleted occurrences")
    assert [d.dt.isoformat() for d in series["EXDATE"].dts] == ["2026-12-28T09:00:00+01:00"]
    assert moved["RECURRENCE-ID"].dt.isoformat() == "2026-12-14T09:00:00+01:00"
    assert moved["DTSTART"].dt.isoformat() == "2026-12-14T11:00:00+01:00"

    text = office.event_by_uid(str(series["UID"])).data
    office.save_event(text.replace(str(series["UID"]), "caldav-series@test").replace(
        "SUMMARY:Standup", "SUMMARY:Standup copy"))  # fmt: skip
    copy = eventually(lambda: outlook_live(fake, cid).get("Standup copy"), "the copy, in Outlook")

    def exceptions_written() -> list[dict[str, Any]] | None:
        found = fake.instances(copy["id"], "2026-12-01T00:00:00Z", "2027-02-01T00:00:00Z")
        return found if any(o.get("type") == "exception" for o in found) else None

    found = eventually(exceptions_written, "its moved occurrence, in Outlook")
    assert len(found) == 4, "the deleted occurrence stays deleted"


def test_an_all_day_event_and_a_custom_zone_arrive_unchanged(setup: Setup) -> None:
    fake, cid, server = setup.fake, setup.calendar_id, setup.server
    office = calendar(server, "office")
    fake.create(cid, {"subject": "Holiday", "isAllDay": True,
                      "start": {"dateTime": "2026-12-24T00:00:00", "timeZone": "UTC"},
                      "end": {"dateTime": "2026-12-25T00:00:00", "timeZone": "UTC"}})  # fmt: skip
    fake.create(cid, timed("Desktop meeting", "2026-12-11", zone="Pacific Standard Time"),
                custom_zone=True)  # fmt: skip

    def both() -> dict[str, list[Any]] | None:
        found = {str(p[0].get("SUMMARY")): p for p in components(office).values()}
        return found if {"Holiday", "Desktop meeting"} <= set(found) else None

    found = eventually(both, "the all-day and the custom-zone event")
    holiday = found["Holiday"][0]
    assert holiday["DTSTART"].to_ical() == b"20261224"
    assert holiday["DTEND"].to_ical() == b"20261225"
    desktop = found["Desktop meeting"][0]
    assert desktop["DTSTART"].dt.isoformat() == "2026-12-11T17:00:00+00:00"  # 09:00 Pacific


def test_a_revoked_grant_needs_re_auth_and_deletes_nothing(setup: Setup) -> None:
    fake, server = setup.fake, setup.server
    office = calendar(server, "office")
    eventually(lambda: len(summaries(office)) == 1, "the first sync")
    fake.invalid_grant = True
    fake.expire_access_tokens()
    try:  # a change in Outlook wakes the source, which can no longer sign in
        fake.create(setup.calendar_id, timed("Trigger", "2026-12-12"))
        lines = eventually(
            lambda: (found := commands.status(load_settings(setup.config)))
            and any("NEEDS RE-AUTH" in line for line in found) and found,
            "the source marked as needing a new sign-in", timeout=10,
        )  # fmt: skip
        assert any("kalends auth office" in line for line in lines)
        assert len(summaries(office)) == 1, "nothing was deleted"
    finally:
        fake.invalid_grant = False


def test_kalends_auth_runs_the_device_code_sign_in(
    tmp_path: Path, password_hash: str, fake: GraphFake, capsys: pytest.CaptureFixture[str]
) -> None:
    from kalends.cli import main

    cid = fake.add_calendar("Sign-in")
    fake.create(cid, timed("Signed in", "2026-12-07"))
    config = _config(tmp_path, password_hash, fake, cid)
    before = commands.sync(load_settings(config), "office", dry_run=False, confirm=None)
    assert any("needs re-auth" in line for line in before), before
    assert main(["auth", "office", "--config", str(config), "--no-browser"]) == 0
    shown = capsys.readouterr().out
    assert "enter the code" in shown and "signed in to Microsoft" in shown
    after = commands.sync(load_settings(config), "office", dry_run=False, confirm=None)
    assert any("pull-create" in line for line in after), after
