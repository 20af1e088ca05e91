"""Loading a calendar and measuring every operation after a restart; the statistics."""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from .data import event_stream
from .dav import Dav
from .ics import render
from .model import EventSpec
from .operations import OPERATIONS, Session
from .servers import USER, ServerProcess

MS = 1000.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """Milliseconds: the first sample is the cold one, the rest are warm."""
    ms = [round(value * MS, 3) for value in samples]
    warm = ms[1:] or ms
    return {
        "samples_ms": ms,
        "cold_ms": ms[0],
        "p50_ms": round(statistics.median(warm), 3),
        "p95_ms": round(percentile(warm, 0.95), 3),
        "warm_count": len(warm),
    }


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load(dav: Dav, calendar: str, specs: Sequence[EventSpec], label: str) -> dict[str, Any]:
    """PUT every event, one at a time, and keep every latency."""
    latencies: list[float] = []
    step = max(1, len(specs) // 10)
    begin = time.perf_counter()
    for number, spec in enumerate(specs, 1):
        latencies.append(dav.put(calendar + spec.href, render(spec), create=True))
        if number % step == 0:
            progress(
                f"{label}: loaded {number}/{len(specs)} "
                f"({number / (time.perf_counter() - begin):.0f} events/s)"
            )
    wall = time.perf_counter() - begin
    tenth = max(1, len(latencies) // 10)
    deciles = [latencies[i : i + tenth] for i in range(0, len(latencies), tenth)][:10]
    return {
        "events": len(specs),
        "wall_s": round(wall, 3),
        "events_per_s": round(len(specs) / wall, 1),
        "put_p50_ms": round(statistics.median(latencies) * MS, 3),
        "put_p95_ms": round(percentile(latencies, 0.95) * MS, 3),
        "decile_p50_ms": [round(statistics.median(d) * MS, 3) for d in deciles],
    }


def measure(
    server: ServerProcess,
    calendar: str,
    specs: Sequence[EventSpec],
    args: argparse.Namespace,
    label: str,
    user: str = USER,
    changeable: Sequence[str] = (),
    new_event_filter: Callable[[EventSpec], bool] | None = None,
) -> dict[str, Any]:
    """Restart the server, then run every operation; the first call of each is the cold one.

    ``changeable``: the events sync_delta may edit (default: all); ``new_event_filter``: which
    generated new events put_new may create (default: all)."""
    server.restart()
    dav = Dav(server, args.accept_encoding, user)
    new_events = event_stream(args.years, args.seed, prefix="new")
    if new_event_filter is not None:
        new_events = filter(new_event_filter, new_events)
    session = Session(dav, calendar, {s.href: s for s in specs}, args.years, new_events)
    session.changeable = list(changeable)
    results: dict[str, Any] = {}
    try:
        results["first_request"] = summarize([dav.request("OPTIONS", "/")[1]])
        for name, operation, slow in OPERATIONS:
            session.rng = random.Random(f"{args.seed}:{name}")
            count = args.slow_repeat if slow else args.repeat
            results[name] = summarize([operation(session) for _ in range(count)])
            results[name]["result_sizes"] = session.sizes.get(name, [])
            progress(
                f"{label}: {name}: p50 {results[name]['p50_ms']:.1f} ms, "
                f"cold {results[name]['cold_ms']:.1f} ms"
            )
        memory = server.memory()
    finally:
        dav.close()
    return {"operations": results, "memory_end_mb": memory, "failures": session.failures}
