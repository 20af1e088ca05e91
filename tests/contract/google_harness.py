"""The Google bridge in the contract suite, against the local Google fake over real HTTP.

The person editing the provider works in Google Calendar: events are inserted, replaced and
deleted through the fake's own store, as Google's web app would, while the bridge sees them only
through the Calendar API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kalends.bridges.base import Bridge
from kalends.bridges.google import GoogleBridge
from kalends.bridges.google.api import CalendarApi
from kalends.bridges.google.mapping import from_ical
from kalends.bridges.google.tokens import SCOPES, GoogleTokens
from tests.fakes.google import GoogleFake, running_google_fake

CLIENT_ID, CLIENT_SECRET = "contract.apps.example", "contract-secret"


def google_bridge(fake: GoogleFake, calendar_id: str, page_size: int = 250) -> GoogleBridge:
    """A bridge signed in to the fake with a fresh grant."""
    fake.register_client(CLIENT_ID, CLIENT_SECRET)
    secrets = {
        "refresh_token": fake.issue_refresh_token(CLIENT_ID),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token_url": fake.token_url,
    }
    tokens = GoogleTokens("google-test", secrets, SCOPES)
    api = CalendarApi(fake.api_url, tokens, calendar_id, name="google test")
    return GoogleBridge(api, page_size=page_size)


def google_body(ical: str, zone: str = "UTC") -> dict[str, Any]:
    """What Google's web app stores for this event (as a person would type it in)."""
    draft = from_ical(ical, default_zone=zone)
    return dict(draft.master)


def new_calendar(fake: GoogleFake, zone: str = "UTC") -> str:
    calendar_id = f"c{uuid.uuid4().hex[:12]}@group.calendar.google.com"
    fake.add_calendar(calendar_id, "Test calendar", time_zone=zone)
    return calendar_id


class GoogleHarness:
    writable = True

    def __init__(self, fake: GoogleFake) -> None:
        self.fake = fake
        self.calendar_id = new_calendar(fake)
        self.bridge: Bridge = google_bridge(fake, self.calendar_id, page_size=3)

    def add(self, ical: str) -> str:
        return str(self.fake.insert(self.calendar_id, google_body(ical))["id"])

    def edit(self, remote_id: str, ical: str) -> None:
        self.fake.update(self.calendar_id, remote_id, google_body(ical))

    def remove(self, remote_id: str) -> None:
        self.fake.delete(self.calendar_id, remote_id)


@contextmanager
def google_harness(_tmp_path: Path) -> Iterator[GoogleHarness]:
    with running_google_fake() as fake:
        yield GoogleHarness(fake)
