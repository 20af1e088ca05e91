"""The Kalends and stock Radicale server processes (configuration, start, stop, memory)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

USER = "bench"
PASSWORD = "bench-password"
CALENDAR = "/bench/bench/"
GUARD_CALENDAR = "/bench/guard/"
# --unified: a user of their own (a user's plain calendars are members of their unified view)
# with two sources holding the N events between them, and the unified calendar over them
UNIFIED_USER = "bench-u"
SOURCE_CALENDARS = ("/bench-u/src-a/", "/bench-u/src-b/")
UNIFIED_CALENDAR = "/bench-u/all/"


class BenchError(RuntimeError):
    """A server misbehaved (unexpected status, early exit): the run cannot go on."""


class ServerProcess:
    """A server started with ``command``; its address is read from its log (``ready``)."""

    def __init__(
        self,
        name: str,
        command: Callable[[], list[str]],
        ready: str,
        cwd: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = command  # called before each start (a fresh port for Radicale)
        self.ready = re.compile(ready)
        self.cwd = cwd  # not the repository: "python -m" puts the working directory first
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.log: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.cwd,
            env=self.env,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._remember(line)
            found = self.ready.search(line)
            if found:
                self.url = "http://" + found.group(1)
                threading.Thread(target=self._drain, daemon=True).start()
                return
        raise BenchError(f"{self.name} exited early:\n{self.tail()}")

    def _remember(self, line: str) -> None:
        self.log.append(line)
        if len(self.log) > 400:
            del self.log[:200]

    def _drain(self) -> None:
        process = self.process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            self._remember(line)

    def tail(self, lines: int = 30) -> str:
        return "".join(self.log[-lines:])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM (peak) of the server process, in MB."""
        values: dict[str, float] = {}
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) / 1024
        return values


def source_environment(source: Path | None) -> dict[str, str] | None:
    """The environment that makes ``python -m kalends`` import the package under ``source``."""
    if source is None:
        return None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


def _unified_config(password_hash: str) -> list[str]:
    """The --unified user: two Obsidian sources whose vaults do not exist, so no sync engine
    touches them (they are plain calendars here), and the unified calendar over them."""
    lines = [
        "",
        f"[users.{UNIFIED_USER}]",
        f'password_hash = "{password_hash}"',
        f'unified = "{UNIFIED_CALENDAR.split("/")[2]}"',
        f'default_target = "{SOURCE_CALENDARS[0].split("/")[2]}"',
    ]
    for priority, path in zip((2, 1), SOURCE_CALENDARS, strict=True):
        name = path.split("/")[2]
        lines += ["", f"[sources.{name}]", 'type = "obsidian"', f'user = "{UNIFIED_USER}"']
        lines += [f"priority = {priority}", f'path = "no-vault-{name}"']
    return lines


def kalends_server(directory: Path, source: Path | None, unified: bool = False) -> ServerProcess:
    from kalends.security.passwords import hash_password

    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "kalends.toml"
    password_hash = hash_password(PASSWORD)
    lines = [
        "[server]",
        'host = "127.0.0.1"',
        "port = 0",
        f'data_dir = "{directory / "data"}"',
        "",
        "[auth]",
        "failure_delay = 0.0",
        "",
        f"[users.{USER}]",
        f'password_hash = "{password_hash}"',
        f'calendars = ["{CALENDAR.split("/")[2]}", "{GUARD_CALENDAR.split("/")[2]}"]',
    ]
    if unified:
        lines += _unified_config(password_hash)
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "kalends", "serve", "--config", str(config)]
    env = source_environment(source)
    return ServerProcess("kalends", lambda: command, r"listening on http://(\S+)", directory, env)


def free_port() -> int:
    """A port nothing listens on now (Radicale's configuration does not accept port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def radicale_server(directory: Path) -> ServerProcess:
    directory.mkdir(parents=True, exist_ok=True)
    users = directory / "users"
    users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    config = directory / "radicale.conf"

    def command() -> list[str]:
        config.write_text(
            "\n".join(
                [
                    "[server]",
                    f"hosts = 127.0.0.1:{free_port()}",
                    "",
                    "[auth]",
                    "type = htpasswd",
                    f"htpasswd_filename = {users}",
                    "htpasswd_encryption = plain",
                    "",
                    "[rights]",
                    "type = owner_only",
                    "",
                    "[storage]",
                    f"filesystem_folder = {directory / 'collections'}",
                    "",
                    "[web]",
                    "type = none",
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        return [sys.executable, "-m", "radicale", "--config", str(config)]

    return ServerProcess("radicale", command, r"Listening on '([^']+)'", directory)
