"""A Google <-> Outlook round trip through Kalends: an event made in Google is copied by a CalDAV
client into the Outlook calendar, edited in Outlook, and the edited version copied back to
Google; title, times, recurrence and description survive every hop, and the unified calendar
shows the event once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kalends.bridges.outlook.options import sign_in_outlook
from kalends.config import load_settings
from kalends.security.secrets import load_secret_key
from kalends.storage.credentials import CredentialStore
from kalends.storage.engine import create_storage_engine, migrate_database
from tests.contract.outlook_harness import CLIENT_ID as OUTLOOK_CLIENT
from tests.fakes.google import GoogleFake, running_google_fake
from tests.fakes.graph import GraphFake, running_graph_fake
from tests.harness import LiveServer, live_server, write_config
from tests.integration.test_google_sync import (
    CLIENT_ID,
    CLIENT_SECRET,
    calendar,
    components,
    eventually,
)

GOOGLE_CALENDAR = "trip@group.calendar.google.com"


@pytest.fixture
def fakes() -> Iterator[tuple[GoogleFake, GraphFake]]:
    with running_google_fake() as google, running_graph_fake() as graph:
        google.register_client(CLIENT_ID, CLIENT_SECRET)
        google.add_calendar(GOOGLE_CALENDAR, "Trip", time_zone="Europe/Berlin")
        graph.auto_approve = True
        graph.device_code_interval = 0
        yield google, graph


def _config(tmp_path: Path, password_hash: str, google: GoogleFake, graph: GraphFake) -> Path:
    office = graph.add_calendar("Trip")
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'kalends.db'}", password_hash, users={"alice": ()}
    )
    with config.open("a", encoding="utf-8") as file:
        file.write(
            'default_target = "work"\n\n[sources.work]\ntype = "google"\nuser = "alice"\n'
            f'calendar = "{GOOGLE_CALENDAR}"\nclient_id = "{CLIENT_ID}"\n'
            f'client_secret = "{CLIENT_SECRET}"\napi_url = "{google.api_url}"\n'
            f'token_url = "{google.token_url}"\n\n[sources.office]\ntype = "outlook"\n'
            f'user = "alice"\npriority = 1\ncalendar = "{office}"\n'
            f'client_id = "{OUTLOOK_CLIENT}"\nauthority = "{graph.authority}"\n'
            f'graph_url = "{graph.graph_url}"\nca_file = "{graph.ca_path}"\n'
        )
    return config


def _sign_in(config: Path, google: GoogleFake) -> None:
    settings = load_settings(config)
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url, pool_size=1)
    try:
        vault = CredentialStore(engine, load_secret_key(settings.server.data_dir, {}))
        vault.put("work", {"refresh_token": google.issue_refresh_token(CLIENT_ID),
                           "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                           "token_url": google.token_url})  # fmt: skip
        sign_in_outlook("office", settings.sources["office"].options, vault, lambda _: None)
    finally:
        engine.dispose()


@pytest.fixture
def server(
    tmp_path: Path, password_hash: str, fakes: tuple[GoogleFake, GraphFake]
) -> Iterator[LiveServer]:
    config = _config(tmp_path, password_hash, *fakes)
    _sign_in(config, fakes[0])
    with live_server(config) as running:
        yield running


def _outlook_event(graph: GraphFake, subject: str) -> dict[str, Any] | None:
    return next(
        (e for cid in _calendars(graph) for e in graph.events(cid) if e["subject"] == subject),
        None,
    )


def _calendars(graph: GraphFake) -> list[str]:
    with graph.store.lock:
        return list(graph.store.calendars)


def test_an_event_made_in_google_edited_in_outlook_keeps_what_it_says(
    fakes: tuple[GoogleFake, GraphFake], server: LiveServer
) -> None:
    google, graph = fakes
    made = google.insert(GOOGLE_CALENDAR, {
        "summary": "Book club", "description": "Chapter 3, bring snacks; door code 42",
        "start": {"dateTime": "2026-12-03T19:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-03T21:00:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=MONTHLY;BYDAY=1TH;COUNT=6"],
    })  # fmt: skip
    uid = str(made["iCalUID"])
    work, office = calendar(server, "work"), calendar(server, "office")
    eventually(lambda: components(work).get(uid), "the Google event over CalDAV")
    text = work.event_by_uid(uid).data

    office.save_event(text)  # a CalDAV client copies it into the Outlook calendar
    copied = eventually(lambda: _outlook_event(graph, "Book club"), "the copy, in Outlook")
    assert copied["recurrence"]["pattern"]["type"] == "relativeMonthly"
    assert copied["recurrence"]["pattern"]["index"] == "first"

    graph.update(copied["id"], {"subject": "Book club (moved room)"})  # edited in Outlook
    edited = eventually(lambda: next((p for p in components(office).get(uid, [])
                                      if "moved room" in str(p.get("SUMMARY"))), None),
                        "the Outlook edit, over CalDAV")  # fmt: skip
    unified = components(calendar(server, "all"))
    assert len(unified[uid]) == 1 and "moved room" in str(unified[uid][0]["SUMMARY"])

    work.save_event(office.event_by_uid(uid).data)  # and back to Google
    back = eventually(
        lambda: (
            (e := google.get(GOOGLE_CALENDAR, made["id"])) and "moved room" in e["summary"] and e
        ),
        "the edit, back in Google",
    )
    assert back["description"] == "Chapter 3, bring snacks; door code 42"
    assert back["start"]["dateTime"].startswith("2026-12-03T19:00:00")
    assert back["end"]["dateTime"].startswith("2026-12-03T21:00:00")
    [rule] = back["recurrence"]  # the same rule, its parts perhaps in another order
    assert set(rule.removeprefix("RRULE:").split(";")) == {"FREQ=MONTHLY", "BYDAY=1TH", "COUNT=6"}
    assert str(edited["DESCRIPTION"]) == "Chapter 3, bring snacks; door code 42"
