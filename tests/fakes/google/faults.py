"""The switches a test flips to make the fake misbehave the way Google does.

Every switch is safe to flip from the test's thread while the server runs in its own.
"""

from __future__ import annotations

from tests.fakes.common import FaultRules, Rule

__all__ = ["Faults", "Rule"]


class Faults(FaultRules):
    def __init__(self, seed: int = 20260301) -> None:
        super().__init__(seed)
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
        self._add(Rule("fail", status, reason, retry_after, count, method, path_contains))

    def lose_next_reply(
        self, count: int = 1, method: str | None = None, path_contains: str | None = None
    ) -> None:
        self._add(Rule("lose", 503, None, None, count, method, path_contains))

    def clear(self) -> None:
        """Forget pending failures and the rate limit."""
        self._clear_rules()

    def rate_limit(self, per_minute: int | None = None) -> None:
        """Refuse requests beyond ``per_minute`` in any sliding minute (None: no limit)."""
        self._limit_rate(per_minute, 60.0)

    def over_limit(self) -> bool:
        """Count one request; True when it is over the limit (then it is not counted)."""
        if not self._over_window():
            return False
        self.limited += 1
        return True
