"""The switches a test flips to make the fake misbehave the way Google does.

Every switch is safe to flip from the test's thread while the server runs in its own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

__all__ = ["Faults", "Rule"]


@dataclass
class Rule:
    """The next ``remaining`` matching requests fail (``fail``: not applied) or lose their
    reply (``lose``: applied, then answered 503)."""

    kind: Literal["fail", "lose"]
    status: int
    reason: str | None
    retry_after: float | None
    remaining: int
    method: str | None
    path_contains: str | None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains is None or self.path_contains in path


class Faults:
    def __init__(self, seed: int = 20260301) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._per_minute: int | None = None
        self._stamps: deque[float] = deque()
        # listings
        self.short_pages = False  # short or empty pages that still carry a nextPageToken
        # sign-in
        self.invalid_grant = False  # every refresh_token grant fails with invalid_grant
        self.deny_consent = False  # the user refuses on the consent page
        # push notifications
        self.notification_delay = 0.0  # seconds before each delivery
        self.duplicate_notifications = False  # each notification is delivered twice
        self.late_notification_after_stop = False  # one more delivery after channels.stop
        self.drop_notifications = False  # notifications are never delivered
        self.failed = 0  # requests answered by a fault
        self.lost = 0  # replies lost after the request was applied
        self.limited = 0  # requests refused by the rate limiter

    def fail_next(
        self,
        status: int,
        reason: str | None = None,
        retry_after: float | None = None,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        rule = Rule("fail", status, reason, retry_after, count, method, path_contains)
        with self._lock:
            self._rules.append(rule)

    def lose_next_reply(
        self, count: int = 1, method: str | None = None, path_contains: str | None = None
    ) -> None:
        rule = Rule("lose", 503, None, None, count, method, path_contains)
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Forget pending failures and the rate limit."""
        with self._lock:
            self._rules.clear()
            self._per_minute = None
            self._stamps.clear()

    def take(self, method: str, path: str) -> Rule | None:
        """The rule this request falls under (used up by one), if any."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    if rule.kind == "fail":
                        self.failed += 1
                    else:
                        self.lost += 1
                    return rule
        return None

    def rate_limit(self, per_minute: int | None = None) -> None:
        """Refuse requests beyond ``per_minute`` in any sliding minute (None: no limit)."""
        with self._lock:
            self._per_minute = per_minute
            self._stamps.clear()

    def over_limit(self) -> bool:
        """Count one request; True when it is over the limit (then it is not counted)."""
        with self._lock:
            if self._per_minute is None:
                return False
            now = time.monotonic()
            while self._stamps and self._stamps[0] <= now - 60.0:
                self._stamps.popleft()
            if len(self._stamps) >= self._per_minute:
                self.limited += 1
                return True
            self._stamps.append(now)
            return False
