"""Kalends: one CalDAV account over every calendar you keep."""

from __future__ import annotations

__version__ = "0.1.0"
