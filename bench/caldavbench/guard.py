"""The correctness guard: Kalends against stock Radicale and both against the generator's
own expansion."""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .data import month_windows, week_windows
from .dav import (
    DEPTH1,
    Dav,
    calendar_query_body,
    freebusy_body,
    freebusy_periods_of,
    response_hrefs,
)
from .model import EventSpec, Window, expected_hrefs
from .servers import CALENDAR, GUARD_CALENDAR, UNIFIED_CALENDAR


def query_hrefs(dav: Dav, calendar: str, window: Window) -> set[str]:
    response, _ = dav.request(
        "REPORT", calendar, calendar_query_body(window, with_data=False), DEPTH1, (207,)
    )
    return set(response_hrefs(response))


def freebusy_of(dav: Dav, calendar: str, window: Window) -> set[str]:
    response, _ = dav.request("REPORT", calendar, freebusy_body(window), DEPTH1, (200,))
    return freebusy_periods_of(response.text)


@dataclass
class Guard:
    """Checks that the servers give the same (and the expected) answers."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def compare(self, what: str, window: Window, left: set[str], right: set[str]) -> bool:
        if left == right:
            return True
        only_left, only_right = sorted(left - right)[:5], sorted(right - left)[:5]
        self.failures.append(
            f"{what} differ on {window.label()}: only first {only_left}, only second {only_right}"
        )
        return False


def run_guard(
    kalends: Dav,
    radicale: Dav | None,
    specs: Sequence[EventSpec],
    shared: Sequence[EventSpec],
    args: argparse.Namespace,
    unified: Dav | None = None,
    unified_hrefs: set[str] | None = None,
) -> Guard:
    """Kalends vs stock Radicale on the shared set, and both vs the generator's own expansion
    (and the unified calendar, when measured, vs the same expansion)."""
    guard = Guard()
    rng = random.Random(f"{args.seed}:guard")
    windows = week_windows(args.years, rng, 6) + month_windows(args.years, rng, 2)
    for window in windows:
        row: dict[str, Any] = {"window": window.label()}
        model = expected_hrefs(specs, window.start_ts, window.end_ts)
        full = query_hrefs(kalends, CALENDAR, window)
        row.update(
            model_n=len(model),
            kalends_n=len(full),
            kalends_n_ok=guard.compare("Kalends (N) and the model", window, full, model),
        )
        if unified is not None:
            union = query_hrefs(unified, UNIFIED_CALENDAR, window)
            seen = model if unified_hrefs is None else model & unified_hrefs
            ok = guard.compare("the unified calendar and the model", window, union, seen)
            row.update(unified_n=len(union), unified_n_ok=ok)
        if radicale is not None:
            row.update(_shared_row(guard, kalends, radicale, shared, window))
        guard.rows.append(row)
    if radicale is not None:
        window = windows[-1]
        left = freebusy_of(kalends, GUARD_CALENDAR, window)
        right = freebusy_of(radicale, CALENDAR, window)
        guard.rows.append(
            {
                "window": window.label() + " free-busy",
                "kalends_m": len(left),
                "radicale_m": len(right),
                "same": guard.compare("free-busy periods", window, left, right),
            }
        )
    return guard


def _shared_row(
    guard: Guard, kalends: Dav, radicale: Dav, shared: Sequence[EventSpec], window: Window
) -> dict[str, Any]:
    model = expected_hrefs(shared, window.start_ts, window.end_ts)
    ours = query_hrefs(kalends, GUARD_CALENDAR, window)
    stock = query_hrefs(radicale, CALENDAR, window)
    same = guard.compare("Kalends and Radicale (M)", window, ours, stock)
    guard.compare("Radicale (M) and the model", window, stock, model)
    return {"model_m": len(model), "kalends_m": len(ours), "radicale_m": len(stock), "same": same}


# -------------------------------------------------------------------------------------------------
