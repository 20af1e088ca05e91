"""An Outlook source's options from the admin file, and the bridge they describe."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from kalends.bridges.base import SourceOptionError
from kalends.bridges.context import SecretVault, SourceContext
from kalends.bridges.http import NotSignedIn
from kalends.bridges.option_values import flag, text, url, whole
from kalends.bridges.outlook.api import GRAPH_URL, GraphApi
from kalends.bridges.outlook.bridge import OutlookBridge, Window
from kalends.bridges.outlook.mapping import PROPERTIES
from kalends.bridges.outlook.push import GraphPushSettings, open_watch
from kalends.bridges.outlook.tokens import (
    GRAPH_AUTHORITY,
    MsalSettings,
    MsalTokens,
    device_sign_in,
    save_cache,
)

__all__ = [
    "DEFAULT_CALENDAR",
    "OPTIONS",
    "OutlookOptions",
    "account_tokens",
    "open_bridge",
    "read_options",
    "sign_in_outlook",
]

DEFAULT_CALENDAR = ""  # the account's default calendar (/me/calendar)
OPTIONS = (
    "calendar", "account", "client_id", "authority", "timezone", "past_days", "future_days",
    "page_size", "push", "subscription_minutes", "graph_url", "ca_file",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OutlookOptions:
    calendar: str  # a calendar id; empty: the default calendar
    account: str
    msal: MsalSettings
    timezone: str
    past_days: int
    future_days: int
    page_size: int
    push: bool
    subscription_minutes: int
    graph_url: str
    ca_file: str | None


def read_options(options: Mapping[str, object], source: str) -> OutlookOptions:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise SourceOptionError(
            f"{unknown[0]}: not an Outlook source option (known: {', '.join(OPTIONS)})"
        )
    client_id = text(options, "client_id", None)
    if not client_id:
        raise SourceOptionError("client_id: required (an app registration's application id)")
    zone = text(options, "timezone", "UTC") or "UTC"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SourceOptionError(f"timezone: {zone!r} is not an IANA time zone") from None
    ca_file = text(options, "ca_file", None)
    authority = url(options, "authority", GRAPH_AUTHORITY)
    public = authority.startswith("https://login.microsoftonline.com/")
    return OutlookOptions(
        calendar=text(options, "calendar", DEFAULT_CALENDAR) or DEFAULT_CALENDAR,
        account=text(options, "account", source) or source,
        msal=MsalSettings(client_id, authority, ca_file or True, instance_discovery=public),
        timezone=zone,
        past_days=whole(options, "past_days", 365, 1, 3650),
        future_days=whole(options, "future_days", 730, 1, 3650),
        page_size=whole(options, "page_size", 100, 1, 1000),
        push=flag(options, "push", True),
        subscription_minutes=whole(options, "subscription_minutes", 4200, 45, 10080),
        graph_url=url(options, "graph_url", GRAPH_URL),
        ca_file=ca_file,
    )


def open_bridge(options: Mapping[str, object], context: SourceContext) -> OutlookBridge:
    """The bridge of one Outlook calendar (option ``calendar``, default the default one)."""
    chosen = read_options(options, context.name)
    tokens = account_tokens(chosen, context)
    api = GraphApi(
        chosen.graph_url, tokens, chosen.calendar, name=f"outlook {context.name}",
        page_size=chosen.page_size, verify=chosen.ca_file or True, expand_properties=PROPERTIES,
    )  # fmt: skip
    watcher = None
    if chosen.push and context.hooks is not None and context.public_url:
        push = GraphPushSettings(
            context.name, chosen.account, context.public_url, context.hooks,
            context.channels, chosen.subscription_minutes,
        )  # fmt: skip
        watcher = partial(open_watch, api, push)
    window = Window(chosen.past_days, chosen.future_days)
    return OutlookBridge(api, window, time_zone=chosen.timezone, watcher=watcher)


def account_tokens(chosen: OutlookOptions, context: SourceContext) -> MsalTokens | NotSignedIn:
    if context.vault is None:
        return NotSignedIn(context.name, "no credential store")
    try:
        context.vault.get(chosen.account)
    except ValueError as error:  # sealed with another key
        return NotSignedIn(context.name, str(error))
    return MsalTokens(context.name, chosen.account, chosen.msal, context.vault)


def sign_in_outlook(
    source: str,
    options: Mapping[str, object],
    vault: SecretVault,
    show: Callable[[str], None],
    *,
    timeout: float = 900.0,
) -> str:
    """``kalends auth SOURCE``: the device-code sign-in; the msal cache stored sealed."""
    chosen = read_options(options, source)
    cache = device_sign_in(chosen.msal, show, timeout)
    save_cache(vault, chosen.account, cache, chosen.msal)
    return f"{source}: signed in to Microsoft; the grant is stored encrypted as {chosen.account!r}"
