"""Secrets at rest (AES-256-GCM), the key and its file, sealed credentials in the database, and
the log redaction filter."""

from __future__ import annotations

import base64
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from kalends.security.redact import RedactionFilter, install_redaction
from kalends.security.secrets import (
    KEY_ENV,
    SealedSecretError,
    SecretBox,
    SecretKeyError,
    generate_key,
    load_secret_key,
)
from kalends.storage.credentials import CredentialStore
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.storage.models import credentials

SEALED = re.compile(r"v1:([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]+)")
CANARY = "1//0gCanaryRefreshToken-9f8e7d6c5b4a"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))


def flip(text: str, index: int) -> str:
    """``text`` with one base64 character changed."""
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


# -- SecretBox ---------------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"hunter2", bytes(range(256)) * 40])
def test_seal_and_open_round_trip(box: SecretBox, plaintext: bytes) -> None:
    sealed = box.seal(plaintext, "google:work")
    assert SEALED.fullmatch(sealed)
    assert box.open(sealed, "google:work") == plaintext


def test_every_seal_draws_a_new_nonce(box: SecretBox) -> None:
    sealed = [box.seal(b"same secret", "src") for _ in range(50)]
    nonces = {SEALED.fullmatch(text).group(1) for text in sealed}  # type: ignore[union-attr]
    assert len(nonces) == 50 and len(set(sealed)) == 50


@pytest.mark.parametrize("part", ["nonce", "ciphertext", "tag"])
def test_a_tampered_text_is_refused(box: SecretBox, part: str) -> None:
    sealed = box.seal(b"refresh-token", "src")
    index = {"nonce": 5, "ciphertext": 22, "tag": len(sealed) - 3}[part]
    with pytest.raises(SealedSecretError, match="does not open"):
        box.open(flip(sealed, index), "src")


@pytest.mark.parametrize(
    "damaged",
    ["", "v1", "v2:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v1:AAAA:AAAA", "v1:!!:??"],
)
def test_malformed_texts_are_refused(box: SecretBox, damaged: str) -> None:
    with pytest.raises(SealedSecretError):
        box.open(damaged, "src")


def test_a_wrong_key_or_another_associated_text_is_refused(box: SecretBox) -> None:
    sealed = box.seal(b"refresh-token", "google:work")
    with pytest.raises(SealedSecretError, match="does not open"):
        SecretBox(os.urandom(32)).open(sealed, "google:work")
    with pytest.raises(SealedSecretError, match="does not open") as caught:
        box.open(sealed, "google:home")  # a row moved onto another source
    assert isinstance(caught.value, ValueError)
    assert "refresh-token" not in str(caught.value)


def test_a_key_must_be_32_bytes() -> None:
    with pytest.raises(SecretKeyError):
        SecretBox(b"x" * 16)
    assert "x" * 16 not in repr(SecretBox(os.urandom(32)))


# -- the key -----------------------------------------------------------------------------------


