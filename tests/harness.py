"""Test helpers: databases, settings files and live servers on ephemeral ports."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kalends.config import Settings, load_settings
from kalends.server.app import serve

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse"


def postgres_admin_url() -> str:
    """The PostgreSQL server the tests use; skipped locally when absent, required under CI."""
    url = os.environ.get("KALENDS_TEST_POSTGRES", DEFAULT_POSTGRES)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:
        where = make_url(url).render_as_string(hide_password=True)
        reason = f"PostgreSQL not reachable at {where}: {type(error).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (required under CI=true)")
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    name = f"kalends_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_config(
    directory: Path,
    database_url: str,
    password_hash: str,
    users: Mapping[str, tuple[str, ...]] = {"alice": ("calendar",), "bob": ("calendar",)},
    server: Mapping[str, object] | None = None,
    auth: Mapping[str, object] | None = None,
) -> Path:
    """A real admin file (so every test also exercises the config loader)."""
    server_keys = {"host": "127.0.0.1", "port": 0, "data_dir": str(directory / "data")}
    server_keys.update(server or {})
    auth_keys: dict[str, object] = {"failure_delay": 0.0}
    auth_keys.update(auth or {})
    lines = ["[server]"]
    lines += [f"{key} = {_toml(value)}" for key, value in server_keys.items()]
    lines += ["", "[storage]", f"url = {_toml(database_url)}", "", "[auth]"]
    lines += [f"{key} = {_toml(value)}" for key, value in auth_keys.items()]
    for name, calendars in users.items():
        lines += ["", f"[users.{name}]", f"password_hash = {_toml(password_hash)}"]
        lines += ["calendars = [{}]".format(", ".join(_toml(c) for c in calendars))]
    path = directory / "kalends.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"{}"'.format(value.replace("\\", "\\\\").replace('"', '\\"'))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class LiveServer:
    """``kalends serve`` in a thread of this process, on an ephemeral port."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(self.settings, ready=self._on_ready, stop=self._stop)

        try:
            asyncio.run(main())
        except BaseException as error:
            self._error = error
            self._ready.set()

    def _on_ready(self, url: str) -> None:
        self.url = url
        self._ready.set()

    def start(self) -> LiveServer:
        from kalends.storage.engine import migrate_database

        migrate_database(self.settings.storage.url)
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@contextmanager
def live_server(config_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(load_settings(config_path)).start()
    try:
        yield server
    finally:
        server.stop()


class ServerProcess:
    """``python -m kalends serve`` as a separate process (for signals and multi-process tests)."""

    def __init__(self, config_path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kalends", "serve", "--config", str(config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                threading.Thread(target=self._drain, daemon=True).start()
                return found.group(1)
        raise RuntimeError("server exited early:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self, timeout: float = 30) -> int:
        self.process.terminate()
        return self.process.wait(timeout)
