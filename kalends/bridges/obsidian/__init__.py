"""Obsidian: a vault's folder of Full Calendar notes (one note per event) as a calendar."""

from __future__ import annotations

from kalends.bridges.obsidian.bridge import ObsidianBridge
from kalends.bridges.obsidian.options import open_bridge

__all__ = ["ObsidianBridge", "open_bridge"]
