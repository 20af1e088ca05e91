"""Google Calendar (API v3): a two-way source with push notifications."""

from __future__ import annotations

from kalends.bridges.google.bridge import GoogleBridge
from kalends.bridges.google.options import open_bridge

__all__ = ["GoogleBridge", "open_bridge"]
