"""CalDAV logins checked against the users of the admin file.

Password hashes are deliberately slow, so a verified login is remembered for a short while (keyed by
an HMAC of the password under a per-process random key, never the password itself). Unknown users
are checked against a dummy hash so that they cost the same time as a wrong password; Radicale adds
its configured delay to every failure.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping

from radicale import auth as radicale_auth
from radicale import config as radicale_config

from kalends.security.passwords import DUMMY_HASH, verify_password


class LoginCache:
    """Remembers verified (user, password) pairs for ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._key = secrets.token_bytes(32)
        self._entries: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def _digest(self, user: str, password: str) -> bytes:
        message = user.encode("utf-8") + b"\0" + password.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def knows(self, user: str, password: str) -> bool:
        if self._ttl <= 0:
            return False
        with self._lock:
            entry = self._entries.get(user)
        if entry is None or entry[1] < time.monotonic():
            return False
        return hmac.compare_digest(entry[0], self._digest(user, password))

    def remember(self, user: str, password: str) -> None:
        if self._ttl > 0:
            with self._lock:
                self._entries[user] = (self._digest(user, password), time.monotonic() + self._ttl)


class UserAuth(radicale_auth.BaseAuth):
    """Radicale auth plugin over ``{user name: password hash}``."""

    def __init__(
        self,
        configuration: radicale_config.Configuration,
        password_hashes: Mapping[str, str],
        cache_seconds: float,
    ) -> None:
        super().__init__(configuration)
        self._hashes = dict(password_hashes)
        self._cache = LoginCache(cache_seconds)

    def _login(self, login: str, password: str) -> str:
        if self._cache.knows(login, password):
            return login
        stored = self._hashes.get(login)
        valid = verify_password(password, stored or DUMMY_HASH) and stored is not None
        if not valid:
            return ""
        self._cache.remember(login, password)
        return login
