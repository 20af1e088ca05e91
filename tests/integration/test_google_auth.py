"""``kalends auth SOURCE`` against the Google fake's consent page and token endpoint: the
browser sign-in (loopback redirect, PKCE, offline access), the grant stored encrypted, and the
next sync using it."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kalends.cli import main
from kalends.config import load_settings
from kalends.sync import commands
from tests.fakes.google import GoogleFake, running_google_fake
from tests.integration.test_google_sync import CLIENT_ID, CLIENT_SECRET, _write_config, timed


@pytest.fixture(scope="module")
def fake() -> Iterator[GoogleFake]:
    with running_google_fake() as made:
        made.register_client(CLIENT_ID, CLIENT_SECRET)
        yield made


@pytest.fixture
def config(tmp_path: Path, password_hash: str, fake: GoogleFake) -> Path:
    cid = f"auth-{tmp_path.name[-10:].lower().replace('_', '')}@group.calendar.google.com"
    fake.add_calendar(cid, "Auth", time_zone="Europe/Berlin")
    fake.insert(cid, timed("Signed in", "2026-03-02T09:00:00+01:00", "2026-03-02T10:00:00+01:00"))
    return _write_config(tmp_path, password_hash, fake, cid)


def browser(url: str) -> None:
    """A person who clicks "Allow": the consent page redirects to Kalends' loopback port."""
    httpx.get(url, follow_redirects=True, timeout=10).raise_for_status()


def test_signing_in_stores_a_grant_the_next_sync_uses(config: Path) -> None:
    settings = load_settings(config)
    before = commands.sync(settings, "work", dry_run=False, confirm=None)
    assert any("needs re-auth" in line for line in before), before
    lines = commands.auth(settings, "work", browser)
    assert "signed in to Google" in lines[0]
    after = commands.sync(settings, "work", dry_run=False, confirm=None)
    assert not any("error" in line for line in after), after
    assert any("pull-create" in line for line in after), after
    key = (settings.server.data_dir / "secret.key").read_bytes()
    database = (settings.server.data_dir.parent / "kalends.db").read_bytes()
    assert key and b"refresh" not in database, "the grant is stored sealed"


def test_a_refused_consent_changes_nothing(config: Path, fake: GoogleFake) -> None:
    fake.deny_consent = True
    try:
        with pytest.raises(commands.SyncCommandError, match="refused: access_denied"):
            commands.auth(load_settings(config), "work", browser)
    finally:
        fake.deny_consent = False


def test_the_cli_opens_the_browser_and_reports(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clicker = "import httpx, sys; httpx.get(sys.argv[1], follow_redirects=True, timeout=10)"
    monkeypatch.setenv("BROWSER", f"{shlex.quote(sys.executable)} -c {shlex.quote(clicker)} %s")
    assert main(["auth", "work", "--config", str(config)]) == 0
    shown = capsys.readouterr().out
    assert "Sign in on this page" in shown and "signed in to Google" in shown


def test_a_source_without_a_client_is_refused_with_the_option_named(
    tmp_path: Path, password_hash: str, fake: GoogleFake, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_config(tmp_path, password_hash, fake, "primary")
    text = path.read_text(encoding="utf-8").replace(f'client_id = "{CLIENT_ID}"\n', "")
    path.write_text(text, encoding="utf-8")
    assert main(["auth", "work", "--config", str(path), "--no-browser"]) == 2
    assert "client_id: required to sign in" in capsys.readouterr().err
