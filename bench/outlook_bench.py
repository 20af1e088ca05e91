"""Outlook bridge benchmark: an Outlook calendar of N events (the local Graph fake over HTTPS,
in a process of its own so that its work does not slow the sync it times).

Measures, in one run:
- the initial sync of N events (one round from an empty database, delta pages of 100);
- on a running ``kalends serve`` with a Graph subscription: the latency from an edit in
  Outlook to its visibility over CalDAV, and from a CalDAV edit to its arrival in Outlook.

    .venv/bin/python bench/outlook_bench.py --events 10000 [--edits 40]

Targets (issue: Outlook bridge): initial sync <= 30 s; notification to CalDAV p95 <= 1 s;
CalDAV edit to Outlook p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import (  # noqa: E402
    Provider,
    edit_both_ways,
    initial_sync,
    percentile,
    write_config,
)
from kalends.bridges.outlook.options import sign_in_outlook  # noqa: E402
from kalends.config import load_settings  # noqa: E402
from kalends.security.secrets import load_secret_key  # noqa: E402
from kalends.storage.credentials import CredentialStore  # noqa: E402
from kalends.storage.engine import create_storage_engine, migrate_database  # noqa: E402
from tests.fakes.graph import GraphFake  # noqa: E402

CLIENT_ID = "00000000-0000-0000-0000-0000000be7c4"
ZONE = "W. Europe Standard Time"
WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                "firstDayOfWeek": "monday"},
    "range": {"type": "numbered", "startDate": "", "numberOfOccurrences": 20,
              "recurrenceTimeZone": ZONE},
}  # fmt: skip


def body(n: int) -> dict[str, Any]:
    """Event n: every tenth all-day, every tenth a weekly series, the rest timed, in 2027."""
    month, day = 1 + n % 12, 1 + n % 28
    date = f"2027-{month:02d}-{day:02d}"
    made: dict[str, Any] = {
        "subject": f"Event {n}",
        "location": {"displayName": f"Room {n % 7}"},
        "body": {"contentType": "text", "content": f"Notes for {n}."},
    }
    if n % 10 == 0:
        return made | {"isAllDay": True,
                       "start": {"dateTime": f"{date}T00:00:00", "timeZone": "UTC"},
                       "end": {"dateTime": f"2027-{month:02d}-{day + 1:02d}T00:00:00",
                               "timeZone": "UTC"}}  # fmt: skip
    hour = 8 + n % 10
    made |= {"start": {"dateTime": f"{date}T{hour:02d}:00:00", "timeZone": ZONE},
             "end": {"dateTime": f"{date}T{hour:02d}:45:00", "timeZone": ZONE}}  # fmt: skip
    if n % 10 == 1:
        day_one = dt.date.fromisoformat(date)
        start = (day_one - dt.timedelta(days=day_one.weekday())).isoformat()  # a Monday
        made["start"]["dateTime"] = made["start"]["dateTime"].replace(date, start)
        made["end"]["dateTime"] = made["end"]["dateTime"].replace(date, start)
        made["recurrence"] = {"pattern": WEEKLY["pattern"],
                              "range": {**WEEKLY["range"], "startDate": start}}  # fmt: skip
    return made


class FakeService(GraphFake):
    def launch(self) -> None:
        self.start()
        self.auto_approve = True
        self.device_code_interval = 0

    def where(self) -> tuple[str, str, str]:
        return self.authority, self.graph_url, self.ca_path

    def subscription_count(self) -> int:
        return len(self.subscriptions)

    def add(self, cid: str, made: dict[str, Any]) -> str:
        return str(self.create(cid, made)["iCalUId"])


class FakeProcess(BaseManager):
    pass


FakeProcess.register("FakeService", FakeService)


def outlook_config(directory: Path, fake: Any, calendar_id: str) -> Path:
    authority, graph_url, ca_path = fake.where()
    return write_config(directory, "office", (
        f'type = "outlook"\nuser = "alice"\ncalendar = "{calendar_id}"\n'
        f'client_id = "{CLIENT_ID}"\nauthority = "{authority}"\ngraph_url = "{graph_url}"\n'
        f'ca_file = "{ca_path}"\ntimezone = "Europe/Berlin"\nfuture_days = 900\n'
        f"poll_interval = 600\n"
    ))  # fmt: skip


def sign_in(config: Path) -> None:
    settings = load_settings(config)
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url, pool_size=1)
    vault = CredentialStore(engine, load_secret_key(settings.server.data_dir, {}))
    options = {k: v for k, v in settings.sources["office"].options.items() if k != "poll_interval"}
    sign_in_outlook("office", options, vault, lambda _message: None)
    engine.dispose()


def latencies(config: Path, fake: Any, cid: str, edits: int) -> tuple[list[float], list[float]]:
    singles = [e for e in fake.events(cid) if e.get("type") == "singleInstance"]

    def pick(e: int) -> dict[str, Any]:
        event: dict[str, Any] = singles[(e * 53) % len(singles)]
        return event

    provider = Provider(
        "Outlook",
        href=lambda e: f"/alice/office/{pick(e)['iCalUId']}.ics",
        rename=lambda e, title: fake.update(pick(e)["id"], {"subject": title}),
        title=lambda e: str(fake.get(pick(e)["id"])["subject"]),
    )
    return edit_both_ways(config, lambda: fake.subscription_count() > 0, provider, edits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=40, help="edits timed each way")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="kalends-outlook-bench-"))
    with FakeProcess() as process:
        fake = process.FakeService()  # type: ignore[attr-defined]
        fake.launch()
        cid = fake.add_calendar("Bench")
        for n in range(args.events):
            fake.add(cid, body(n))
        config = outlook_config(directory, fake, cid)
        sign_in(config)
        seconds = initial_sync(config, "office", args.events)
        inbound, outbound = latencies(config, fake, cid, args.edits)
        fake.stop()
    print(f"events: {args.events} ({args.events // 10} weekly series, {args.events // 10} all-day)")
    print(f"initial sync: {seconds:.1f} s (target <= 30 s)")
    for name, values in (("Outlook edit -> CalDAV", inbound), ("CalDAV edit -> Outlook", outbound)):
        p50, p95 = (percentile(values, share) * 1000 for share in (0.5, 0.95))
        print(f"{name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {len(values)} edits "
              "(target p95 <= 1 s)")  # fmt: skip


if __name__ == "__main__":
    main()
