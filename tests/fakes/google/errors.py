"""Google's error answers, in the exact shape of the Calendar API v3 errors guide.

Every error body is ``{"error": {"errors": [{"domain", "reason", "message", ...}], "code",
"message"}}``; clients read ``errors[0].reason`` to decide what to do (the Python client retries
a 403 only for ``rateLimitExceeded`` / ``userRateLimitExceeded``), so reasons matter most.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "canned"]


class ApiError(Exception):
    """An API answer other than success: raised anywhere in the fake, rendered by the server."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "domain": self.domain,
            "reason": self.reason,
            "message": self.message,
        }
        if self.location is not None:
            error["locationType"] = self.location_type or "parameter"
            error["location"] = self.location
        return {"error": {"errors": [error], "code": self.status, "message": self.message}}

    # -- the ones the guide lists --------------------------------------------------------------

    @classmethod
    def invalid(cls, message: str = "Invalid Value", location: str | None = None) -> ApiError:
        return cls(400, "invalid", message, location=location)

    @classmethod
    def required(cls, message: str, location: str | None = None) -> ApiError:
        return cls(400, "required", message, location=location)

    @classmethod
    def bad_request(cls, message: str = "Bad Request") -> ApiError:
        return cls(400, "badRequest", message)

    @classmethod
    def time_range_empty(cls, location: str | None = None) -> ApiError:
        message = "The specified time range is empty."
        return cls(400, "timeRangeEmpty", message, domain="calendar", location=location)

    @classmethod
    def missing_time_zone(cls) -> ApiError:
        return cls(400, "missingTimeZone", "Missing time zone definition for start time.")

    @classmethod
    def not_found(cls) -> ApiError:
        return cls(404, "notFound", "Not Found")

    @classmethod
    def duplicate(cls) -> ApiError:
        return cls(409, "duplicate", "The requested identifier already exists.")

    @classmethod
    def deleted(cls) -> ApiError:
        return cls(410, "deleted", "Resource has been deleted")

    @classmethod
    def full_sync_required(cls) -> ApiError:
        message = "Sync token is no longer valid, a full sync is required."
        return cls(410, "fullSyncRequired", message, domain="calendar", location="syncToken")

    @classmethod
    def updated_min_too_long_ago(cls) -> ApiError:
        message = "The requested minimum modification time lies too far in the past."
        return cls(410, "updatedMinTooLongAgo", message, domain="calendar", location="updatedMin")

    @classmethod
    def precondition_failed(cls) -> ApiError:
        return cls(
            412, "conditionNotMet", "Precondition Failed", location="If-Match",
            location_type="header",
        )  # fmt: skip

    @classmethod
    def auth_error(cls) -> ApiError:
        return cls(
            401, "authError", "Invalid Credentials", location="Authorization",
            location_type="header", headers=_www_authenticate("invalid_token"),
        )  # fmt: skip

    @classmethod
    def login_required(cls) -> ApiError:
        return cls(
            401, "required", "Login Required.", location="Authorization",
            location_type="header", headers=_www_authenticate(None),
        )  # fmt: skip

    @classmethod
    def insufficient_scope(cls) -> ApiError:
        error = cls(403, "insufficientPermissions", "Insufficient Permission")
        error.headers = _www_authenticate("insufficient_scope")
        return error

    @classmethod
    def required_access_level(cls) -> ApiError:
        return cls(403, "requiredAccessLevel", "You need to have writer access to this calendar.")

    @classmethod
    def parse_error(cls) -> ApiError:
        return cls(400, "parseError", "Parse Error")


def _www_authenticate(error: str | None) -> dict[str, str]:
    value = 'Bearer realm="https://accounts.google.com/"'
    if error is not None:
        value += f', error="{error}"'
    return {"WWW-Authenticate": value}


# (domain, reason, message) of the canned answers a fault produces, per status and reason.
_CANNED: dict[tuple[int, str | None], tuple[str, str, str]] = {
    (400, None): ("global", "badRequest", "Bad Request"),
    (401, None): ("global", "authError", "Invalid Credentials"),
    (403, None): ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    (403, "rateLimitExceeded"): ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    (403, "userRateLimitExceeded"): (
        "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded",
    ),
    (403, "quotaExceeded"): ("usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
    (403, "forbidden"): ("global", "forbidden", "Forbidden"),
    (404, None): ("global", "notFound", "Not Found"),
    (409, None): ("global", "conflict", "Conflict"),
    (409, "duplicate"): ("global", "duplicate", "The requested identifier already exists."),
    (410, None): ("global", "deleted", "Resource has been deleted"),
    (410, "fullSyncRequired"): (
        "calendar", "fullSyncRequired", "Sync token is no longer valid, a full sync is required.",
    ),
    (412, None): ("global", "conditionNotMet", "Precondition Failed"),
    (429, None): ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    (500, None): ("global", "backendError", "Backend Error"),
    (502, None): ("global", "backendError", "Backend Error"),
    (503, None): ("global", "backendError", "The service is currently unavailable."),
    (504, None): ("global", "backendError", "Backend Error"),
}  # fmt: skip


def canned(status: int, reason: str | None = None, retry_after: float | None = None) -> ApiError:
    """The answer Google gives for ``status`` (and ``reason``), for injected faults."""
    found = _CANNED.get((status, reason)) or _CANNED.get((status, None))
    if found is None:
        domain, made_reason, message = "global", reason or "unknown", f"HTTP {status}"
    else:
        domain, made_reason, message = found
        if reason is not None and reason != made_reason:
            made_reason = reason  # an unusual reason the test asked for, kept verbatim
    if status == 401:
        error = ApiError.auth_error()
        error.reason, error.message = made_reason, message
    else:
        error = ApiError(status, made_reason, message, domain=domain)
    if retry_after is not None:
        error.headers["Retry-After"] = f"{retry_after:g}"
    return error
