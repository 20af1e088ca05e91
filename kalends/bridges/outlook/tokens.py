"""Access tokens for one Microsoft account, from msal and its token cache kept sealed.

msal does the OAuth part (device-code sign-in, silent renewal with the cached refresh token,
refresh-token rotation); its cache is serialized into the account's sealed credentials after
every change, so a rotated refresh token is never lost. msal is synchronous: its calls run in
a thread, one at a time per account.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msal  # type: ignore[import-untyped]
import requests

from kalends.bridges.base import AuthExpired, Transient
from kalends.bridges.context import SecretVault

__all__ = ["GRAPH_AUTHORITY", "SCOPES", "MsalSettings", "MsalTokens", "new_app"]

GRAPH_AUTHORITY = "https://login.microsoftonline.com/common"
SCOPES = ("Calendars.ReadWrite",)
CACHE_KEY = "token_cache"


@dataclass(frozen=True, slots=True)
class MsalSettings:
    client_id: str
    authority: str
    verify: str | bool = True  # a CA bundle path for an identity provider behind a private CA
    instance_discovery: bool = True


def new_app(settings: MsalSettings, cache: Any) -> Any:
    extra: dict[str, Any] = {}
    if isinstance(settings.verify, str):
        # A private CA: requests would let REQUESTS_CA_BUNDLE in the environment override it.
        session = requests.Session()
        session.trust_env = False
        session.verify = settings.verify
        extra["http_client"] = session
    return msal.PublicClientApplication(
        settings.client_id,
        authority=settings.authority,
        token_cache=cache,
        instance_discovery=settings.instance_discovery,
        **extra,
    )


def load_cache(serialized: str | None) -> Any:
    cache = msal.SerializableTokenCache()
    if serialized:
        cache.deserialize(serialized)
    return cache


class MsalTokens:
    """A TokenSource for one account (``account``: the name its credentials are kept under)."""

    def __init__(
        self, source: str, account: str, settings: MsalSettings, vault: SecretVault
    ) -> None:
        self._source = source
        self._account = account
        self._vault = vault
        secrets = vault.get(account) or {}
        self._cache = load_cache(secrets.get(CACHE_KEY))
        self._app = new_app(settings, self._cache)
        self._settings = settings
        self._token: str | None = None
        self._lock = threading.Lock()  # msal calls, one at a time (from any event loop)

    def _needs_sign_in(self, why: str) -> AuthExpired:
        return AuthExpired(f"needs re-auth: {why}; run `kalends auth {self._source}`")

    async def token(self) -> str:
        return await asyncio.to_thread(self._acquire, False)

    async def renew(self) -> str:
        return await asyncio.to_thread(self._acquire, True)

    def _acquire(self, force: bool) -> str:
        with self._lock:
            return self._acquire_alone(force)

    def _acquire_alone(self, force: bool) -> str:
        accounts = self._app.get_accounts()
        if not accounts:
            raise self._needs_sign_in("this Microsoft account is not signed in yet")
        try:
            result = self._app.acquire_token_silent_with_error(
                list(SCOPES), account=accounts[0], force_refresh=force
            )
        except (OSError, ValueError) as error:  # msal's HTTP layer (requests) failing
            raise Transient(f"Microsoft sign-in unreachable: {type(error).__name__}") from None
        self._save()
        return self._token_of(result)

    def _token_of(self, result: Mapping[str, Any] | None) -> str:
        if result is None:
            raise self._needs_sign_in("Microsoft no longer accepts the stored sign-in")
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error", "unknown_error"))
        detail = str(result.get("error_description", "")).splitlines()[0][:200]
        if error in ("invalid_grant", "interaction_required", "invalid_client"):
            raise self._needs_sign_in(f"Microsoft refused the sign-in ({error}: {detail})")
        raise Transient(f"Microsoft sign-in failed for now ({error}: {detail})")

    def _save(self) -> None:
        if self._cache.has_state_changed:
            save_cache(self._vault, self._account, self._cache, self._settings)
            self._cache.has_state_changed = False


def save_cache(vault: SecretVault, account: str, cache: Any, settings: MsalSettings) -> None:
    """Keep the account's msal cache (refresh tokens) sealed, with what it belongs to."""
    secrets = {
        CACHE_KEY: cache.serialize(),
        "client_id": settings.client_id,
        "authority": settings.authority,
    }
    if isinstance(settings.verify, str):
        secrets["ca_file"] = settings.verify
    vault.put(account, secrets)


def device_sign_in(
    settings: MsalSettings, show: Callable[[str], None], timeout: float = 900.0
) -> Any:
    """The device-code flow: ``show`` tells the user where to go and which code to enter;
    returns the filled cache (raises AuthExpired when the sign-in did not complete)."""
    cache = load_cache(None)
    app = new_app(settings, cache)
    flow = app.initiate_device_flow(scopes=list(SCOPES))
    if "user_code" not in flow:
        raise AuthExpired(f"Microsoft refused to start a sign-in: {flow.get('error_description')}")
    show(str(flow["message"]))
    flow["expires_at"] = min(float(flow.get("expires_at", 0)) or 1e18, time.time() + timeout)
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        reason = result.get("error_description") or result.get("error") or "no token"
        raise AuthExpired(f"the sign-in did not complete: {str(reason).splitlines()[0]}")
    return cache
