"""The HTTP front: aiohttp serving Radicale (CalDAV) and Kalends' own endpoints on one port."""

from __future__ import annotations
