"""What the benchmark scripts share: percentiles and a ``kalends serve`` child process."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from kalends.config import load_settings
from kalends.security.passwords import hash_password
from kalends.storage.base import Transactions
from kalends.storage.engine import create_storage_engine
from kalends.sync.commands import _provision
from kalends.sync.executor import Round
from kalends.sync.sources import open_shared, open_source

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench"


def write_config(directory: Path, source: str, source_lines: str) -> Path:
    """An admin file with user alice and one source (``source_lines``: its TOML keys)."""
    config = directory / "kalends.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = 0\ndata_dir = "{directory.as_posix()}/data"\n\n'
        f"[auth]\nfailure_delay = 0.0\n\n[users.alice]\n"
        f'password_hash = "{hash_password(PASSWORD)}"\n'
        f'calendars = []\ndefault_target = "{source}"\n\n[sources.{source}]\n{source_lines}',
        encoding="utf-8",
    )
    return config


def initial_sync(config: Path, source: str, events: int) -> float:
    """Seconds one round takes to bring every event of ``source`` into an empty database."""
    settings = load_settings(config)
    _provision(settings)
    engine = create_storage_engine(settings.storage.url)
    transactions = Transactions(engine)
    parts = open_source(settings, source, transactions, open_shared(settings, engine))

    async def one() -> tuple[float, int]:
        started = time.perf_counter()
        report = await Round(parts.bridge, parts.store, parts.policy).run()
        assert report.error is None and not report.failed, (report.error, report.failed[:3])
        seconds = time.perf_counter() - started
        await parts.bridge.aclose()
        return seconds, len(report.actions)

    seconds, applied = asyncio.run(one())
    assert applied == events, f"synced {applied} of {events}"
    engine.dispose()
    return seconds


def until(condition: Callable[[], object], what: str, limit: float = 30.0) -> float:
    """Seconds until ``condition`` holds, polled every 5 ms."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"never: {what}")
        time.sleep(0.005)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def start_server(config: Path) -> tuple[subprocess.Popen[str], str]:
    """``kalends serve`` with this config, and its address from the "listening on" log line;
    the rest of its log is drained in the background."""
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/kalends"), "serve", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    for line in server.stdout:
        if "listening on " in line:
            url = line.rsplit("listening on ", 1)[1].strip()
            threading.Thread(
                target=lambda: [None for _ in server.stdout or ()], daemon=True
            ).start()
            return server, url
    raise RuntimeError("server did not start")


@dataclass(frozen=True)
class Provider:
    """How a latency run edits one provider's event and sees a CalDAV edit arrive there."""

    name: str
    href: Callable[[int], str]  # edit number -> the event's CalDAV path under the server
    rename: Callable[[int, str], None]  # edit number, new title -> edit it at the provider
    title: Callable[[int], str]  # edit number -> the event's title at the provider now


def edit_both_ways(config: Path, ready: Callable[[], object], provider: Provider,
                   edits: int) -> tuple[list[float], list[float]]:  # fmt: skip
    """On a running ``kalends serve``: seconds from a provider edit to CalDAV serving it, and
    from a CalDAV edit to the provider holding it, ``edits`` times each."""
    server, url = start_server(config)
    try:
        until(ready, "push notifications set up")
        with httpx.Client(auth=("alice", PASSWORD), timeout=10) as client:
            timed = [_edit_both_ways_once(client, url, provider, e) for e in range(edits)]
        return [inbound for inbound, _ in timed], [outbound for _, outbound in timed]
    finally:
        server.terminate()
        server.wait(30)


def _edit_both_ways_once(
    client: httpx.Client, url: str, provider: Provider, e: int
) -> tuple[float, float]:
    href, marker, ours = url + provider.href(e), f"({provider.name} edit {e})", f"(caldav edit {e})"
    started = time.perf_counter()
    provider.rename(e, f"Event {marker}")
    until(lambda: marker in client.get(href).text, f"{provider.name} -> CalDAV")
    inbound = time.perf_counter() - started
    time.sleep(0.1)
    text = client.get(href).text.replace(marker, ours)
    started = time.perf_counter()
    client.put(href, content=text, headers={"Content-Type": "text/calendar"})
    until(lambda: ours in provider.title(e), f"CalDAV -> {provider.name}")
    outbound = time.perf_counter() - started
    time.sleep(0.1)
    return inbound, outbound
