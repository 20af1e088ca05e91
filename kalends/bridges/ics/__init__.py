"""iCalendar feeds (``.ics`` and ``webcal://`` URLs): a read-only source, polled with
conditional GETs."""

from __future__ import annotations

from kalends.bridges.ics.bridge import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    IcsFeedBridge,
    open_bridge,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIMEOUT", "IcsFeedBridge", "open_bridge"]
