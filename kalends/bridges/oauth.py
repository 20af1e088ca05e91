"""OAuth 2.0 for installed apps (RFC 8252): a browser sign-in answered on a loopback port.

Kalends opens a one-shot HTTP listener on 127.0.0.1, sends the user's browser to the provider
with a PKCE challenge (RFC 7636, S256) and a random ``state``, and exchanges the code that comes
back for tokens. Nothing here knows a provider: the endpoints and extra parameters come in.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from aiohttp import web

__all__ = ["OAuthClient", "OAuthError", "pkce_pair", "sign_in"]

_DONE_PAGE = "Kalends is signed in. You can close this tab.\n"


class OAuthError(Exception):
    """The sign-in did not give a usable grant (with the reason)."""


@dataclass(frozen=True, slots=True)
class OAuthClient:
    client_id: str
    client_secret: str | None = field(repr=False)
    auth_url: str
    token_url: str
    scopes: tuple[str, ...]
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. access_type=offline


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


async def sign_in(
    client: OAuthClient, open_url: Callable[[str], None], *, timeout: float = 300.0
) -> dict[str, Any]:
    """The provider's token answer (with a refresh token) after the user consented.

    ``open_url`` shows the sign-in page to the user (a browser, or a printed link); it runs in a
    thread, since it may block until the page was answered.
    """
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    answer: asyncio.Future[Mapping[str, str]] = asyncio.get_running_loop().create_future()
    runner, redirect_uri = await _listen(answer)
    try:
        query = {
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(client.scopes),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **client.extra,
        }
        browser = asyncio.create_task(
            asyncio.to_thread(open_url, f"{client.auth_url}?{urlencode(query)}")
        )
        try:
            params = await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise OAuthError(f"no answer from the sign-in page within {timeout:g} s") from None
        await browser
    finally:
        await runner.cleanup()
    code = _code(params, state)
    return await _exchange(client, code, redirect_uri, verifier)


async def _listen(answer: asyncio.Future[Mapping[str, str]]) -> tuple[web.AppRunner, str]:
    async def redirected(request: web.Request) -> web.Response:
        if not answer.done():
            answer.set_result(dict(request.query))
        return web.Response(text=_DONE_PAGE)

    app = web.Application()
    app.router.add_get("/", redirected)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/"


def _code(params: Mapping[str, str], state: str) -> str:
    if not secrets.compare_digest(params.get("state", ""), state):
        raise OAuthError("the sign-in answer does not belong to this sign-in (state mismatch)")
    if "error" in params:
        raise OAuthError(f"the sign-in was refused: {params['error']}")
    code = params.get("code")
    if not code:
        raise OAuthError("the sign-in answer carries no code")
    return code


async def _exchange(
    client: OAuthClient, code: str, redirect_uri: str, verifier: str
) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client.client_id,
        "code_verifier": verifier,
    }
    if client.client_secret:
        form["client_secret"] = client.client_secret
    try:
        async with httpx.AsyncClient(timeout=30.0) as http:
            response = await http.post(client.token_url, data=form)
    except httpx.HTTPError as error:
        raise OAuthError(f"the token endpoint is unreachable: {type(error).__name__}") from None
    try:
        tokens: dict[str, Any] = response.json()
    except ValueError:
        raise OAuthError(f"the token endpoint answered {response.status_code}, not JSON") from None
    if response.status_code != 200:
        reason = tokens.get("error_description") or tokens.get("error") or response.status_code
        raise OAuthError(f"the token endpoint refused the code: {reason}")
    if not tokens.get("refresh_token"):
        raise OAuthError("no refresh token came back (offline access was not granted)")
    return tokens
