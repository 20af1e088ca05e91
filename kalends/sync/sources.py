"""From the admin file's sources to running parts: a bridge, a policy, a store per source."""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from sqlalchemy import Engine

from kalends.bridges.base import Bridge, Capability, SourceOptionError
from kalends.bridges.context import ChannelBook, HookRegistry, SecretVault, SourceContext
from kalends.bridges.privacy import LEVELS, ReducedBridge
from kalends.config import Settings, SourceSettings
from kalends.security.secrets import load_secret_key
from kalends.storage.base import Transactions
from kalends.storage.channels import SqlChannelBook
from kalends.storage.credentials import CredentialStore
from kalends.sync.model import Policy
from kalends.sync.sqlstore import SqlSyncStore, find_source_collection

# Options the engine reads itself; every other option goes to the provider's bridge.
ENGINE_OPTIONS = frozenset({"max_delete_share", "poll_interval", "privacy"})

_BRIDGE_MODULES = {
    "obsidian": "kalends.bridges.obsidian",
    "ics": "kalends.bridges.ics",
    "google": "kalends.bridges.google",
    "outlook": "kalends.bridges.outlook",
}


class BridgeOpener(Protocol):
    def __call__(self, options: Mapping[str, object], context: SourceContext) -> Bridge: ...


@dataclass(frozen=True, slots=True)
class Shared:
    """What every source of one process may use: the credentials, and (inside ``kalends
    serve``) the webhook endpoint with the address providers reach it at."""

    vault: SecretVault | None = None
    hooks: HookRegistry | None = None
    channels: ChannelBook | None = None
    public_url: str | None = None

    def context(self, name: str, data_dir: Path) -> SourceContext:
        return SourceContext(name, data_dir, self.vault, self.hooks, self.channels, self.public_url)


def open_shared(
    settings: Settings,
    engine: Engine,
    *,
    hooks: HookRegistry | None = None,
    public_url: str | None = None,
) -> Shared:
    """The credentials and channel records in the database; SecretKeyError when the key in
    KALENDS_SECRET_KEY or the key file is unusable."""
    box = load_secret_key(settings.server.data_dir, os.environ)
    return Shared(CredentialStore(engine, box), hooks, SqlChannelBook(engine), public_url)


def open_bridge(source: SourceSettings, context: SourceContext) -> Bridge:
    """The source's bridge; SourceOptionError names what is wrong in its options."""
    module_name = _BRIDGE_MODULES.get(source.type)
    if module_name is None:
        raise SourceOptionError(
            f"source {source.name!r}: type {source.type!r} has no bridge in this version "
            f"(available: {', '.join(sorted(_BRIDGE_MODULES))})"
        )
    opener: BridgeOpener = importlib.import_module(module_name).open_bridge
    options = {k: v for k, v in source.options.items() if k not in ENGINE_OPTIONS}
    level = source.options.get("privacy", "full")
    if level not in LEVELS:
        raise SourceOptionError(
            f"source {source.name!r}: privacy must be one of {', '.join(LEVELS)}, not {level!r}"
        )
    try:
        bridge = opener(MappingProxyType(options), context)
    except SourceOptionError as error:
        raise SourceOptionError(f"source {source.name!r}: {error}") from error
    return bridge if level == "full" else ReducedBridge(bridge, str(level))


def _number(source: SourceSettings, key: str, default: float) -> float:
    value = source.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SourceOptionError(f"source {source.name!r}: {key} must be a positive number")
    return float(value)


def policy_for(source: SourceSettings, capabilities: Capability) -> Policy:
    """How the engine treats this source. On a same-property clash with equal LAST-MODIFIED,
    a source of priority above 0 wins over the CalDAV side, else the CalDAV side wins."""
    share = _number(source, "max_delete_share", 0.5)
    if share > 1:
        raise SourceOptionError(f"source {source.name!r}: max_delete_share is a share (0..1]")
    return Policy(
        pull=source.direction != "write-only",
        push=source.direction != "read-only" and Capability.READ_ONLY not in capabilities,
        can_delete=Capability.NO_DELETE not in capabilities,
        tie="remote" if source.priority > 0 else "local",
        max_delete_share=share,
    )


def poll_interval(source: SourceSettings, bridge: Bridge) -> float:
    """Seconds between polls when nothing signals a change: the admin's, else the feed's own
    hint (REFRESH-INTERVAL), else a minute (five when the source pushes its changes)."""
    if "poll_interval" in source.options:
        return _number(source, "poll_interval", 60)
    hint = getattr(bridge, "poll_interval", None)
    if isinstance(hint, int | float) and hint > 0:
        return float(hint)
    return 300.0 if Capability.PUSH in bridge.capabilities else 60.0


@dataclass
class SourceParts:
    settings: SourceSettings
    bridge: Bridge
    store: SqlSyncStore
    policy: Policy
    interval: float


def open_source(
    settings: Settings, name: str, transactions: Transactions, shared: Shared | None = None
) -> SourceParts:
    source = settings.sources.get(name)
    if source is None:
        known = ", ".join(sorted(settings.sources)) or "none"
        raise SourceOptionError(f"no source named {name!r} in the admin file (sources: {known})")
    context = (shared or Shared()).context(name, settings.server.data_dir)
    bridge = open_bridge(source, context)
    store = SqlSyncStore(transactions, find_source_collection(transactions, name))
    policy = policy_for(source, bridge.capabilities)
    return SourceParts(source, bridge, store, policy, poll_interval(source, bridge))


async def stop_channels_of_removed_sources(shared: Shared, settings: Settings) -> int:
    """Push channels still open for sources no longer in the admin file: stopped, forgotten."""
    if shared.channels is None or shared.vault is None:
        return 0
    book, stopped = shared.channels, 0
    for record in await asyncio.to_thread(book.all):
        if record.source in settings.sources:
            continue
        if record.provider == "google":
            from kalends.bridges.google.push import stop_leftover_channel

            await stop_leftover_channel(record, shared.vault)
        elif record.provider == "graph":
            from kalends.bridges.outlook.push import stop_leftover_subscription

            await stop_leftover_subscription(record, shared.vault)
        await asyncio.to_thread(book.forget, record.channel_id)
        stopped += 1
    return stopped
