"""``kalends auth SOURCE`` for a Google source: sign in once, keep the refresh token sealed."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kalends.bridges.base import SourceOptionError
from kalends.bridges.context import SecretVault
from kalends.bridges.google.options import read_options
from kalends.bridges.google.tokens import SCOPES
from kalends.bridges.oauth import OAuthClient, sign_in

__all__ = ["sign_in_google"]


async def sign_in_google(
    source: str,
    options: Mapping[str, object],
    vault: SecretVault,
    open_url: Callable[[str], None],
    *,
    timeout: float = 300.0,
) -> str:
    """Run the browser sign-in and store the grant; the line to show the admin."""
    chosen = read_options(options, source)
    if not chosen.client_id:
        raise SourceOptionError(
            "client_id: required to sign in (an OAuth client of type 'Desktop app' "
            "from the Google Cloud console)"
        )
    client = OAuthClient(
        client_id=chosen.client_id,
        client_secret=chosen.client_secret,
        auth_url=chosen.auth_url,
        token_url=chosen.token_url,
        scopes=SCOPES,
        extra={"access_type": "offline", "prompt": "consent"},
    )
    tokens = await sign_in(client, open_url, timeout=timeout)
    secrets = {
        "refresh_token": str(tokens["refresh_token"]),
        "client_id": chosen.client_id,
        "token_url": chosen.token_url,
        "scope": str(tokens.get("scope", " ".join(SCOPES))),
    }
    if chosen.client_secret:
        secrets["client_secret"] = chosen.client_secret
    vault.put(chosen.account, secrets)
    return f"{source}: signed in to Google; the grant is stored encrypted as {chosen.account!r}"
