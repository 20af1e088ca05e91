"""A Google source's options from the admin file, and the bridge they describe."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from kalends.bridges.base import SourceOptionError
from kalends.bridges.context import SourceContext
from kalends.bridges.google.api import GOOGLE_API_URL, CalendarApi
from kalends.bridges.google.bridge import GoogleBridge
from kalends.bridges.google.push import PushSettings, open_watch
from kalends.bridges.google.tokens import GOOGLE_TOKEN_URL, SCOPES, GoogleTokens
from kalends.bridges.http import NotSignedIn
from kalends.bridges.option_values import flag, text, url, whole

__all__ = [
    "DEFAULT_CALENDAR",
    "GOOGLE_AUTH_URL",
    "OPTIONS",
    "GoogleOptions",
    "account_tokens",
    "open_bridge",
]

GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/auth"
DEFAULT_CALENDAR = "primary"  # Google's alias of the account's own calendar
OPTIONS = (
    "calendar", "account", "client_id", "client_secret", "timezone", "page_size", "push",
    "channel_ttl", "api_url", "token_url", "auth_url",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GoogleOptions:
    calendar: str
    account: str  # the name the credentials are stored under (sources of one account share it)
    client_id: str | None
    client_secret: str | None
    timezone: str | None
    page_size: int
    push: bool
    channel_ttl: int
    api_url: str
    token_url: str
    auth_url: str


def read_options(options: Mapping[str, object], source: str) -> GoogleOptions:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise SourceOptionError(
            f"{unknown[0]}: not a Google source option (known: {', '.join(OPTIONS)})"
        )
    zone = text(options, "timezone", None)
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise SourceOptionError(f"timezone: {zone!r} is not an IANA time zone") from None
    return GoogleOptions(
        calendar=text(options, "calendar", DEFAULT_CALENDAR) or DEFAULT_CALENDAR,
        account=text(options, "account", source) or source,
        client_id=text(options, "client_id", None),
        client_secret=text(options, "client_secret", None),
        timezone=zone,
        page_size=whole(options, "page_size", 250, 1, 2500),
        push=flag(options, "push", True),
        channel_ttl=whole(options, "channel_ttl", 604800, 300, 2_592_000),
        api_url=url(options, "api_url", GOOGLE_API_URL),
        token_url=url(options, "token_url", GOOGLE_TOKEN_URL),
        auth_url=url(options, "auth_url", GOOGLE_AUTH_URL),
    )


def open_bridge(options: Mapping[str, object], context: SourceContext) -> GoogleBridge:
    """The bridge of one Google calendar (option ``calendar``, default the primary one)."""
    chosen = read_options(options, context.name)
    tokens: Any = account_tokens(chosen, context)
    api = CalendarApi(chosen.api_url, tokens, chosen.calendar, name=f"google {context.name}")
    watcher = None
    if chosen.push and context.hooks is not None and context.public_url:
        push = PushSettings(
            context.name, chosen.account, context.public_url, context.hooks,
            context.channels, chosen.channel_ttl,
        )  # fmt: skip
        watcher = partial(open_watch, api, push)
    return GoogleBridge(api, time_zone=chosen.timezone, page_size=chosen.page_size, watcher=watcher)


def account_tokens(chosen: GoogleOptions, context: SourceContext) -> GoogleTokens | NotSignedIn:
    if context.vault is None:
        return NotSignedIn(context.name, "no credential store")
    try:
        secrets = context.vault.get(chosen.account)
    except ValueError as error:  # a row sealed with another key
        return NotSignedIn(context.name, str(error))
    if not secrets or not secrets.get("refresh_token"):
        return NotSignedIn(context.name, "this Google account is not signed in yet")
    return GoogleTokens(context.name, secrets, SCOPES)
