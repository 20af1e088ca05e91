"""From the admin file's sources to running parts: a bridge, a policy, a store per source."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from kalends.bridges.base import Bridge, Capability, SourceOptionError
from kalends.config import Settings, SourceSettings
from kalends.storage.base import Transactions
from kalends.sync.model import Policy
from kalends.sync.sqlstore import SqlSyncStore, find_source_collection

# Options the engine reads itself; every other option goes to the provider's bridge.
ENGINE_OPTIONS = frozenset({"max_delete_share", "poll_interval"})

_BRIDGE_MODULES = {
    "obsidian": "kalends.bridges.obsidian",
    "ics": "kalends.bridges.ics",
}


class BridgeOpener(Protocol):
    def __call__(self, options: Mapping[str, object], *, data_dir: Path) -> Bridge: ...


def open_bridge(source: SourceSettings, data_dir: Path) -> Bridge:
    """The source's bridge; SourceOptionError names what is wrong in its options."""
    module_name = _BRIDGE_MODULES.get(source.type)
    if module_name is None:
        raise SourceOptionError(
            f"source {source.name!r}: type {source.type!r} has no bridge in this version "
            f"(available: {', '.join(sorted(_BRIDGE_MODULES))})"
        )
    opener: BridgeOpener = importlib.import_module(module_name).open_bridge
    options = {k: v for k, v in source.options.items() if k not in ENGINE_OPTIONS}
    try:
        return opener(MappingProxyType(options), data_dir=data_dir)
    except SourceOptionError as error:
        raise SourceOptionError(f"source {source.name!r}: {error}") from error


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


def open_source(settings: Settings, name: str, transactions: Transactions) -> SourceParts:
    source = settings.sources.get(name)
    if source is None:
        known = ", ".join(sorted(settings.sources)) or "none"
        raise SourceOptionError(f"no source named {name!r} in the admin file (sources: {known})")
    bridge = open_bridge(source, settings.server.data_dir)
    store = SqlSyncStore(transactions, find_source_collection(transactions, name))
    policy = policy_for(source, bridge.capabilities)
    return SourceParts(source, bridge, store, policy, poll_interval(source, bridge))
