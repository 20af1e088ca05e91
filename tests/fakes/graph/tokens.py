"""Tokens of the identity provider: access tokens Graph accepts, rotating refresh tokens,
the id_token and client_info msal builds its accounts from, and AADSTS-style errors.

Tokens are unsigned JWTs (msal only decodes the id_token; Graph clients treat access tokens as
opaque), so a test can read their claims. The id_token names the client (``aud``), the issuer
``{base}/{tid}/v2.0``, the user (``oid``, ``preferred_username``) and the tenant (``tid``).
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.store import Owner

__all__ = ["Access", "Grant", "Tokens", "aad_error", "parse_scopes"]

GRAPH = "https://graph.microsoft.com/"
GRAPH_SCOPES = frozenset(
    {
        "Calendars.ReadWrite",
        "Calendars.Read",
        "Calendars.ReadWrite.Shared",
        "Calendars.Read.Shared",
        "User.Read",
        "offline_access",
    }
)
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
READ = frozenset({"Calendars.Read", "Calendars.ReadWrite"})
WRITE = frozenset({"Calendars.ReadWrite"})


@dataclass
class Access:
    client_id: str | None
    scopes: frozenset[str]
    expires_at: float


@dataclass
class Grant:
    client_id: str
    scopes: frozenset[str]


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _jwt(claims: dict[str, Any]) -> str:
    return f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}."


def aad_error(error: str, code: int, description: str, status: int = 400) -> web.Response:
    now = datetime.now(UTC)
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
        f"Correlation ID: {correlation}\r\nTimestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def parse_scopes(text: str) -> frozenset[str] | None:
    """The Graph scopes (and offline_access) a request asks for; None if one is unknown."""
    asked = {s.removeprefix(GRAPH) for s in text.split()}
    if ".default" in asked:
        asked = (asked - {".default"}) | WRITE | {"User.Read"}
    if asked - GRAPH_SCOPES - OIDC_SCOPES:
        return None
    return frozenset(asked - (OIDC_SCOPES - {"offline_access"}))


class Tokens:
    def __init__(self, clock: Callable[[], float], owner: Owner) -> None:
        self._clock = clock
        self.owner = owner
        self.lock = threading.Lock()
        self.base_url = ""  # set once the port is known
        self.access_token_lifetime = 3599
        self.grants: dict[str, Grant] = {}  # refresh token -> what it may be redeemed for
        self._access: dict[str, Access] = {}
        self.user_token = self._mint(None, WRITE | {"User.Read"}, math.inf)

    def expire_access_tokens(self) -> None:
        """Every issued access token is refused from now on (the user's own token stays)."""
        with self.lock:
            self._access = {self.user_token: self._access[self.user_token]}

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.grants.clear()

    def check(self, authorization: str | None, write: bool) -> Access:
        """The access a Graph request's bearer token grants (401 / 403 otherwise)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphError.unauthenticated("Access token is empty.")
        with self.lock:
            access = self._access.get(token.strip())
            if access is not None and access.expires_at <= self._clock():
                del self._access[token.strip()]
                raise GraphError.unauthenticated("Access token has expired or is not yet valid.")
        if access is None:
            raise GraphError.unauthenticated("Access token validation failure. Invalid audience.")
        if not access.scopes & (WRITE if write else READ):
            raise GraphError.access_denied()
        return access

    def _mint(self, client_id: str | None, scopes: frozenset[str], lifetime: float) -> str:
        now = int(self._clock())
        owner = self.owner
        token = _jwt(
            {
                "aud": "00000003-0000-0000-c000-000000000000",
                "iss": f"https://sts.windows.net/{owner.tid}/",
                "iat": now,
                "nbf": now,
                "exp": now + int(min(lifetime, 10**9)),
                "appid": client_id,
                "name": owner.name,
                "oid": owner.oid,
                "scp": " ".join(sorted(scopes)),
                "tid": owner.tid,
                "upn": owner.address,
                "uti": secrets.token_urlsafe(16),
                "ver": "1.0",
            }
        )
        self._access[token] = Access(client_id, scopes, self._clock() + lifetime)
        return token

    def issue(self, client_id: str, scopes: frozenset[str], client_info: bool) -> web.Response:
        """A token answer: access, refresh and id tokens (call with ``lock`` held)."""
        refresh = "1.AQ" + secrets.token_urlsafe(96)
        self.grants[refresh] = Grant(client_id, scopes)
        now, owner = int(self._clock()), self.owner
        subject = base64.urlsafe_b64encode(f"{owner.oid}/{client_id}".encode()).decode()
        id_token = _jwt(
            {
                "aud": client_id,
                "iss": f"{self.base_url}/{owner.tid}/v2.0",
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "name": owner.name,
                "oid": owner.oid,
                "preferred_username": owner.address,
                "rh": "0.AQ" + secrets.token_hex(8),
                "sub": subject.rstrip("="),
                "tid": owner.tid,
                "uti": secrets.token_urlsafe(16),
                "ver": "2.0",
            }
        )
        granted = sorted(s for s in scopes if s != "offline_access")
        lifetime = self.access_token_lifetime
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join([*granted, "profile", "openid", "email"]),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self._mint(client_id, scopes, lifetime),
            "refresh_token": refresh,
            "id_token": id_token,
        }
        if client_info:
            answer["client_info"] = _b64({"uid": owner.oid, "utid": owner.tid})
        return web.json_response(answer, headers={"Cache-Control": "no-store"})
