"""What the benchmark scripts share: percentiles and a ``kalends serve`` child process."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
