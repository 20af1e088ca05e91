"""The targets, the markdown report and the raw JSON results."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .operations import LABELS, OPERATIONS

# (what, limit, unit): an operation's warm p50 in ms, "load" in s, "rss" (peak VmHWM) in MB
TARGETS: dict[tuple[int, int], tuple[tuple[str, float, str], ...]] = {
    (10_000, 2): (
        ("week_query", 25, "ms"),
        ("month_query", 60, "ms"),
        ("put_new", 10, "ms"),
        ("delete", 10, "ms"),
        ("sync_delta", 10, "ms"),
        ("sync_initial", 1000, "ms"),
        ("multiget_100", 15, "ms"),
        ("freebusy_month", 150, "ms"),
        ("propfind_depth1", 400, "ms"),
        ("get_collection", 500, "ms"),
        ("load", 60, "s"),
    ),
    (100_000, 20): (("week_query", 30, "ms"), ("put_new", 12, "ms"), ("rss", 300, "MB")),
}


def evaluate_targets(results: dict[str, Any], events: int, years: float) -> dict[str, Any]:
    """Pass/fail of Kalends against the profile nearest to this run (binding only on it)."""
    profile = (100_000, 20) if events >= 50_000 else (10_000, 2)
    binding = (events, years) == profile
    kalends = results["sessions"]["kalends"]
    rows = []
    for what, limit, unit in TARGETS[profile]:
        if what == "load":
            measured = results["load"]["kalends"]["wall_s"]
        elif what == "rss":
            measured = results["memory"]["kalends_peak_hwm_mb"]
        else:
            measured = kalends["operations"][what]["p50_ms"]
        rows.append(
            {
                "target": what,
                "limit": limit,
                "unit": unit,
                "measured": measured,
                "pass": measured <= limit,
            }
        )
    return {
        "profile_events": profile[0],
        "profile_years": profile[1],
        "binding": binding,
        "rows": rows,
    }


# -------------------------------------------------------------------------------------------------
# Markdown report
# -------------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _op_cells(session: dict[str, Any] | None, name: str) -> list[str]:
    if session is None:
        return ["-", "-", "-"]
    op = session["operations"][name]
    return [_ms(op["p50_ms"]), _ms(op["p95_ms"]), _ms(op["cold_ms"])]


def _ratio(stock: dict[str, Any] | None, ours: dict[str, Any] | None, name: str) -> str:
    if stock is None or ours is None:
        return "-"
    ratio = stock["operations"][name]["p50_ms"] / max(ours["operations"][name]["p50_ms"], 1e-6)
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def _sizes(session: dict[str, Any] | None, name: str) -> str:
    if session is None:
        return "-"
    sizes = session["operations"][name].get("result_sizes") or []
    return f"{statistics.mean(sizes):.0f}" if sizes else ""


def operations_table(results: dict[str, Any]) -> list[str]:
    sessions = results["sessions"]
    n, m = results["config"]["events"], results["config"]["radicale_events"]
    ours, ours_m, stock = (sessions.get(k) for k in ("kalends", "kalends_m", "radicale"))
    reference = ours_m or (ours if m == n else None)
    if stock is None:
        header = ["operation", f"Kalends N={n} p50", "p95", "cold", "results"]
        names = ("first_request", *(op[0] for op in OPERATIONS))
        return _table(header, ([LABELS[k], *_op_cells(ours, k), _sizes(ours, k)] for k in names))
    header = [
        "operation",
        f"Kalends N={n} p50",
        "p95",
        "cold",
        "results",
        f"Kalends N={m} p50",
        "p95",
        "cold",
        f"Radicale N={m} p50",
        "p95",
        "cold",
        "results",
        f"Radicale/Kalends at N={m} (p50)",
    ]
    rows = []
    for name in ("first_request", *(op[0] for op in OPERATIONS)):
        ours_m_cells = _op_cells(ours_m, name) if ours_m is not None else ["(same)"] * 3
        rows.append(
            [
                LABELS[name],
                *_op_cells(ours, name),
                _sizes(ours, name),
                *ours_m_cells,
                *_op_cells(stock, name),
                _sizes(stock, name),
                _ratio(stock, reference, name),
            ]
        )
    return _table(header, rows)


def unified_table(results: dict[str, Any]) -> list[str]:
    """The unified calendar (two sources, N events between them) next to the plain one of N."""
    plain, unified = results["sessions"]["kalends"], results["sessions"]["kalends_unified"]
    n, shown = results["config"]["events"], results["config"].get("unified_visible")
    header = [
        "operation",
        f"plain N={n} p50",
        f"unified N={n} (shows {shown}) p50",
        "p95",
        "cold",
        "results",
        "unified/plain (p50)",
    ]
    rows = []
    for name in ("first_request", *(op[0] for op in OPERATIONS)):
        ratio = unified["operations"][name]["p50_ms"] / max(
            plain["operations"][name]["p50_ms"], 1e-6
        )
        rows.append(
            [
                LABELS[name],
                _op_cells(plain, name)[0],
                *_op_cells(unified, name),
                _sizes(unified, name),
                f"{ratio:.2f}x",
            ]
        )
    return _table(header, rows)


def load_table(results: dict[str, Any]) -> list[str]:
    rows = []
    for key, run in results["load"].items():
        deciles = run["decile_p50_ms"]
        rows.append(
            [
                key,
                run["events"],
                f"{run['wall_s']:.1f}",
                f"{run['events_per_s']:.0f}",
                _ms(run["put_p50_ms"]),
                _ms(run["put_p95_ms"]),
                _ms(deciles[0]),
                _ms(deciles[-1]),
            ]
        )
    header = [
        "calendar",
        "events",
        "total s",
        "events/s",
        "PUT p50 ms",
        "PUT p95 ms",
        "first 10% p50 ms",
        "last 10% p50 ms",
    ]
    return _table(header, rows)


def memory_table(results: dict[str, Any]) -> list[str]:
    rows = []
    for key, values in results["memory"]["processes"].items():
        rows.append([key, *(f"{values.get(k, 0):.0f}" for k in ("VmRSS", "VmHWM"))])
    return _table(["process, moment", "VmRSS MB", "VmHWM MB (peak)"], rows)


def targets_table(targets: dict[str, Any]) -> list[str]:
    binding = targets["binding"]
    rows = []
    for row in targets["rows"]:
        verdict = "PASS" if row["pass"] else "FAIL"
        rows.append(
            [
                LABELS.get(row["target"], row["target"]),
                f"<= {row['limit']} {row['unit']}",
                _ms(row["measured"]) + " " + row["unit"],
                verdict if binding else f"({verdict.lower()}, indicative)",
            ]
        )
    return _table(["target (Kalends, warm p50)", "limit", "measured", "result"], rows)


def guard_table(results: dict[str, Any]) -> list[str]:
    rows = results["guard"]["rows"]
    keys = [
        "window",
        "model_n",
        "kalends_n",
        "kalends_n_ok",
        *(["unified_n", "unified_n_ok"] if any("unified_n" in row for row in rows) else []),
        "model_m",
        "kalends_m",
        "radicale_m",
        "same",
    ]
    return _table(keys, ([row.get(k, "") for k in keys] for row in rows))


ROOT = Path(__file__).resolve().parents[2]


def _source_line(source: dict[str, Any]) -> str:
    commit = f", git {source['git_commit']}" if source["git_commit"] else ""
    changes = source["uncommitted_changes"]
    dirty = f", {len(changes)} uncommitted changes" if changes else ""
    package = Path(source["package"])
    shown = package.name if package.parent == ROOT else str(package)  # no machine paths
    return f"Kalends package: `{shown}`{commit}{dirty}."


def _machine_line(meta: dict[str, Any]) -> str:
    start = ", ".join(f"{v:.1f}" for v in meta["load_average_start"])
    end = ", ".join(f"{v:.1f}" for v in meta["load_average_end"])
    return (
        f"Machine: {meta['cpus']} CPUs, Python {meta['python']}; load average {start} at the "
        f"start, {end} at the end (client and servers share the machine); run "
        f"{meta['run_s']:.0f} s."
    )


def _intro(config: dict[str, Any], calib: dict[str, float]) -> str:
    stock = (
        "stock Radicale not measured (--skip-radicale)"
        if config["skip_radicale"]
        else f"M={config['radicale_events']} (stock Radicale and the shared guard calendar)"
    )
    return (
        f"N={config['events']} events over {config['years']} years (Kalends), {stock}; "
        f"seed {config['seed']}; repeats {config['repeat']} (slow ops {config['slow_repeat']}); "
        f"Accept-Encoding: {config['accept_encoding']}. "
        f"Data: {calib['recurring_share']:.0%} recurring, {calib['all_day_share']:.0%} all-day, "
        f"{calib['mean_resource_bytes']:.0f} bytes per resource; a week window holds "
        f"{calib['events_per_week_window']:.0f} events, a month "
        f"{calib['events_per_month_window']:.0f} (at N)."
    )


def markdown(results: dict[str, Any]) -> str:
    config, calib = results["config"], results["calibration"]
    lines = [
        f"## CalDAV benchmark: Kalends (SQLite) vs stock Radicale {results['meta']['radicale']}",
        "",
        _intro(config, calib),
        "",
        _source_line(results["meta"]["kalends_source"]) + " " + _machine_line(results["meta"]),
        "",
        "### Load (sequential PUT, one connection)",
        "",
        *load_table(results),
        "",
        "### Operations (ms; p50/p95 over the warm calls; cold = first call after a restart)",
        "",
        *operations_table(results),
        "",
        *(
            [
                "### Unified calendar over two sources holding the N events, vs a plain calendar",
                "",
                *unified_table(results),
                "",
            ]
            if "kalends_unified" in results["sessions"]
            else []
        ),
        "### Server memory",
        "",
        *memory_table(results),
        "",
    ]
    if results.get("targets"):
        targets = results["targets"]
        title = (
            f"### Targets at N={targets['profile_events']} over {targets['profile_years']} years"
        )
        if not targets["binding"]:
            title += " (this run has another size: indicative only)"
        lines += [title, "", *targets_table(targets), ""]
    lines += ["### Correctness guard (sets of hrefs answered)", "", *guard_table(results), ""]
    failures = results["failures"]
    lines += (
        ["**CORRECTNESS: FAILED**", *(f"- {f}" for f in failures)]
        if failures
        else ["Correctness guard: all answers agree."]
    )
    return "\n".join(lines) + "\n"


def write_results(results: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (time.strftime("%Y%m%dT%H%M%S") + ".json")
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return path
