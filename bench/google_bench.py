"""Google bridge benchmark: a Google calendar of N events (the local fake, answering at once).

Measures, in one run:
- the initial sync of N events in pages of 250 (one round from an empty database);
- on a running ``kalends serve`` with a push channel: the latency from an edit in Google to its
  visibility over CalDAV, and from a CalDAV edit to its arrival in Google (p50/p95).

    .venv/bin/python bench/google_bench.py --events 10000 [--edits 40]

Targets (issue: Google bridge): initial sync <= 30 s; notification to CalDAV p95 <= 1 s; CalDAV
edit to Google p95 <= 1 s.
"""

from __future__ import annotations

import argparse
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
from kalends.config import load_settings  # noqa: E402
from kalends.security.secrets import load_secret_key  # noqa: E402
from kalends.storage.credentials import CredentialStore  # noqa: E402
from kalends.storage.engine import create_storage_engine, migrate_database  # noqa: E402
from tests.fakes.google import GoogleFake  # noqa: E402

CALENDAR = "bench@group.calendar.google.com"
CLIENT_ID, CLIENT_SECRET = "bench.apps.example", "bench-secret"
ZONE = "Europe/Berlin"


def body(n: int, version: int = 0) -> dict[str, Any]:
    month, day = 1 + n % 12, 1 + n % 28
    date = f"2026-{month:02d}-{day:02d}"
    summary = f"Event {n}" + (f" (edit {version})" if version else "")
    made: dict[str, Any] = {"summary": summary, "location": f"Room {n % 7}",
                            "description": f"Notes for event {n}."}  # fmt: skip
    if n % 10 == 0:
        following = f"2026-{month:02d}-{day + 1:02d}"
        return made | {"start": {"date": date}, "end": {"date": following}}
    hour = 8 + n % 10
    made |= {"start": {"dateTime": f"{date}T{hour:02d}:00:00", "timeZone": ZONE},
             "end": {"dateTime": f"{date}T{hour:02d}:45:00", "timeZone": ZONE}}  # fmt: skip
    if n % 10 == 1:
        made["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=20"]
    return made


class FakeService(GoogleFake):
    """The fake, run in a process of its own (``FakeProcess``): its work must not slow down
    the sync being measured, as a real Google's would not."""

    def launch(self) -> None:
        self.start()

    def urls(self) -> tuple[str, str]:
        return self.api_url, self.token_url

    def channel_count(self) -> int:
        return len(self.channels)


class FakeProcess(BaseManager):
    pass


FakeProcess.register("FakeService", FakeService)


def google_config(directory: Path, fake: Any) -> Path:
    api_url, token_url = fake.urls()
    return write_config(directory, "work", (
        f'type = "google"\nuser = "alice"\ncalendar = "{CALENDAR}"\nclient_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\napi_url = "{api_url}"\n'
        f'token_url = "{token_url}"\npoll_interval = 600\n'
    ))  # fmt: skip


def sign_in(config: Path, fake: Any) -> None:
    settings = load_settings(config)
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url, pool_size=1)
    box = load_secret_key(settings.server.data_dir, {})
    CredentialStore(engine, box).put("work", {
        "refresh_token": fake.issue_refresh_token(CLIENT_ID), "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "token_url": fake.urls()[1],
    })  # fmt: skip
    engine.dispose()


def latencies(config: Path, fake: Any, edits: int) -> tuple[list[float], list[float]]:
    singles = [e for e in fake.events(CALENDAR) if not e.get("recurrence")]

    def pick(e: int) -> dict[str, Any]:
        event: dict[str, Any] = singles[(e * 53) % len(singles)]
        return event

    provider = Provider(
        "Google",
        href=lambda e: f"/alice/work/{pick(e)['iCalUID']}.ics",
        rename=lambda e, title: fake.patch(CALENDAR, pick(e)["id"], {"summary": title}),
        title=lambda e: str(fake.get(CALENDAR, pick(e)["id"])["summary"]),
    )
    return edit_both_ways(config, lambda: fake.channel_count() > 0, provider, edits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=40, help="edits timed each way")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="kalends-google-bench-"))
    with FakeProcess() as process:
        fake = process.FakeService()  # type: ignore[attr-defined]
        fake.launch()
        fake.register_client(CLIENT_ID, CLIENT_SECRET)
        fake.add_calendar(CALENDAR, "Bench", time_zone=ZONE)
        for n in range(args.events):
            fake.insert(CALENDAR, body(n))
        config = google_config(directory, fake)
        sign_in(config, fake)
        seconds = initial_sync(config, "work", args.events)
        inbound, outbound = latencies(config, fake, args.edits)
        fake.stop()
    print(f"events: {args.events} ({args.events // 10} recurring, {args.events // 10} all-day)")
    print(f"initial sync, pages of 250: {seconds:.1f} s (target <= 30 s)")
    for name, values in (("Google edit -> CalDAV", inbound), ("CalDAV edit -> Google", outbound)):
        p50, p95 = (percentile(values, share) * 1000 for share in (0.5, 0.95))
        print(f"{name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {len(values)} edits "
              "(target p95 <= 1 s)")  # fmt: skip


if __name__ == "__main__":
    main()
