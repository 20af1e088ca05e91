"""The command line and the run: generate, load, check, measure, report."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .data import calibration, generate
from .dav import Dav
from .guard import Guard, run_guard
from .measure import load, measure, progress
from .model import EventSpec
from .report import evaluate_targets, markdown, write_results
from .servers import (
    CALENDAR,
    GUARD_CALENDAR,
    SOURCE_CALENDARS,
    UNIFIED_CALENDAR,
    UNIFIED_USER,
    ServerProcess,
    kalends_server,
    radicale_server,
    source_environment,
)
from .unified import UnifiedView, unified_view

RESULTS_DIR = Path(__file__).parent.parent / "results"  # bench/results


def parse_args(argv: Sequence[str] | None, doc: str | None = None) -> argparse.Namespace:
    """The options; the description is the first paragraph of ``doc`` (the script's docstring)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    parser.add_argument("--events", type=int, default=10_000, help="events for Kalends (N)")
    parser.add_argument("--years", type=float, default=2.0, help="years the events span")
    parser.add_argument(
        "--radicale-events",
        type=int,
        default=1_000,
        help="events loaded in stock Radicale, also the shared guard set (M)",
    )
    parser.add_argument("--skip-radicale", action="store_true", help="measure Kalends only")
    parser.add_argument(
        "--unified",
        action="store_true",
        help="also measure a unified calendar over two sources holding the N events between "
        "them, side by side with the plain calendar of N",
    )
    parser.add_argument("--repeat", type=int, default=30, help="calls per fast operation")
    parser.add_argument("--slow-repeat", type=int, default=10, help="calls per slow operation")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument(
        "--accept-encoding",
        default="gzip, deflate",
        help="Accept-Encoding of every request (as CalDAV clients send it); "
        "'identity' measures without response compression",
    )
    parser.add_argument("--workdir", type=Path, help="keep the servers' data here (new directory)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--kalends-source",
        type=Path,
        help="directory holding the kalends package to serve (e.g. an exported "
        "commit); default: the installed one",
    )
    parser.add_argument(
        "--calibrate", action="store_true", help="print the generated data's density and exit"
    )
    args = parser.parse_args(argv)
    if args.repeat < 2 or args.slow_repeat < 2:
        parser.error("--repeat and --slow-repeat need at least 2 (one cold call, warm calls)")
    return args


@contextmanager
def workspace(path: Path | None) -> Iterator[Path]:
    if path is None:
        with tempfile.TemporaryDirectory(prefix="caldav-bench-") as directory:
            yield Path(directory)
        return
    if path.exists() and any(path.iterdir()):
        raise SystemExit(f"--workdir {path} is not empty")
    path.mkdir(parents=True, exist_ok=True)
    yield path.resolve()


def meta(kalends_source: Path | None) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "radicale": version("radicale"),
        "kalends": version("kalends"),
        "httpx": version("httpx"),
        "kalends_source": kalends_location(kalends_source),
        "load_average_end": os.getloadavg(),
    }


def kalends_location(source: Path | None) -> dict[str, Any]:
    """Where the served kalends package comes from, and its git state when it has one."""
    probe = subprocess.run(
        [sys.executable, "-c", "import kalends, os; print(os.path.dirname(kalends.__file__))"],
        capture_output=True,
        text=True,
        check=False,
        env=source_environment(source),
        cwd=tempfile.gettempdir(),
    )
    package = Path(probe.stdout.strip() or ".")

    def git(*words: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(package), *words], capture_output=True, text=True, check=False
            )
        except OSError:
            return ""
        return done.stdout if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", ".").splitlines()
    return {
        "package": str(package),
        "git_commit": git("rev-parse", "--short", "HEAD").strip(),
        "uncommitted_changes": changed,
    }


@dataclass
class Run:
    """Everything one benchmark run produces."""

    args: argparse.Namespace
    specs: list[EventSpec]
    shared: list[EventSpec]
    load: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    guard: Guard = field(default_factory=Guard)
    unified: UnifiedView | None = None  # --unified: what the unified calendar shows


def load_unified(run: Run, dav: Dav) -> None:
    """Every other event in each source: the unified calendar shows all N."""
    for index, path in enumerate(SOURCE_CALENDARS):
        name = path.split("/")[2]
        run.load[f"unified_{name}"] = load(dav, path, run.specs[index::2], f"kalends {name}")


