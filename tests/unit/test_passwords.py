"""scrypt password hashes: format, verification, and refusal of malformed hashes."""

from __future__ import annotations

import base64
import hashlib
import re
import time

import pytest

from kalends.security.passwords import DUMMY_HASH, hash_password, is_valid_hash, verify_password

_SALT = "Ofa8qQFd3bcHxoHoWWeWwQ"  # 16 bytes
_KEY = "AXW8DN8297GgHpZVoyeBLFVUBEm5EAYfkLBSK7AVUc0"  # 32 bytes


@pytest.fixture(scope="module")
def encoded() -> str:
    return hash_password("correct horse battery staple")


def test_hash_format(encoded: str) -> None:
    match = re.fullmatch(r"scrypt\$16384\$8\$1\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})", encoded)
    assert match is not None


def test_round_trip(encoded: str) -> None:
    assert verify_password("correct horse battery staple", encoded) is True


def test_wrong_password(encoded: str) -> None:
    assert verify_password("correct horse battery stapler", encoded) is False
    assert verify_password("", encoded) is False


def test_salts_differ() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]


def test_non_ascii_password() -> None:
    encoded = hash_password("mötley crüe ✓")
    assert verify_password("mötley crüe ✓", encoded)
    assert not verify_password("motley crue ✓", encoded)


def test_unencodable_password_is_false_not_an_error(encoded: str) -> None:
    assert verify_password("\udcff", encoded) is False


def test_cost_is_read_from_the_hash() -> None:
    # Raising the cost later must keep old hashes working: another cost still verifies.
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(b"pw", salt=salt, n=2**4, r=2, p=3, dklen=32)
    b64 = [base64.urlsafe_b64encode(data).rstrip(b"=").decode() for data in (salt, key)]
    cheap = f"scrypt$16$2$3${b64[0]}${b64[1]}"
    assert is_valid_hash(cheap)
    assert verify_password("pw", cheap)
    assert not verify_password("px", cheap)


def test_dummy_hash_costs_as_much_as_a_real_one(encoded: str) -> None:
    assert is_valid_hash(DUMMY_HASH)
    assert DUMMY_HASH.split("$")[:4] == encoded.split("$")[:4]
    assert len(DUMMY_HASH) == len(encoded)
    assert verify_password("", DUMMY_HASH) is False


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "scrypt",
        "$$$$$",
        f"bcrypt$16384$8$1${_SALT}${_KEY}",
        f"SCRYPT$16384$8$1${_SALT}${_KEY}",
        f"scrypt$16384$8$1${_SALT}",
        f"scrypt$16384$8$1${_SALT}${_KEY}$",
        f"scrypt$16384$8$1${_SALT}${_KEY}=",
        f"scrypt$16384$8$1${_SALT}==${_KEY}",
        f"scrypt$16384$8$1$not+base64/${_KEY}",
        f"scrypt$16384$8$1${_SALT}${_KEY[:-1]}",  # impossible base64 length
        f"scrypt$16384$8$1${_SALT}${_KEY[:-1]}1",  # non-canonical trailing bits
        f"scrypt$16384$8$1$$${_KEY}",
        f"scrypt$16384$8$1$AAAA${_KEY}",  # 3-byte salt
        f"scrypt$16384$8$1${_SALT}$AAAA",  # 3-byte key
        f"scrypt$abc$8$1${_SALT}${_KEY}",
        f"scrypt$-16384$8$1${_SALT}${_KEY}",
        f"scrypt$016384$8$1${_SALT}${_KEY}",
        f"scrypt$\uff11\uff16\uff13\uff18\uff14$8$1${_SALT}${_KEY}",  # fullwidth digits
        f"scrypt$16000$8$1${_SALT}${_KEY}",  # not a power of two
        f"scrypt$1$8$1${_SALT}${_KEY}",
        f"scrypt$16384$0$1${_SALT}${_KEY}",
        f"scrypt$16384$8$0${_SALT}${_KEY}",
        f"scrypt${2**40}$8$1${_SALT}${_KEY}",
        f"scrypt${2**21}$1$1${_SALT}${_KEY}",
        f"scrypt$16384$33$1${_SALT}${_KEY}",
        f"scrypt$16384$8$17${_SALT}${_KEY}",
        f"scrypt${2**20}$32$16${_SALT}${_KEY}",  # each within its cap, too costly together
    ],
)
def test_malformed_hashes_are_refused_quickly(malformed: str) -> None:
    started = time.perf_counter()
    assert is_valid_hash(malformed) is False
    assert verify_password("anything", malformed) is False
    assert time.perf_counter() - started < 0.05


def test_largest_accepted_cost_is_valid() -> None:
    assert is_valid_hash(f"scrypt${2**20}$8$1${_SALT}${_KEY}")
    assert is_valid_hash(f"scrypt$16384$32$16${_SALT}${_KEY}")
