"""The ``kalends`` command line: exit codes, messages, and never a traceback for user errors."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kalends import __version__
from kalends.cli import main
from kalends.security.passwords import DUMMY_HASH, verify_password
from kalends.security.prompt import PasswordInputError, read_new_password

VALID = f"[server]\ndata_dir = 'state'\n[users.alice]\npassword_hash = '{DUMMY_HASH}'\n"
BROKEN = "[server]\nport = 'abc'\n[users.alice]\n"
BROKEN_REPORT = (
    "invalid configuration: 2 problems\n"
    "  server.port: expected an integer from 0 to 65535, got 'abc' (kalends.toml, line 2)\n"
    "  users.alice.password_hash: missing required key (kalends.toml, line 3)\n"
)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KALENDS_CONFIG", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_check_config_ok(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("custom.toml").write_text(VALID + "[sources.s]\ntype = 'ics'\nuser = 'alice'\n")
    expected = f"ok: {here / 'custom.toml'}: 1 users, 1 sources, 0 views\n"
    assert run(capsys, "--config", "custom.toml", "check-config") == (0, expected, "")
    assert run(capsys, "check-config", "--config", "custom.toml") == (0, expected, "")


def test_check_config_names_a_bad_calendars_option(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = "[sources.g]\ntype = 'google'\nuser = 'alice'\ncalendars = 'every'\n"
    Path("kalends.toml").write_text(VALID + entry)
    status, out, err = run(capsys, "check-config")
    assert (status, out) == (2, "")
    assert err == (
        f"kalends: error: {here / 'kalends.toml'}: source 'g' is not synced: calendars: "
        "expected \"all\" or a list of distinct calendar ids, got 'every'\n"
    )


def test_config_comes_from_the_environment_then_the_working_directory(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("kalends.toml").write_text(VALID)
    Path("env.toml").write_text(VALID + f"[users.bob]\npassword_hash = '{DUMMY_HASH}'\n")
    assert run(capsys, "check-config") == (
        0,
        f"ok: {here / 'kalends.toml'}: 1 users, 0 sources, 0 views\n",
        "",
    )
    monkeypatch.setenv("KALENDS_CONFIG", "env.toml")
    assert run(capsys, "check-config") == (
        0,
        f"ok: {here / 'env.toml'}: 2 users, 0 sources, 0 views\n",
        "",
    )
    assert run(capsys, "check-config", "--config", "kalends.toml")[1].startswith(
        f"ok: {here / 'kalends.toml'}: 1 users"
    )


@pytest.mark.parametrize("command", ["check-config", "serve", "migrate"])
def test_broken_config_is_reported(
    here: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    Path("kalends.toml").write_text(BROKEN)
    assert run(capsys, command) == (2, "", BROKEN_REPORT)


def test_missing_config(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check-config", "--config", "nope.toml") == (
        2,
        "",
        "invalid configuration: 1 problem\n  configuration file not found (nope.toml)\n",
    )


def test_usage_errors(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys)
    assert (status, out) == (2, "")
    assert err.endswith("kalends: error: the following arguments are required: COMMAND\n")
    status, out, err = run(capsys, "serve", "--log-level", "loud")
    assert (status, out) == (2, "")
    assert "argument --log-level: invalid choice: 'loud'" in err
    assert run(capsys, "--version") == (0, f"kalends {__version__}\n", "")
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "check-config" in out and "hash-password" in out


def test_migrate_sqlite(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("kalends.toml").write_text(VALID)
    database = here / "state" / "kalends.db"
    assert run(capsys, "migrate") == (0, f"database is up to date: sqlite:///{database}\n", "")
    assert database.is_file()


def test_migrate_failure_is_one_line_without_the_password(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    Path("kalends.toml").write_text(
        f"[storage]\nurl = 'postgresql://kal:s3cret@127.0.0.1:{port}/kal'\n"
    )
    status, out, err = run(capsys, "migrate")
    assert (status, out) == (2, "")
    assert err.startswith(
        f"kalends: error: cannot migrate postgresql+psycopg://kal:***@127.0.0.1:{port}/kal: "
    )
    assert err.count("\n") == 1 and "s3cret" not in err


def test_serve_failure_is_one_line(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        Path("kalends.toml").write_text(f"[server]\nport = {port}\ndata_dir = 'state'\n")
        status, _, err = run(capsys, "serve", "--log-level", "ERROR")
    assert status == 2
    assert err.splitlines()[-1].startswith("kalends: error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("stdin", "password"),
    [
        ("s3cret pass\nsecond line\n", "s3cret pass"),
        ("crlf\r\n", "crlf"),
        ("no newline", "no newline"),
    ],
)
def test_hash_password_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, password: str
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status, out, err = run(capsys, "hash-password")
    assert (status, err) == (0, "")
    assert out.startswith("scrypt$16384$8$1$") and out.endswith("\n")
    assert verify_password(password, out.strip())


@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"])
def test_hash_password_refuses_empty(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    assert run(capsys, "hash-password") == (2, "", "kalends: error: empty password refused\n")


class _FailingInput:
    """A piped stdin whose read fails."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        raise self.error


def test_interrupt_and_os_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _FailingInput(KeyboardInterrupt()))
    assert run(capsys, "hash-password") == (130, "", "")
    monkeypatch.setattr(sys, "stdin", _FailingInput(OSError(5, "Input/output error")))
    assert run(capsys, "hash-password") == (2, "", "kalends: error: [Errno 5] Input/output error\n")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _answers(*answers: str) -> Iterator[str]:
    yield from answers
    raise EOFError


@pytest.mark.parametrize(
    ("answers", "outcome"),
    [
        (("pw", "pw"), "pw"),
        (("pw", "pW"), "the two passwords do not match"),
        (("", ""), "empty password refused"),
        (("pw",), "no password given"),
        ((), "no password given"),
    ],
)
def test_password_from_a_terminal(answers: tuple[str, ...], outcome: str) -> None:
    given = _answers(*answers)
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(given)

    if outcome == "pw":
        assert read_new_password(_Terminal("ignored\n"), ask) == "pw"
        assert prompts == ["Password: ", "Repeat password: "]
        return
    with pytest.raises(PasswordInputError) as caught:
        read_new_password(_Terminal(), ask)
    assert str(caught.value) == outcome


def test_module_entry_point(here: Path) -> None:
    Path("kalends.toml").write_text(BROKEN)
    broken = subprocess.run(
        [sys.executable, "-m", "kalends", "check-config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (broken.returncode, broken.stdout, broken.stderr) == (2, "", BROKEN_REPORT)
    hashed = subprocess.run(
        [sys.executable, "-m", "kalends", "hash-password"],
        input="from a pipe\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert (hashed.returncode, hashed.stderr) == (0, "")
    assert verify_password("from a pipe", hashed.stdout.strip())


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