def test_the_environment_key_wins(tmp_path: Path) -> None:
    key = generate_key()
    box = load_secret_key(tmp_path / "data", {KEY_ENV: key})
    assert SecretBox(base64.urlsafe_b64decode(key)).open(box.seal(b"s", "a"), "a") == b"s"
    assert not (tmp_path / "data").exists()  # no key file made
    unpadded = load_secret_key(tmp_path, {KEY_ENV: key.rstrip("=")})
    assert unpadded.open(box.seal(b"s", "a"), "a") == b"s"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "too-short-to-be-a-key",
        base64.urlsafe_b64encode(b"k" * 31).decode(),
        base64.urlsafe_b64encode(b"k" * 33).decode(),
        base64.b64encode(b"\xfb" * 32).decode(),  # standard base64 ('+', '/'), not URL-safe
        "Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9!",
    ],
)
def test_a_bad_environment_key_is_refused_without_echoing_it(tmp_path: Path, value: str) -> None:
    with pytest.raises(SecretKeyError, match=KEY_ENV) as caught:
        load_secret_key(tmp_path, {KEY_ENV: value})
    assert not value or value not in str(caught.value)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files: the key file must be private regardless."""
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_the_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    first = load_secret_key(data_dir, {})
    key_file = data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(os.listdir(data_dir)) == ["secret.key"]  # no temporary file left behind
    second = load_secret_key(data_dir, {})
    assert second.open(first.seal(b"token", "src"), "src") == b"token"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    load_secret_key(tmp_path, {})
    key_file = tmp_path / "secret.key"
    key_file.chmod(mode)
    with pytest.raises(SecretKeyError, match="chmod 600") as caught:
        load_secret_key(tmp_path, {})
    assert str(key_file) in str(caught.value)
    assert key_file.read_text().strip() not in str(caught.value)


def test_a_damaged_or_linked_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text("not a key at all\n")
    key_file.chmod(0o600)
    with pytest.raises(SecretKeyError, match="does not hold a secret key") as caught:
        load_secret_key(tmp_path, {})
    assert "not a key at all" not in str(caught.value)
    elsewhere = tmp_path / "other"
    load_secret_key(elsewhere, {})
    key_file.unlink()
    key_file.symlink_to(elsewhere / "secret.key")
    with pytest.raises(SecretKeyError, match="cannot be read"):
        load_secret_key(tmp_path, {})


# -- sealed credentials in the database -------------------------------------------------------


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate_database(database_url)
    made = create_storage_engine(database_url, pool_size=1)
    yield made
    made.dispose()


def test_credentials_round_trip_sealed(engine: Engine, box: SecretBox) -> None:
    store = CredentialStore(engine, box)
    assert store.get("google:work") is None and store.sources() == []
    store.put("google:work", {"refresh_token": CANARY, "account": "ann@example.com"})
    store.put("notion:team", {"token": "secret_notion_abcdef"})
    assert store.get("google:work") == {"refresh_token": CANARY, "account": "ann@example.com"}
    store.put("google:work", {"refresh_token": "rotated-token-value"})
    assert store.get("google:work") == {"refresh_token": "rotated-token-value"}
    assert store.sources() == ["google:work", "notion:team"]
    store.delete("notion:team")
    store.delete("notion:team")  # already gone: nothing to do
    assert store.sources() == ["google:work"] and store.get("notion:team") is None


def test_the_stored_column_never_holds_the_plaintext(
    engine: Engine, box: SecretBox, database_url: str
) -> None:
    CredentialStore(engine, box).put("google:work", {"refresh_token": CANARY})
    with engine.connect() as conn:
        stored = conn.execute(select(credentials.c.sealed)).scalar_one()
    assert SEALED.fullmatch(stored)
    assert CANARY not in stored and "refresh_token" not in stored
    if database_url.startswith("sqlite:///"):
        engine.dispose()  # checkpoint the WAL into the file
        database = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert CANARY.encode() not in raw


def test_a_row_that_does_not_open_is_an_error_not_an_empty_result(
    engine: Engine, box: SecretBox
) -> None:
    store = CredentialStore(engine, box)
    store.put("google:work", {"refresh_token": CANARY})
    store.put("google:home", {"refresh_token": "home-token-value"})
    with pytest.raises(SealedSecretError):
        CredentialStore(engine, SecretBox(os.urandom(32))).get("google:work")
    with engine.begin() as conn:  # copy work's sealed row onto home
        work = select(credentials.c.sealed).where(credentials.c.source == "google:work")
        moved = update(credentials).where(credentials.c.source == "google:home")
        conn.execute(moved.values(sealed=work.scalar_subquery()))
    with pytest.raises(SealedSecretError):
        store.get("google:home")


# -- log redaction -----------------------------------------------------------------------------


@pytest.fixture
def redaction(caplog: pytest.LogCaptureFixture) -> Iterator[RedactionFilter]:
    made = RedactionFilter()
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # `kalends serve` quiets httpx to WARNING
    install_redaction(made)
    yield made
    for handler in logging.getLogger().handlers:
        handler.removeFilter(made)


def test_registered_values_are_masked(
    redaction: RedactionFilter, caplog: pytest.LogCaptureFixture
) -> None:
    redaction.register(CANARY)
    redaction.register("abc")  # too short to mask: it would hide ordinary words
    logger = logging.getLogger("kalends.test")
    logger.info("refreshed with %s for %s", CANARY, "abc-team")
    logger.warning("prefix-" + CANARY + "-suffix")
    assert CANARY not in caplog.text
    assert "refreshed with *** for abc-team" in caplog.text and "prefix-***-suffix" in caplog.text


@pytest.mark.parametrize(
    ("message", "secret", "kept"),
    [
        ("Authorization: Bearer eyJhbGciOi.J9eyJzd-WIi.Oi_JIU", "eyJhbGciOi", "Authorization:"),
        ("POST /token body=grant_type=x&refresh_token=1//0gRT&x=1", "1//0gRT", "grant_type=x"),
        ("GET /cb?code=1&access_token=ya29.a0Af&state=s", "ya29.a0Af", "state=s"),
        ("client_secret=GOCSPX-abcdef and more", "GOCSPX-abcdef", "and more"),
        ("login failed password=hunter2!", "hunter2", "login failed"),
        ('{"refresh_token": "1//0g\\"quoted", "expires_in": 3599}', "quoted", "expires_in"),
        ("fetching https://ann:pa55word@cal.example.com/x.ics", "pa55word", "cal.example.com"),
        ("HTTP Request: GET https://h.example/feed.ics?token=t0k3n-v4lue", "t0k3n-v4lue", "feed"),
    ],
)
def test_credential_patterns_are_masked(
    redaction: RedactionFilter,
    caplog: pytest.LogCaptureFixture,
    message: str,
    secret: str,
    kept: str,
) -> None:
    logging.getLogger("httpx").info("%s", message)
    assert secret not in caplog.text
    assert "***" in caplog.text and kept in caplog.text


def test_tracebacks_are_masked(
    redaction: RedactionFilter, caplog: pytest.LogCaptureFixture
) -> None:
    redaction.register(CANARY)
    try:
        raise RuntimeError(f"provider refused {CANARY}")
    except RuntimeError:
        logging.getLogger("kalends.test").exception("sync failed")
    assert "provider refused ***" in caplog.text and CANARY not in caplog.text


def test_bad_format_arguments_are_masked_too(
    redaction: RedactionFilter, caplog: pytest.LogCaptureFixture
) -> None:
    redaction.register(CANARY)
    logging.getLogger("kalends.test").info("two %s %s but one", CANARY)
    assert CANARY not in caplog.text and "***" in caplog.text
