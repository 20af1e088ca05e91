"""Versions of calendar objects a provider keeps as several resources (a series master and its
exceptions): one digest of every member's etag, told apart from a plain etag by its prefix."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["COMPOSITE_PREFIX", "composite_version", "is_composite"]

COMPOSITE_PREFIX = "series:"


def composite_version(parts: Iterable[str]) -> str:
    """One version for an object made of several resources (their etags, in a fixed order)."""
    return COMPOSITE_PREFIX + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def is_composite(version: str | None) -> bool:
    return version is not None and version.startswith(COMPOSITE_PREFIX)
