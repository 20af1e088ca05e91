"""Access tokens for one Google account, renewed with google-auth from the stored refresh token.

google-auth does the OAuth part (the refresh request, expiry with its safety margin, the
``invalid_grant`` error); its HTTP goes through a small adapter over httpx, so Kalends carries no
second HTTP stack. Refreshes are single-flight: concurrent requests wait for one renewal.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

import httpx
from google.auth import exceptions as auth_errors
from google.auth import transport
from google.oauth2.credentials import Credentials

from kalends.bridges.base import AuthExpired, Transient

__all__ = ["GOOGLE_TOKEN_URL", "SCOPES", "GoogleTokens", "HttpxAuthRequest"]

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
)


class _Response(transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxAuthRequest(transport.Request):
    """google-auth's transport interface over a synchronous httpx client."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **_: Any,
    ) -> _Response:
        try:
            response = self._client.request(
                method, url, content=body, headers=headers, timeout=timeout or 30.0
            )
        except httpx.HTTPError as error:
            failure = f"{type(error).__name__}: {error}"
            raise auth_errors.TransportError(failure) from error  # type: ignore[no-untyped-call]
        return _Response(response)


class GoogleTokens:
    """A TokenSource for one account: ``secrets`` holds refresh_token, client_id,
    client_secret and token_url, as ``kalends auth SOURCE`` stored them."""

    def __init__(self, source: str, secrets: Mapping[str, str], scopes: tuple[str, ...]) -> None:
        self._source = source
        self._credentials = Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=secrets.get("refresh_token"),
            token_uri=secrets.get("token_url") or GOOGLE_TOKEN_URL,
            client_id=secrets.get("client_id"),
            client_secret=secrets.get("client_secret"),
            scopes=list(scopes),
        )
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30.0)

    async def token(self) -> str:
        if self._credentials.valid:
            return str(self._credentials.token)
        return await self._refresh(stale=self._credentials.token)

    async def renew(self) -> str:
        return await self._refresh(stale=self._credentials.token)

    async def _refresh(self, stale: str | None) -> str:
        return await asyncio.to_thread(self._refresh_alone, stale)

    def _refresh_alone(self, stale: str | None) -> str:
        """One refresh at a time, from any event loop; a request that waited for another's
        refresh uses its token."""
        with self._lock:
            if self._credentials.token != stale and self._credentials.valid:
                return str(self._credentials.token)
            try:
                self._credentials.refresh(HttpxAuthRequest(self._http))  # type: ignore[no-untyped-call]
            except auth_errors.RefreshError as error:
                raise self._refresh_failure(error) from None
            except auth_errors.TransportError as error:
                raise Transient(f"Google sign-in unreachable: {error}") from None
            return str(self._credentials.token)

    def _refresh_failure(self, error: auth_errors.RefreshError) -> Exception:
        detail = str(error.args[0]) if error.args else "the refresh token was refused"
        if getattr(error, "retryable", False):
            return Transient(f"Google sign-in failed for now: {detail}")
        return AuthExpired(
            f"needs re-auth: Google refused the sign-in of {self._source!r} ({detail}); "
            f"run `kalends auth {self._source}`"
        )

    def close(self) -> None:
        self._http.close()
