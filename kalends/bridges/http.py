"""JSON-over-HTTPS plumbing shared by the provider bridges (Google, Microsoft Graph, ...).

One ``JsonApi`` per source: it adds the bearer token, renews it once on a 401, and turns every
failure into the bridge exception tree, so the engine's retry loop sees ``RateLimited`` with the
provider's Retry-After, ``Transient`` for timeouts and 5xx, ``PreconditionFailed`` for 412 and so
on. What differs between providers (where the error reason sits in the body, which 403s mean
"slow down") comes in as a small ``ErrorShape``.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from kalends.bridges.base import (
    AuthExpired,
    BridgeError,
    NotFound,
    PreconditionFailed,
    RateLimited,
    Transient,
)

__all__ = [
    "ApiFailure",
    "Conflict",
    "ErrorShape",
    "Gone",
    "JsonApi",
    "NotSignedIn",
    "TokenSource",
    "retry_after_seconds",
]

_MAX_MESSAGE = 200


class TokenSource(Protocol):
    """Bearer tokens for one account."""

    async def token(self) -> str:
        """A token believed valid (renewed first when it is about to expire)."""
        ...

    async def renew(self) -> str:
        """A fresh token, after the provider refused the last one; AuthExpired when the grant
        itself is gone (the user has to sign in again)."""
        ...


class NotSignedIn:
    """Tokens of a source nobody has signed in yet: every call says what to run."""

    def __init__(self, source: str, why: str) -> None:
        self._message = f"needs re-auth: {why}; run `kalends auth {source}`"

    async def token(self) -> str:
        raise AuthExpired(self._message)

    async def renew(self) -> str:
        raise AuthExpired(self._message)


class ApiFailure(BridgeError):
    """A provider answer outside the known cases, with its status and reason."""

    def __init__(self, message: str, status: int, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class Gone(NotFound):
    """410: the resource, or the sync state the request named, is gone for good."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Conflict(BridgeError):
    """409: the resource exists already (a client-chosen id is taken)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """How one provider writes its errors."""

    reason: Callable[[Any], str]  # the parsed JSON body -> machine-readable reason ("" if none)
    message: Callable[[Any], str]  # the parsed JSON body -> human message ("" if none)
    rate_limit_reasons: frozenset[str] = frozenset()  # 403s that mean "slow down"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) in seconds, None when absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    wait = moment.timestamp() - (time.time() if now is None else now)
    return max(wait, 0.0)


class JsonApi:
    """Requests to one API root with one account's tokens."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        shape: ErrorShape,
        *,
        name: str,
        timeout: float = 30.0,
        max_concurrency: int = 8,
        headers: Mapping[str, str] | None = None,
        verify: str | bool = True,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._tokens = tokens
        self._shape = shape
        self._name = name
        self._timeout = timeout
        self._headers = dict(headers or {})  # sent with every request (e.g. Graph's Prefer)
        self._verify = verify  # a CA bundle path for a provider behind a private CA
        self._given = client
        self._client: httpx.AsyncClient | None = client
        self._loop: asyncio.AbstractEventLoop | None = None
        self._max_concurrency = max_concurrency
        self._slots = asyncio.Semaphore(max_concurrency)

    def _http(self) -> httpx.AsyncClient:
        """The client of the running event loop: pooled connections belong to one loop, and
        a CLI run or a test may drive the bridge from several loops in turn."""
        loop = asyncio.get_running_loop()
        if self._client is None or (self._given is None and self._loop is not loop):
            self._client = httpx.AsyncClient(timeout=self._timeout, verify=_tls(self._verify))
            self._slots = asyncio.Semaphore(self._max_concurrency)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None
        close_tokens = getattr(self._tokens, "close", None)  # a token source with its own HTTP
        if callable(close_tokens):
            close_tokens()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The parsed JSON answer (None for an empty one); a bridge exception on failure."""
        response = await self._send(method, path, params, body, headers, await self._tokens.token())
        if response.status_code == 401:
            response = await self._send(
                method, path, params, body, headers, await self._tokens.renew()
            )
        if response.status_code >= 400:
            raise self._failure(method, path, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise Transient(f"{self._name}: {method} {path}: the answer is not JSON") from None

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        token: str,
    ) -> httpx.Response:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json", **self._headers}
        sent.update(headers or {})
        try:
            client = self._http()
            async with self._slots:
                return await client.request(method, url, params=params, json=body, headers=sent)
        except httpx.TimeoutException:
            raise Transient(f"{self._name}: {method} {path}: no answer in time") from None
        except httpx.TransportError as error:
            raise Transient(f"{self._name}: {method} {path}: {type(error).__name__}") from None

    def _failure(self, method: str, path: str, response: httpx.Response) -> BridgeError:
        status = response.status_code
        try:
            parsed: Any = response.json()
        except ValueError:
            parsed = None
        reason = _safe(self._shape.reason, parsed)
        message = _safe(self._shape.message, parsed) or response.reason_phrase
        text = f"{self._name}: {method} {path}: {status} {reason or ''} {message}".strip()
        text = " ".join(text.split())[: _MAX_MESSAGE + len(self._name) + len(path)]
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        return _classify(status, reason, text, wait, self._shape)


def _tls(verify: str | bool) -> ssl.SSLContext | bool:
    """httpx's ``verify``: a CA bundle path becomes a context trusting that bundle."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


def _classify(
    status: int, reason: str, text: str, wait: float | None, shape: ErrorShape
) -> BridgeError:
    if status == 429 or (status == 403 and reason in shape.rate_limit_reasons):
        return RateLimited(text, wait)
    if status >= 500:
        return RateLimited(text, wait) if wait is not None else Transient(text)
    if status == 401:
        return AuthExpired(text)
    simple: dict[int, Callable[[], BridgeError]] = {
        404: lambda: NotFound(text),
        409: lambda: Conflict(text, reason),
        410: lambda: Gone(text, reason),
        412: lambda: PreconditionFailed(text),
    }
    made = simple.get(status)
    return made() if made is not None else ApiFailure(text, status, reason)


def _safe(read: Callable[[Any], str], parsed: Any) -> str:
    try:
        value = read(parsed)
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