def load_servers(run: Run, kalends: ServerProcess, radicale: ServerProcess | None) -> None:
    kalends.start()
    ours = Dav(kalends, run.args.accept_encoding)
    unified = Dav(kalends, run.args.accept_encoding, UNIFIED_USER) if run.args.unified else None
    stock: Dav | None = None
    try:
        run.load["kalends"] = load(ours, CALENDAR, run.specs, "kalends")
        if unified is not None:
            load_unified(run, unified)
        run.memory["kalends, after load"] = kalends.memory()
        if radicale is not None:
            run.load["kalends_guard"] = load(ours, GUARD_CALENDAR, run.shared, "kalends guard")
            radicale.start()
            stock = Dav(radicale, run.args.accept_encoding)
            stock.request("MKCALENDAR", CALENDAR, expect=(201,))
            run.load["radicale"] = load(stock, CALENDAR, run.shared, "radicale")
            run.memory["radicale, after load"] = radicale.memory()
        progress("correctness guard")
        seen = run.unified.hrefs() if run.unified is not None else None
        run.guard = run_guard(ours, stock, run.specs, run.shared, run.args, unified, seen)
    finally:
        for dav in (ours, stock, unified):
            if dav is not None:
                dav.close()


def measure_servers(run: Run, kalends: ServerProcess, radicale: ServerProcess | None) -> None:
    run.sessions["kalends"] = measure(kalends, CALENDAR, run.specs, run.args, "kalends")
    run.memory["kalends, end"] = run.sessions["kalends"]["memory_end_mb"]
    if run.unified is not None:
        view = run.unified
        run.sessions["kalends_unified"] = measure(
            kalends,
            UNIFIED_CALENDAR,
            view.visible,
            run.args,
            "kalends unified",
            UNIFIED_USER,
            view.changeable,
            view.new_event_filter(),
        )
        run.memory["kalends (unified), end"] = run.sessions["kalends_unified"]["memory_end_mb"]
    if radicale is None:
        return
    if len(run.shared) < len(run.specs):
        run.sessions["kalends_m"] = measure(
            kalends, GUARD_CALENDAR, run.shared, run.args, "kalends_m"
        )
        run.memory["kalends (guard calendar), end"] = run.sessions["kalends_m"]["memory_end_mb"]
    run.sessions["radicale"] = measure(radicale, CALENDAR, run.shared, run.args, "radicale")
    run.memory["radicale, end"] = run.sessions["radicale"]["memory_end_mb"]


def execute(run: Run, directory: Path) -> None:
    kalends = kalends_server(directory / "kalends", run.args.kalends_source, run.args.unified)
    radicale = None if run.args.skip_radicale else radicale_server(directory / "radicale")
    try:
        load_servers(run, kalends, radicale)
        measure_servers(run, kalends, radicale)
    finally:
        kalends.stop()
        if radicale is not None:
            radicale.stop()


def collect(run: Run, calib: dict[str, float]) -> dict[str, Any]:
    args = run.args
    failures = list(run.guard.failures)
    for key, session in run.sessions.items():
        failures += [f"{key}: {failure}" for failure in session["failures"]]
    kalends_hwm = [v.get("VmHWM", 0.0) for k, v in run.memory.items() if k.startswith("kalends")]
    results: dict[str, Any] = {
        "meta": meta(args.kalends_source),
        "config": {
            "events": args.events,
            "years": args.years,
            "radicale_events": len(run.shared),
            "skip_radicale": args.skip_radicale,
            "unified": args.unified,
            "unified_visible": None if run.unified is None else len(run.unified.visible),
            "repeat": args.repeat,
            "slow_repeat": args.slow_repeat,
            "seed": args.seed,
            "accept_encoding": args.accept_encoding,
        },
        "calibration": calib,
        "load": run.load,
        "sessions": run.sessions,
        "memory": {"processes": run.memory, "kalends_peak_hwm_mb": max(kalends_hwm)},
        "guard": {"rows": run.guard.rows, "failures": run.guard.failures},
        "failures": failures,
    }
    results["targets"] = evaluate_targets(results, args.events, args.years)
    return results


def main(argv: Sequence[str] | None = None, doc: str | None = None) -> int:
    """Run the benchmark; the exit status is 1 when a correctness check failed."""
    args = parse_args(argv, doc)
    # stop the servers on SIGTERM too (the finally blocks run on SystemExit)
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    specs = generate(args.events, args.years, args.seed)
    calib = calibration(specs, args.years, args.seed)
    if args.calibrate:
        print(json.dumps(calib, indent=1))
        return 0
    shared = [] if args.skip_radicale else specs[: min(args.radicale_events, args.events)]
    run = Run(args, specs, shared)
    if args.unified:
        progress("fingerprints of the events (what the unified calendar collapses)")
        run.unified = unified_view(specs)
    begin, load_average = time.monotonic(), os.getloadavg()
    with workspace(args.workdir) as directory:
        execute(run, directory)
    results = collect(run, calib)
    results["meta"]["run_s"] = round(time.monotonic() - begin, 1)
    results["meta"]["load_average_start"] = load_average
    path = write_results(results, args.results_dir)
    print(markdown(results))
    root = Path(__file__).resolve().parents[2]
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    print(f"Raw results: {shown}")
    if results["failures"]:
        banner = "!" * 78
        print(
            f"\n{banner}\nCORRECTNESS FAILURE: the servers do not give the same answers\n"
            + "\n".join(results["failures"])
            + f"\n{banner}",
            file=sys.stderr,
        )
        return 1
    return 0
