"""Google's OAuth 2.0 endpoints: the consent page (answered at once) and the token endpoint.

Errors are Google's: the token endpoint answers ``{"error", "error_description"}`` (400
``invalid_grant``, 401 ``invalid_client``, ...); the consent page either redirects back with a
``code`` (or ``error=access_denied``) or shows an error page for a bad client or redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from tests.fakes.google.errors import ApiError
from tests.fakes.google.faults import Faults

__all__ = ["ALL_SCOPES", "Access", "OAuth"]

SCOPE = "https://www.googleapis.com/auth/"
ALL_SCOPES = frozenset(
    SCOPE + name
    for name in (
        "calendar", "calendar.readonly", "calendar.events", "calendar.events.readonly",
        "calendar.events.owned", "calendar.events.owned.readonly", "calendar.calendarlist",
        "calendar.calendarlist.readonly", "calendar.calendars", "calendar.calendars.readonly",
        "calendar.app.created", "calendar.freebusy", "calendar.events.freebusy",
        "calendar.settings.readonly", "calendar.acls", "calendar.acls.readonly",
    )
)  # fmt: skip
DEFAULT_GRANT = (SCOPE + "calendar", SCOPE + "calendar.events",
                 SCOPE + "calendar.calendarlist.readonly")  # fmt: skip
# Which scopes let a token do what.
EVENTS_READ = frozenset(SCOPE + n for n in ("calendar", "calendar.readonly", "calendar.events",
                        "calendar.events.readonly", "calendar.events.owned",
                        "calendar.events.owned.readonly"))  # fmt: skip
EVENTS_WRITE = frozenset(SCOPE + n for n in ("calendar", "calendar.events",
                         "calendar.events.owned"))  # fmt: skip
LIST_READ = frozenset(SCOPE + n for n in ("calendar", "calendar.readonly",
                      "calendar.calendarlist", "calendar.calendarlist.readonly"))  # fmt: skip
CODE_LIFETIME = 600.0


@dataclass
class Access:
    client_id: str | None
    scopes: frozenset[str]
    expires_at: float
    refresh_token: str | None = None


@dataclass
class _Grant:
    client_id: str
    scopes: frozenset[str]


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str | None
    method: str
    offline: bool
    expires_at: float
    used: bool = field(default=False)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    body = {"error": error, "error_description": description}
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def _error_page(status: int, error: str, detail: str) -> web.Response:
    text = f"<html><body><h1>Error {status}: {error}</h1><p>{detail}</p></body></html>"
    return web.Response(status=status, text=text, content_type="text/html")


def _loopback(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    loop = host in ("127.0.0.1", "localhost", "::1")
    return parts.scheme == "http" and loop and port != 0 and not parts.fragment


class OAuth:
    """Clients, grants and tokens of the one Google user the fake serves."""

    def __init__(self, clock: Callable[[], float], faults: Faults) -> None:
        self._clock = clock
        self._faults = faults
        self._lock = threading.Lock()
        self.access_token_lifetime = 3599
        self.clients: dict[str, str | None] = {}
        self._grants: dict[str, _Grant] = {}
        self._access: dict[str, Access] = {}
        self._codes: dict[str, _Code] = {}
        self._consented: set[str] = set()  # clients the user already gave offline access
        self.user_token = "ya29.user-" + secrets.token_urlsafe(24)
        self._access[self.user_token] = Access(None, ALL_SCOPES, math.inf)
        self.refreshes = 0  # successful refresh_token grants

    # -- the test's side ---------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str | None) -> None:
        with self._lock:
            self.clients[client_id] = client_secret

    def issue_refresh_token(self, client_id: str, scope: str | None = None) -> str:
        if client_id not in self.clients:
            raise ValueError(f"register the client {client_id!r} first")
        scopes = frozenset(scope.split()) if scope else frozenset(DEFAULT_GRANT)
        token = "1//" + secrets.token_urlsafe(48)
        with self._lock:
            self._grants[token] = _Grant(client_id, scopes)
            self._consented.add(client_id)
        return token

    def revoke(self, refresh_token: str) -> None:
        with self._lock:
            self._grants.pop(refresh_token, None)
            for token in [t for t, a in self._access.items() if a.refresh_token == refresh_token]:
                del self._access[token]

    def expire_access_tokens(self) -> None:
        """Every issued access token is refused from now on (the user's own token stays)."""
        with self._lock:
            self._access = {self.user_token: self._access[self.user_token]}

    # -- the API's side ----------------------------------------------------------------------

    def check(self, authorization: str | None, needed: frozenset[str]) -> Access:
        if not authorization:
            raise ApiError.login_required()
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            access = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
            if access is not None and access.expires_at <= self._clock():
                del self._access[token.strip()]
                access = None
        if access is None:
            raise ApiError.auth_error()
        if not access.scopes & needed:
            raise ApiError.insufficient_scope()
        return access

    def _mint(self, client_id: str, scopes: frozenset[str], refresh: str | None) -> str:
        token = "ya29." + secrets.token_urlsafe(48)
        expires = self._clock() + self.access_token_lifetime
        self._access[token] = Access(client_id, scopes, expires, refresh)
        return token

    # -- HTTP --------------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        values = {k: str(v) for k, v in form.items()}
        client_id, secret = values.get("client_id"), values.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            decoded = base64.b64decode(basic[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        if not client_id or client_id not in self.clients:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        expected = self.clients[client_id]
        if expected is not None and not (secret and secrets.compare_digest(secret, expected)):
            return _oauth_error(401, "invalid_client", "Unauthorized")
        grant_type = values.get("grant_type", "")
        if grant_type == "refresh_token":
            return self._refresh(client_id, values)
        if grant_type == "authorization_code":
            return self._exchange(client_id, values)
        return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _refresh(self, client_id: str, values: dict[str, str]) -> web.Response:
        refresh = values.get("refresh_token", "")
        with self._lock:
            grant = self._grants.get(refresh)
            if grant is None or self._faults.invalid_grant:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            if grant.client_id != client_id:
                return _oauth_error(401, "unauthorized_client", "Unauthorized")
            scopes = grant.scopes
            if values.get("scope"):
                asked = frozenset(values["scope"].split())
                if not asked <= grant.scopes:
                    return _oauth_error(400, "invalid_scope", "Bad Request")
                scopes = asked
            token = self._mint(client_id, scopes, refresh)
            self.refreshes += 1
        return web.json_response(
            {"access_token": token, "expires_in": self.access_token_lifetime,
             "scope": " ".join(sorted(scopes)), "token_type": "Bearer"},
            headers={"Cache-Control": "no-store"},
        )  # fmt: skip

    def _exchange(self, client_id: str, values: dict[str, str]) -> web.Response:
        with self._lock:
            code = self._codes.get(values.get("code", ""))
            if code is None or code.expires_at <= self._clock():
                return _oauth_error(400, "invalid_grant", "Malformed auth code.")
            if code.used or code.client_id != client_id:
                return _oauth_error(400, "invalid_grant", "Bad Request")
            if values.get("redirect_uri") != code.redirect_uri:
                return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            if code.challenge is not None:
                verifier = values.get("code_verifier")
                if not verifier:
                    return _oauth_error(400, "invalid_grant", "Missing code verifier.")
                if not secrets.compare_digest(_challenge(verifier, code.method), code.challenge):
                    return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
            code.used = True
            answer: dict[str, Any] = {"expires_in": self.access_token_lifetime,
                                      "scope": " ".join(sorted(code.scopes)),
                                      "token_type": "Bearer"}  # fmt: skip
            refresh = None
            if code.offline:
                refresh = "1//" + secrets.token_urlsafe(48)
                self._grants[refresh] = _Grant(client_id, code.scopes)
                answer["refresh_token"] = refresh
            answer["access_token"] = self._mint(client_id, code.scopes, refresh)
        return web.json_response(answer, headers={"Cache-Control": "no-store"})

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        client_id = query.get("client_id", "")
        if client_id not in self.clients:
            return _error_page(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = query.get("redirect_uri", "")
        if not _loopback(redirect_uri):
            return _error_page(400, "redirect_uri_mismatch", "The redirect URI is not allowed.")
        if not query.get("scope"):
            return _error_page(400, "invalid_request", "Missing required parameter: scope")
        state = {"state": query["state"]} if "state" in query else {}
        if query.get("response_type") != "code":
            return _redirect(redirect_uri, {"error": "unsupported_response_type", **state})
        method = query.get("code_challenge_method", "plain")
        if method not in ("S256", "plain"):
            return _error_page(400, "invalid_request", "Invalid code_challenge_method")
        if self._faults.deny_consent:
            return _redirect(redirect_uri, {"error": "access_denied", **state})
        scopes = frozenset(query["scope"].split())
        unknown = scopes - ALL_SCOPES - {"openid", "email", "profile"}
        if unknown:
            return _error_page(400, "invalid_scope", f"Some requested scopes were invalid: "
                                                     f"{' '.join(sorted(unknown))}")  # fmt: skip
        offline = query.get("access_type") == "offline"
        with self._lock:
            # Google sends a refresh token on the first consent, or when consent is asked again
            first = client_id not in self._consented or query.get("prompt") == "consent"
            if offline:
                self._consented.add(client_id)
            code = "4/" + secrets.token_urlsafe(40)
            self._codes[code] = _Code(
                client_id, redirect_uri, scopes, query.get("code_challenge"), method,
                offline and first, self._clock() + CODE_LIFETIME,
            )  # fmt: skip
        return _redirect(redirect_uri, {**state, "code": code, "scope": " ".join(sorted(scopes))})

    async def revoke_endpoint(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = str(form.get("token") or request.query.get("token") or "")
        with self._lock:
            known = token in self._grants or token in self._access
        if not known:
            return _oauth_error(400, "invalid_token", "Token expired or revoked")
        if token in self._grants:
            self.revoke(token)
        else:
            with self._lock:
                self._access.pop(token, None)
        return web.json_response({})


def _challenge(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _redirect(uri: str, params: dict[str, str]) -> web.Response:
    glue = "&" if "?" in uri else "?"
    return web.Response(status=302, headers={"Location": uri + glue + urlencode(params)})
