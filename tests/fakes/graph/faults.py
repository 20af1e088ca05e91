"""The switches a test flips to make the fake misbehave the way Graph and Entra ID do.

Every switch is safe to flip from the test's thread while the server runs in its own.
"""

from __future__ import annotations

import random

from tests.fakes.common import FaultRules, Rule

__all__ = ["Faults", "Rule"]


class Faults(FaultRules):
    def __init__(self, seed: int = 20260301) -> None:
        super().__init__(seed)
        self.rng = random.Random(seed)
        self._in_flight = 0
        # listings and delta
        self.empty_pages = False  # delta rounds start with (and sometimes hold) empty pages
        self.replays = False  # the last entity of a delta page comes again on the next page
        self.removed_noise = False  # events changed outside the window are reported @removed
        self.custom_time_zones = False  # original*TimeZone read "tzone://Microsoft/Custom"
        # sign-in
        self.auto_approve = False  # device codes are approved as soon as they are issued
        self.slow_down = False  # pending device-code polls answer slow_down
        self.invalid_grant = False  # every refresh_token grant fails with invalid_grant
        self.single_use_refresh_tokens = False  # a redeemed refresh token stops working
        # throttling and outages
        self.concurrency_limit: int | None = 4  # in-flight Graph requests per mailbox
        self.omit_retry_after = False  # throttling answers carry no Retry-After
        self.retry_after = 1.0  # what they carry otherwise
        self.response_delay = 0.0  # seconds every Graph request takes
        self.error_rate = 0.0  # share of Graph requests answered 503 at random
        # change notifications
        self.notification_delay = 0.0  # seconds before each delivery
        self.duplicate_notifications = False  # each notification is delivered twice
        self.notification_burst = 0  # extra "updated" notifications sent for each change
        self.drop_notifications = False  # notifications are never delivered
        self.notification_retries = 3  # redeliveries of a refused notification
        self.retry_backoff = 0.05  # seconds before the first redelivery (doubling)
        self.validation_timeout = 10.0  # seconds a notification URL has to echo its token
        # what happened (besides ``failed`` and ``lost``)
        self.throttled = 0  # requests refused by the concurrency or rate limit

    def fail_next(
        self,
        status: int,
        code: str | None = None,
        retry_after: float | None = None,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        self._add(Rule("fail", status, code, retry_after, count, method, path_contains))

    def lose_next_reply(
        self,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        status: int = 504,
    ) -> None:
        self._add(Rule("lose", status, None, None, count, method, path_contains))

    def clear(self) -> None:
        """Forget pending failures, the rate limit and every misbehaviour switch (Graph's own
        behaviour stays: the concurrency limit, auto-approval, retries and timeouts)."""
        self._clear_rules()
        self.empty_pages = self.replays = self.removed_noise = self.custom_time_zones = False
        self.slow_down = self.invalid_grant = self.single_use_refresh_tokens = False
        self.omit_retry_after = self.duplicate_notifications = self.drop_notifications = False
        self.response_delay = self.error_rate = self.notification_delay = 0.0
        self.notification_burst = 0

    def rate_limit(self, limit: int | None = None, per_seconds: float = 600.0) -> None:
        """Refuse requests beyond ``limit`` in any sliding window (Outlook: 10,000 / 10 min)."""
        self._limit_rate(limit, per_seconds)

    def over_rate(self) -> bool:
        """Count one request; True when it is over the rate limit (then it is not counted)."""
        if not self._over_window():
            return False
        self.throttled += 1
        return True

    def enter(self) -> bool:
        """One more request in flight; False (and not counted) when over the concurrency limit."""
        with self._lock:
            if self.concurrency_limit is not None and self._in_flight >= self.concurrency_limit:
                self.throttled += 1
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def unlucky(self) -> bool:
        """Whether this request is one of the random 503s of ``error_rate``."""
        return self.error_rate > 0 and self.rng.random() < self.error_rate

    def throttle_retry_after(self) -> float | None:
        return None if self.omit_retry_after else self.retry_after
