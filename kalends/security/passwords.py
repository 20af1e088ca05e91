"""scrypt password hashes in a self-describing text format.

A hash looks like ``scrypt$16384$8$1$<salt>$<key>`` (salt and key in unpadded URL-safe
base64). The cost parameters travel with each hash, so they can be raised later without
invalidating existing hashes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = ["DUMMY_HASH", "hash_password", "is_valid_hash", "verify_password"]

SCHEME = "scrypt"
N = 2**14
R = 8
P = 1
SALT_BYTES = 16
KEY_BYTES = 32

# Refuse parameters that would make a single check hang or exhaust memory.
MAX_N = 2**20
MAX_R = 32
MAX_P = 16
MAX_WORK = 2**23  # n * r * p; scrypt needs about 128 * n * r bytes, so 1 GiB at most
_SALT_RANGE = range(8, 65)
_KEY_RANGE = range(16, 65)

_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_B64 = re.compile(r"[A-Za-z0-9_-]+")

# Hash of a random password nobody knows, made with the default parameters. The server
# checks passwords of unknown users against it so that they cost as much as known ones.
# Regenerate it with hash_password() whenever N, R or P change.
DUMMY_HASH = "scrypt$16384$8$1$Ofa8qQFd3bcHxoHoWWeWwQ$AXW8DN8297GgHpZVoyeBLFVUBEm5EAYfkLBSK7AVUc0"


@dataclass(frozen=True, slots=True)
class _Parsed:
    n: int
    r: int
    p: int
    salt: bytes
    key: bytes


def hash_password(password: str) -> str:
    """Hash ``password`` with a fresh random salt and the default cost."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password.encode("utf-8"), salt, N, R, P, KEY_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64encode(salt)}${_b64encode(key)}"


def verify_password(password: str, encoded: str) -> bool:
    """Tell whether ``password`` matches ``encoded``; False for any malformed hash."""
    parsed = _parse(encoded)
    if parsed is None:
        return False
    try:
        secret = password.encode("utf-8")
        key = _derive(secret, parsed.salt, parsed.n, parsed.r, parsed.p, len(parsed.key))
    except ValueError:  # unencodable text, or a limit of the OpenSSL build
        return False
    return hmac.compare_digest(key, parsed.key)


def is_valid_hash(encoded: str) -> bool:
    """Tell whether ``encoded`` is a hash that verify_password can check."""
    return _parse(encoded) is not None


def _derive(secret: bytes, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    maxmem = 128 * r * (n + p + 2) + 2**16
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=length, maxmem=maxmem)


def _parse(encoded: object) -> _Parsed | None:
    if not isinstance(encoded, str):
        return None
    fields = encoded.split("$")
    if len(fields) != 6 or fields[0] != SCHEME:
        return None
    if not all(_NUMBER.fullmatch(text) for text in fields[1:4]):
        return None
    n, r, p = (int(text) for text in fields[1:4])
    if not _cost_ok(n, r, p):
        return None
    salt = _b64decode(fields[4])
    key = _b64decode(fields[5])
    if salt is None or key is None or len(salt) not in _SALT_RANGE:
        return None
    if len(key) not in _KEY_RANGE:
        return None
    return _Parsed(n, r, p, salt, key)


def _cost_ok(n: int, r: int, p: int) -> bool:
    power_of_two = n > 1 and n & (n - 1) == 0
    in_range = n <= MAX_N and 1 <= r <= MAX_R and 1 <= p <= MAX_P
    return power_of_two and in_range and n * r * p <= MAX_WORK


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Decode unpadded URL-safe base64, accepting only its canonical form."""
    if not _B64.fullmatch(text):
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64encode(data) == text else None
