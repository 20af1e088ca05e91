"""The identity provider: Entra ID's v2.0 endpoints as msal uses them, over the fake's TLS.

OIDC discovery at ``{authority}/v2.0/.well-known/openid-configuration``, the device-code flow
(``authorization_pending`` until the test approves, ``slow_down``, ``expired_token``,
``authorization_declined``) and the token endpoint (device-code and refresh-token grants; refresh
tokens rotate). Tokens themselves are made in ``tokens``.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.graph.faults import Faults
from tests.fakes.graph.store import Owner
from tests.fakes.graph.tokens import Tokens, aad_error, parse_scopes

__all__ = ["IdentityProvider"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
MULTI_TENANT = ("common", "organizations", "consumers")


@dataclass
class _DeviceCode:
    client_id: str
    user_code: str
    scopes: frozenset[str]
    expires_at: float
    state: str = "pending"  # approved, declined, expired, redeemed


class IdentityProvider:
    def __init__(self, clock: Callable[[], float], owner: Owner, faults: Faults) -> None:
        self._clock = clock
        self.owner = owner
        self._faults = faults
        self._lock = threading.Lock()
        self.tokens = Tokens(clock, owner)
        self.device_code_lifetime = 900
        self.device_code_interval = 1  # seconds between polls (Entra ID says 5; scaled down)
        self._codes: dict[str, _DeviceCode] = {}
        self.refreshes = 0  # successful refresh_token grants

    @property
    def base_url(self) -> str:
        return self.tokens.base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self.tokens.base_url = url

    # -- the test's side ---------------------------------------------------------------------

    def settle(self, user_code: str, state: str) -> None:
        """The user approves (or declines) a pending device code."""
        with self._lock:
            for code in self._codes.values():
                if code.user_code == user_code and code.state == "pending":
                    code.state = state
                    return
        raise KeyError(f"no pending device code {user_code!r}")

    def expire_device_codes(self) -> None:
        with self._lock:
            for code in self._codes.values():
                if code.state == "pending":
                    code.state = "expired"

    # -- HTTP --------------------------------------------------------------------------------

    def _issuer(self, tenant: str) -> str:
        shown = "{tenantid}" if tenant.lower() in MULTI_TENANT else self.owner.tid
        return f"{self.base_url}/{shown}/v2.0"

    def _tenant(self, request: web.Request) -> str | None:
        tenant = request.match_info["tenant"]
        known = (*MULTI_TENANT, self.owner.tid, self.owner.address.partition("@")[2])
        return tenant if tenant.lower() in {t.lower() for t in known} else None

    async def discovery(self, request: web.Request) -> web.Response:
        tenant = self._tenant(request)
        if tenant is None:
            return aad_error(
                "invalid_tenant", 90002, f"Tenant '{request.match_info['tenant']}' not found."
            )
        base = f"{self.base_url}/{tenant}"
        return web.json_response(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": self._issuer(tenant),
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{self.base_url}/oidc/userinfo",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "name",
                    "preferred_username",
                    "oid",
                    "tid",
                    "ver",
                    "email",
                ],
                "tenant_region_scope": None,
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
            }
        )

    @staticmethod
    async def _form(request: web.Request) -> dict[str, str]:
        return {k: str(v) for k, v in (await request.post()).items()}

    async def device_code(self, request: web.Request) -> web.Response:
        values = await self._form(request)
        if self._tenant(request) is None:
            return aad_error("invalid_tenant", 90002, "Tenant not found.")
        client_id = values.get("client_id", "")
        scopes = parse_scopes(values.get("scope", ""))
        if not client_id:
            return aad_error(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        if scopes is None:
            return aad_error(
                "invalid_scope",
                70011,
                "The provided value for the input parameter 'scope' is not valid.",
            )
        user_code = "".join(
            secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9)
        )
        device_code = "DAQABAAEAAA" + secrets.token_urlsafe(96)
        with self._lock:
            self._codes[device_code] = _DeviceCode(
                client_id, user_code, scopes, self._clock() + self.device_code_lifetime
            )
        uri = f"{self.base_url}/devicelogin"
        return web.json_response(
            {
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": uri,
                "expires_in": self.device_code_lifetime,
                "interval": self.device_code_interval,
                "message": f"To sign in, use a web browser to open the page {uri} and enter the "
                f"code {user_code} to authenticate.",
            }
        )

    async def device_login(self, request: web.Request) -> web.Response:
        text = (
            "<html><body><h1>Enter code</h1><p>The fake approves codes through its control "
            "API (approve_device_code).</p></body></html>"
        )
        return web.Response(text=text, content_type="text/html")

    async def token(self, request: web.Request) -> web.Response:
        values = await self._form(request)
        if self._tenant(request) is None:
            return aad_error("invalid_tenant", 90002, "Tenant not found.")
        grant_type = values.get("grant_type", "")
        client_id = values.get("client_id", "")
        if grant_type == DEVICE_GRANT:
            return self._redeem_device_code(client_id, values)
        if grant_type == "refresh_token":
            return self._refresh(client_id, values)
        return aad_error(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    def _redeem_device_code(self, client_id: str, values: dict[str, str]) -> web.Response:
        with self._lock:
            code = self._codes.get(values.get("device_code", ""))
            if code is None or code.client_id != client_id:
                return aad_error(
                    "invalid_grant",
                    70000,
                    "The provided value for the input parameter 'device_code' is not valid.",
                )
            if code.state == "pending" and code.expires_at <= self._clock():
                code.state = "expired"
            if code.state == "pending" and self._faults.auto_approve:
                code.state = "approved"
            if code.state == "pending":
                if self._faults.slow_down:
                    return aad_error(
                        "slow_down",
                        70016,
                        "OAuth 2.0 device flow error. Polling too frequently, slow down.",
                    )
                return aad_error(
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            if code.state == "expired":
                return aad_error("expired_token", 70019, "Verification code expired.")
            if code.state == "declined":
                return aad_error(
                    "authorization_declined", 70000, "The user declined the authentication request."
                )
            if code.state == "redeemed":
                return aad_error(
                    "invalid_grant", 70000, "The provided grant has already been redeemed."
                )
            code.state = "redeemed"
        with self.tokens.lock:
            return self.tokens.issue(client_id, code.scopes, values.get("client_info") == "1")

    def _refresh(self, client_id: str, values: dict[str, str]) -> web.Response:
        refresh = values.get("refresh_token", "")
        with self.tokens.lock:
            grant = self.tokens.grants.get(refresh)
            if self._faults.invalid_grant:
                return aad_error(
                    "invalid_grant",
                    70000,
                    "The provided grant has expired due to "
                    "it being revoked, a fresh auth token is needed. The user might "
                    "have changed or reset their password.",
                )
            if grant is None:
                return aad_error(
                    "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
                )
            if grant.client_id != client_id:
                return aad_error(
                    "invalid_grant",
                    700005,
                    "Provided Authorization Code is "
                    "intended to use against other tenant, thus rejected.",
                )
            scopes = grant.scopes
            if values.get("scope"):
                asked = parse_scopes(values["scope"])
                if asked is None or not asked <= grant.scopes | {"offline_access"}:
                    return aad_error(
                        "invalid_grant",
                        65001,
                        "The user or administrator has not consented to use the application.",
                    )
            if self._faults.single_use_refresh_tokens:
                del self.tokens.grants[refresh]
            self.refreshes += 1
            return self.tokens.issue(client_id, scopes, values.get("client_info") == "1")
