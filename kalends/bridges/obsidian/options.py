"""An Obsidian source's options from the admin file, checked before anything touches a vault."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from kalends.bridges.base import BridgeError, SourceOptionError
from kalends.bridges.context import SourceContext
from kalends.bridges.obsidian.bridge import ObsidianBridge, check_options

__all__ = ["OPTIONS", "open_bridge"]

OPTIONS = ("path", "folder", "timezone", "seed")


def _text(options: Mapping[str, object], name: str, default: str | None) -> str | None:
    value = options.get(name, default)
    if value is not None and not isinstance(value, str):
        raise SourceOptionError(f"{name}: expected a string, got {value!r}")
    return value


def _vault_path(options: Mapping[str, object], data_dir: Path) -> Path:
    raw = _text(options, "path", None)
    if not raw:
        raise SourceOptionError("path: the vault directory is required")
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else data_dir / path
    seed_raw = _text(options, "seed", None)
    if not path.exists() and not path.is_symlink():
        if seed_raw is None:
            # An empty vault would list no events, which reads as "every event was deleted".
            raise SourceOptionError(f"path {raw!r}: the vault directory {path} does not exist")
        _copy_seed(seed_raw, data_dir, path)
    if not path.is_dir():
        raise SourceOptionError(f"path {raw!r}: {path} is not a directory")
    return path


def _copy_seed(raw: str, data_dir: Path, vault: Path) -> None:
    """A first run: the vault starts as a copy of the ``seed`` directory (a sample vault)."""
    seed = Path(raw).expanduser()
    seed = seed if seed.is_absolute() else data_dir / seed
    if not seed.is_dir():
        raise SourceOptionError(f"seed {raw!r}: {seed} is not a directory")
    try:
        shutil.copytree(seed, vault, symlinks=True)
    except OSError as error:
        raise SourceOptionError(f"seed {raw!r}: cannot copy it to {vault}: {error}") from None


def open_bridge(options: Mapping[str, object], context: SourceContext) -> ObsidianBridge:
    """The bridge an Obsidian source's options describe; SourceOptionError naming the option.

    ``path`` is the vault (relative to the data directory), ``folder`` the events folder inside it
    (default "calendar"), ``timezone`` the IANA zone notes get for events given in UTC
    (default UTC), ``seed`` a directory copied to ``path`` when the vault does not exist yet.
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        known = ", ".join(OPTIONS)
        raise SourceOptionError(f"{unknown[0]}: not an Obsidian source option (known: {known})")
    folder = _text(options, "folder", "calendar") or ""
    timezone = _text(options, "timezone", None)
    check_options(folder, timezone)
    vault = _vault_path(options, context.data_dir)
    bridge = ObsidianBridge(vault, folder=folder, timezone=timezone)
    try:
        bridge.check_folder()
    except BridgeError as error:
        raise SourceOptionError(f"folder {folder!r}: {error}") from None
    return bridge
