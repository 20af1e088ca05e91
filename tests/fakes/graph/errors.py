"""Microsoft Graph's error answers: ``{"error": {"code", "message", "innerError": {...}}}``.

Clients branch on ``error.code`` (``ErrorIrresolvableConflict``, ``SyncStateNotFound``,
``InvalidAuthenticationToken``, ``ApplicationThrottled`` ...) and on the status, so both are
what real Graph sends for the same situation; ``innerError`` carries the request ids and date.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["GraphError", "canned"]


class GraphError(Exception):
    """A Graph answer other than success: raised anywhere in the fake, rendered by the server."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self, request_id: str, client_request_id: str | None = None) -> dict[str, Any]:
        inner = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id or request_id,
        }
        return {"error": {"code": self.code, "message": self.message, "innerError": inner}}

    # -- the ones the fake raises itself -------------------------------------------------------

    @classmethod
    def bad_request(cls, message: str, code: str = "BadRequest") -> GraphError:
        return cls(400, code, message)

    @classmethod
    def invalid_body(cls, message: str) -> GraphError:
        """OData could not read the body (unknown property, wrong type, bad enum value)."""
        return cls(400, "RequestBodyRead", message)

    @classmethod
    def validation(cls) -> GraphError:
        return cls(
            400, "ErrorPropertyValidationFailure", "At least one property failed validation."
        )

    @classmethod
    def time_window_required(cls) -> GraphError:
        return cls(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified "
            "by the query string parameters StartDateTime and EndDateTime.",
        )

    @classmethod
    def malformed_id(cls) -> GraphError:
        return cls(400, "ErrorInvalidIdMalformed", "Id is malformed.")

    @classmethod
    def item_not_found(cls) -> GraphError:
        return cls(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    @classmethod
    def resource_not_found(cls, message: str = "Resource not found for the segment.") -> GraphError:
        return cls(404, "ResourceNotFound", message)

    @classmethod
    def conflict(cls) -> GraphError:
        return cls(
            412,
            "ErrorIrresolvableConflict",
            "The change key passed in the request does "
            "not match the current change key for the item.",
        )

    @classmethod
    def unauthenticated(cls, message: str) -> GraphError:
        headers = {
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.'
            'microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-'
            'c000-000000000000"'
        }
        return cls(401, "InvalidAuthenticationToken", message, headers=headers)

    @classmethod
    def access_denied(cls) -> GraphError:
        return cls(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")

    @classmethod
    def time_zone(cls, name: str) -> GraphError:
        return cls(
            400,
            "TimeZoneNotSupportedException",
            "A valid TimeZone value must be "
            f"specified. The following TimeZone value is not supported: '{name}'.",
        )

    @classmethod
    def unsupported_query(cls, message: str) -> GraphError:
        return cls(400, "ErrorInvalidUrlQuery", message)

    @classmethod
    def throttled(cls, message: str, retry_after: float | None) -> GraphError:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls(429, "ApplicationThrottled", message, headers=headers)

    @classmethod
    def extension(cls, reason: str, operation: str = "Create") -> GraphError:
        """How the subscription service words its refusals."""
        message = f"Operation: {operation}; Exception: [Status Code: BadRequest; Reason: {reason}]"
        return cls(400, "ExtensionError", message)


# (code, message) of the canned answers a fault produces, per status.
_CANNED: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    404: ("ErrorItemNotFound", "The specified object was not found in the store."),
    409: ("ErrorIrresolvableConflict", "Another write is in progress for this item."),
    412: (
        "ErrorIrresolvableConflict",
        "The change key passed in the request does not match the current change key for the item.",
    ),
    429: ("TooManyRequests", "Too many requests, retry after some time."),
    500: ("InternalServerError", "An internal server error occurred. The operation failed."),
    502: ("BadGateway", "The server received an invalid response from an upstream server."),
    503: ("ServiceNotAvailable", "Service is temporarily unavailable, retry later."),
    504: ("GatewayTimeout", "The request timed out."),
}


def canned(status: int, code: str | None = None, retry_after: float | None = None) -> GraphError:
    """The answer Graph gives for ``status`` (with ``code`` if the test chose one)."""
    made_code, message = _CANNED.get(status, ("UnknownError", f"HTTP {status}"))
    if status == 401:
        error = GraphError.unauthenticated(message)
        error.code = code or made_code
    else:
        error = GraphError(status, code or made_code, message)
    if retry_after is not None:
        error.headers["Retry-After"] = f"{retry_after:g}"
    return error
