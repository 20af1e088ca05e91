"""Microsoft Outlook (Graph v1.0 calendars): a two-way source with change notifications."""

from __future__ import annotations

from kalends.bridges.outlook.bridge import OutlookBridge
from kalends.bridges.outlook.options import open_bridge

__all__ = ["OutlookBridge", "open_bridge"]
