"""Secrets at rest: AES-256-GCM with one key per installation.

A sealed secret is the text ``v1:<nonce>:<ciphertext>`` (URL-safe base64 without padding; the
ciphertext ends with GCM's 16-byte tag). A fresh random 96-bit nonce is drawn for every seal.
The caller's ``associated`` text (e.g. the source a token belongs to) is authenticated with it,
so a sealed text copied onto another row does not open there.

The key comes from ``KALENDS_SECRET_KEY`` (URL-safe base64 of 32 bytes) or else from
``<data_dir>/secret.key``, which is created on first use, readable by its owner only.
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "SealedSecretError",
    "SecretBox",
    "SecretKeyError",
    "generate_key",
    "load_secret_key",
]

KEY_ENV = "KALENDS_SECRET_KEY"
KEY_FILE = "secret.key"
KEY_BYTES = 32
NONCE_BYTES = 12
_VERSION = "v1"
_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]{43}=?")
_B64 = re.compile(r"[A-Za-z0-9_-]+")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class SecretKeyError(ValueError):
    """The secret key cannot be used (the message says where it came from and how to fix it)."""


class SealedSecretError(ValueError):
    """A sealed secret does not open: wrong key, altered text, or sealed for something else."""


class SecretBox:
    """Seals and opens secrets with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"a secret key is {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: bytes, associated: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, _associated(associated))
        return f"{_VERSION}:{_encode(nonce)}:{_encode(sealed)}"

    def open(self, sealed: str, associated: str) -> bytes:
        nonce, ciphertext = _split(sealed)
        try:
            return self._aead.decrypt(nonce, ciphertext, _associated(associated))
        except InvalidTag:
            raise SealedSecretError(
                f"the secret sealed for {associated!r} does not open: the secret key changed, "
                "the stored text was altered, or it was sealed for something else"
            ) from None


def generate_key() -> str:
    """A new random key in the form KALENDS_SECRET_KEY expects."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def load_secret_key(data_dir: Path, environ: Mapping[str, str]) -> SecretBox:
    """The installation's key: from KALENDS_SECRET_KEY, else from ``data_dir/secret.key``
    (created, mode 0600, the first time)."""
    if KEY_ENV in environ:
        return SecretBox(_key_from_env(environ[KEY_ENV]))
    path = data_dir / KEY_FILE
    try:
        return SecretBox(_read_key_file(path))
    except FileNotFoundError:
        pass
    _create_key_file(path)
    return SecretBox(_read_key_file(path))


# -- sealed text -------------------------------------------------------------------------------


def _associated(associated: str) -> bytes:
    return f"kalends-secret-{_VERSION}\x00{associated}".encode()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _decode(text: str) -> bytes:
    if not _B64.fullmatch(text):
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _split(sealed: str) -> tuple[bytes, bytes]:
    version, _, rest = sealed.partition(":")
    if version != _VERSION:
        raise SealedSecretError(f"not a sealed secret of version {_VERSION}")
    nonce_text, _, ciphertext_text = rest.partition(":")
    try:
        nonce, ciphertext = _decode(nonce_text), _decode(ciphertext_text)
    except (ValueError, binascii.Error):
        raise SealedSecretError("a sealed secret with damaged base64") from None
    if len(nonce) != NONCE_BYTES or len(ciphertext) < 16:
        raise SealedSecretError("a sealed secret of the wrong shape")
    return nonce, ciphertext


# -- where the key comes from ------------------------------------------------------------------


def _key_from_env(value: str) -> bytes:
    """The key in KALENDS_SECRET_KEY; the message never repeats the value."""
    text = value.strip()
    if not _KEY_TEXT.fullmatch(text):
        raise SecretKeyError(
            f"{KEY_ENV} must be {KEY_BYTES} random bytes in URL-safe base64 (44 characters); "
            "make one with: python -c 'import base64, os; "
            "print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
        )
    return _decode(text.rstrip("="))


def _read_key_file(path: Path) -> bytes:
    """The key in ``path``; refused when others may read it. FileNotFoundError when absent."""
    try:
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as error:  # a symbolic link (O_NOFOLLOW), no permission...
        raise SecretKeyError(
            f"{path} cannot be read ({error.strerror}); it must be a plain file of this user"
        ) from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise SecretKeyError(f"{path} is not a regular file")
        if info.st_mode & 0o077:
            raise SecretKeyError(
                f"{path} is readable by other users (mode {stat.filemode(info.st_mode)}); "
                f"allow only its owner: chmod 600 {path}"
            )
        text = os.read(descriptor, 256).decode("ascii", errors="replace").strip()
    finally:
        os.close(descriptor)
    if not _KEY_TEXT.fullmatch(text):
        raise SecretKeyError(f"{path} does not hold a secret key (32 bytes in URL-safe base64)")
    return _decode(text.rstrip("="))


def _create_key_file(path: Path) -> None:
    """Write a new key so that the file is never readable by others nor seen half-written.

    The key goes to a private temporary file (O_CREAT|O_EXCL, mode 0600) that is then linked
    to its name: if another process got there first, its key wins and ours is dropped.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
    descriptor = os.open(temporary, flags, 0o600)
    try:
        try:
            os.write(descriptor, (generate_key() + "\n").encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        _link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _link(temporary: Path, path: Path) -> None:
    try:
        os.link(temporary, path)
    except FileExistsError:
        return  # another process created the key first: use theirs
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
        if path.exists():  # no hard links on this file system (some shared volumes)
            return
        os.rename(temporary, path)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
