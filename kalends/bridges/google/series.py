"""Google's resources of one event series, as the engine's calendar objects.

Google keeps a recurring event as a master plus one resource per changed or cancelled
occurrence; the engine keeps one calendar object per UID. The object's ``remote_id`` is the
master's id; its version is the master's etag, or, once the series has exceptions, a digest of
every member's etag (an edit to one occurrence is a new version of the whole object).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from kalends.bridges.versions import composite_version

__all__ = [
    "event_id_for",
    "members_of",
    "series_id",
    "series_version",
]


def series_id(resource: Mapping[str, Any]) -> str:
    """The id of the object a resource belongs to: its master's id."""
    return str(resource.get("recurringEventId") or resource["id"])


def members_of(
    sid: str, resources: Sequence[Mapping[str, Any]]
) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
    """(master, exceptions) of series ``sid`` among ``resources`` (other series are ignored)."""
    master = next((r for r in resources if r.get("id") == sid), None)
    exceptions = [r for r in resources if r.get("recurringEventId") == sid]
    exceptions.sort(key=lambda r: str(r.get("id")))
    return master, exceptions


def series_version(
    master: Mapping[str, Any] | None, exceptions: Sequence[Mapping[str, Any]]
) -> str:
    if master is not None and not exceptions:
        return str(master.get("etag", ""))
    tags = [str(master.get("etag", "")) if master is not None else "-"]
    tags.extend(f"{r.get('id')}={r.get('etag', '')}" for r in exceptions)
    return composite_version(tags)


def event_id_for(uid: str) -> str:
    """The event id Kalends asks Google to use for a new event with this UID.

    Derived from the UID, so a retried insert names the same id and gets 409 instead of a
    duplicate. Google allows base32hex characters (a-v, 0-9), 5 to 1024 of them.
    """
    digest = hashlib.sha256(uid.encode("utf-8")).digest()[:20]
    return base64.b32hexencode(digest).decode("ascii").lower().rstrip("=")
