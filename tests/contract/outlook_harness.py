"""The Outlook bridge in the contract suite, against the local Graph fake over HTTPS.

The bridge signs in with msal's device-code flow against the fake's identity provider (the
person approves at once) and reaches Graph with the real client code; the person editing the
provider works in Outlook, through the fake's own store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kalends.bridges.base import Bridge
from kalends.bridges.context import SourceContext
from kalends.bridges.outlook import OutlookBridge
from kalends.bridges.outlook.mapping import from_ical
from kalends.bridges.outlook.options import open_bridge, sign_in_outlook
from tests.fakes.graph import GraphFake, running_graph_fake

CLIENT_ID = "00000000-0000-0000-0000-00000000c0de"


class DictVault:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, str]] = {}

    def get(self, name: str) -> dict[str, str] | None:
        return self.rows.get(name)

    def put(self, name: str, secrets: Mapping[str, str]) -> None:
        self.rows[name] = dict(secrets)


def outlook_options(fake: GraphFake, calendar_id: str, **extra: object) -> dict[str, object]:
    return {
        "calendar": calendar_id,
        "client_id": CLIENT_ID,
        "authority": fake.authority,
        "graph_url": fake.graph_url,
        "ca_file": fake.ca_path,
        **extra,
    }


def signed_in_vault(fake: GraphFake, options: Mapping[str, object]) -> DictVault:
    """A vault holding a grant from the device-code flow (approved at once)."""
    fake.auto_approve = True
    fake.device_code_interval = 0
    vault = DictVault()
    sign_in_outlook("outlook-test", options, vault, lambda _message: None)
    return vault


def outlook_bridge(
    fake: GraphFake, calendar_id: str, vault: DictVault | None = None, **extra: object
) -> OutlookBridge:
    options = outlook_options(fake, calendar_id, **extra)
    vault = vault or signed_in_vault(fake, options)
    context = SourceContext("outlook-test", Path("."), vault)
    return open_bridge(options, context)


def graph_body(ical: str, zone: str = "UTC") -> dict[str, Any]:
    """What Outlook stores for this event; its UID travels in Kalends' extended property, as
    for an event that came from another iCalendar client (Outlook cannot take a UID itself)."""
    return dict(from_ical(ical, default_zone=zone).master)


def immutable_id(fake: GraphFake, event_id: str) -> str:
    """The id the bridge knows an event by (it asks Graph for immutable ids)."""
    with fake.store.lock:
        return str(fake.store.locate(event_id)[0].iid)


class OutlookHarness:
    writable = True

    def __init__(self, fake: GraphFake) -> None:
        self.fake = fake
        self.calendar_id = fake.add_calendar("Contract")
        self.bridge: Bridge = outlook_bridge(fake, self.calendar_id, page_size=3)

    def add(self, ical: str) -> str:
        made = self.fake.create(self.calendar_id, graph_body(ical))
        return immutable_id(self.fake, str(made["id"]))

    def edit(self, remote_id: str, ical: str) -> None:
        self.fake.update(remote_id, graph_body(ical))

    def remove(self, remote_id: str) -> None:
        self.fake.delete(remote_id)


@contextmanager
def outlook_harness(_tmp_path: Path) -> Iterator[OutlookHarness]:
    with running_graph_fake() as fake:
        yield OutlookHarness(fake)
