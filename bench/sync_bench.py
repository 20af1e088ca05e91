"""Sync benchmark: an Obsidian vault of N notes through the sync engine.

Measures, in one run:
- the initial import of N notes (one round from an empty database);
- an incremental round after 10 notes changed (median and p95 of several rounds), with the
  bridge kept between rounds and its file watcher running, as in ``kalends serve`` (a round
  reads the notes the watcher reported; a full listing still runs every minute as a safety
  net), then the same rounds on the same bridge without a watcher (every round stats every
  note, as in a server whose file notifications are unavailable);
- the latency from a note edit to its visibility over CalDAV on a running ``kalends serve``
  (p50/p95 of many edits).

    .venv/bin/python bench/sync_bench.py --notes 10000 [--edits 40] [--keep DIR]

Targets (issue: sync engine): import <= 20 s, incremental round <= 200 ms, note-to-CalDAV
p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import percentile, start_server  # noqa: E402
from kalends.bridges.obsidian import ObsidianBridge  # noqa: E402
from kalends.config import load_settings  # noqa: E402
from kalends.security.passwords import hash_password  # noqa: E402
from kalends.storage.base import Transactions  # noqa: E402
from kalends.storage.engine import create_storage_engine, migrate_database  # noqa: E402
from kalends.sync.commands import _provision  # noqa: E402
from kalends.sync.executor import Round  # noqa: E402
from kalends.sync.model import Policy  # noqa: E402
from kalends.sync.sqlstore import SqlSyncStore, find_source_collection  # noqa: E402

PASSWORD = "bench"


def note_text(n: int, version: int = 0) -> str:
    month, day = 1 + n % 12, 1 + n % 28
    date = f"2026-{month:02d}-{day:02d}"
    title = f"Event {n}" + (f" (edit {version})" if version else "")
    head = f"---\ntitle: {title}\nuid: bench-{n:05d}@kalends\n"
    if n % 10 == 0:
        body = f"allDay: true\ndate: {date}\n"
    elif n % 10 == 1:
        body = (
            f'type: rrule\nallDay: false\nstartDate: {date}\nstartTime: "08:00"\n'
            f'endTime: "08:30"\nrrule: FREQ=WEEKLY;COUNT=20\n'
        )
    else:
        hour = 8 + n % 10
        body = (
            f'allDay: false\ndate: {date}\nstartTime: "{hour:02d}:00"\nendTime: "{hour:02d}:45"\n'
        )
    return head + body + f"location: Room {n % 7}\n---\n\nNotes for event {n}.\n"


def note_path(folder: Path, n: int) -> Path:
    return folder / f"bench {n:05d}.md"


def write_config(directory: Path, vault: Path) -> Path:
    config = directory / "kalends.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = 0\ndata_dir = "{directory.as_posix()}/data"\n\n'
        f"[auth]\nfailure_delay = 0.0\n\n[users.alice]\n"
        f'password_hash = "{hash_password(PASSWORD)}"\n'
        f'calendars = []\ndefault_target = "notes"\n\n[sources.notes]\ntype = "obsidian"\n'
        f'user = "alice"\npath = "{vault.as_posix()}"\nfolder = "calendar"\n',
        encoding="utf-8",
    )
    return config


FULL_LISTINGS: list[bool] = []  # per round: whether the source was listed in full


async def one_round(store: SqlSyncStore, bridge: ObsidianBridge) -> tuple[float, int]:
    started = time.perf_counter()
    report = await Round(bridge, store, Policy()).run()
    assert report.error is None and not report.failed, (report.error, report.failed[:3])
    FULL_LISTINGS.append(report.full_listing)
    return time.perf_counter() - started, len(report.actions)


async def edited_round(
    store: SqlSyncStore,
    bridge: ObsidianBridge,
    folder: Path,
    notes: int,
    r: int,
    signal: asyncio.Event | None,
) -> float:
    """Milliseconds of one round after 10 notes changed. With a watcher the round starts once
    it reported them (in a server its signal starts the round); without, as long after the
    edits, so that both rounds start alike (after a pause, not straight after other work)."""
    for k in range(10):
        n = (r * 37 + k * 101) % notes
        note_path(folder, n).write_text(note_text(n, r), encoding="utf-8")
    if signal is not None:
        await asyncio.wait_for(signal.wait(), 10)
    await asyncio.sleep(0.3)  # the rest of the burst (the watcher groups events 0.1 s)
    if signal is not None:
        signal.clear()
    seconds, changed = await one_round(store, bridge)
    assert changed == 10, changed
    return seconds * 1000


async def rounds_on(
    store: SqlSyncStore, folder: Path, notes: int, rounds: int
) -> dict[str, object]:
    bridge = ObsidianBridge(folder.parent, "calendar")  # one bridge, as in a running server
    signal = asyncio.Event()
    await bridge.watch(signal.set)  # and its file watcher, started before the first round
    initial, applied = await one_round(store, bridge)
    assert applied == notes, f"imported {applied} of {notes}"
    watched = [
        await edited_round(store, bridge, folder, notes, r, signal) for r in range(1, rounds + 1)
    ]
    watched_full = sum(FULL_LISTINGS[-rounds:])
    await bridge.aclose()  # the watcher stops: from now on every listing stats every note
    unwatched = [
        await edited_round(store, bridge, folder, notes, r, None)
        for r in range(rounds + 1, 2 * rounds + 1)
    ]
    assert all(FULL_LISTINGS[-rounds:])
    return {
        "import_s": initial, "watched_ms": watched, "watched_full": watched_full,
        "unwatched_ms": unwatched,
    }  # fmt: skip


def engine_rounds(config: Path, folder: Path, notes: int, rounds: int) -> dict[str, object]:
    settings = load_settings(config)
    migrate_database(settings.storage.url)
    _provision(settings)
    engine = create_storage_engine(settings.storage.url)
    transactions = Transactions(engine)
    store = SqlSyncStore(transactions, find_source_collection(transactions, "notes"))
    result = asyncio.run(rounds_on(store, folder, notes, rounds))
    engine.dispose()
    return result


def latency(config: Path, folder: Path, notes: int, edits: int) -> list[float]:
    """Edit notes under a running server and time until CalDAV serves the new title."""
    server, url = start_server(config)
    try:
        seconds = []
        with httpx.Client(auth=("alice", PASSWORD), timeout=10) as client:
            for e in range(edits):
                n = (e * 53) % notes
                href = f"{url}/alice/notes/bench-{n:05d}@kalends.ics"
                marker = f"(edit {1000 + e})"
                started = time.perf_counter()
                note_path(folder, n).write_text(note_text(n, 1000 + e), encoding="utf-8")
                while marker not in client.get(href).text:
                    if time.perf_counter() - started > 30:
                        raise RuntimeError(f"edit {e} never became visible")
                    time.sleep(0.005)
                seconds.append(time.perf_counter() - started)
                time.sleep(0.2)
        return seconds
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7, help="incremental rounds of 10 edits")
    parser.add_argument("--edits", type=int, default=40, help="edits timed for latency")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="kalends-sync-bench-"))
    folder = directory / "vault" / "calendar"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(args.notes):
        note_path(folder, n).write_text(note_text(n), encoding="utf-8")
    config = write_config(directory, directory / "vault")
    result = engine_rounds(config, folder, args.notes, args.rounds)
    lat = latency(config, folder, args.notes, args.edits)
    watched, unwatched = result["watched_ms"], result["unwatched_ms"]
    assert isinstance(watched, list) and isinstance(unwatched, list)
    print(f"notes: {args.notes}")
    print(f"initial import: {result['import_s']:.1f} s (target <= 20 s)")
    print(f"incremental round, 10 changed notes, file watcher on (as kalends serve runs): "
          f"median {statistics.median(watched):.0f} ms, p95 {percentile(watched, 0.95):.0f} ms "
          f"over {len(watched)} rounds, {result['watched_full']} of them full listings "
          f"(target <= 200 ms)")  # fmt: skip
    print(f"incremental round, 10 changed notes, no watcher (every note statted, as a server "
          f"without file notifications): median {statistics.median(unwatched):.0f} ms, "
          f"p95 {percentile(unwatched, 0.95):.0f} ms over {len(unwatched)} rounds")  # fmt: skip
    p50, p95 = (percentile(lat, share) * 1000 for share in (0.5, 0.95))
    print(f"note edit -> CalDAV: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {len(lat)} edits "
          "(target p95 <= 1 s)")  # fmt: skip


if __name__ == "__main__":
    main()
