"""Graph locations reduced to what someone set, beside the displayName LOCATION holds.

What a location says beyond its name (address, coordinates) and any further ``locations``
travel as carried ``X-MSGRAPH-*`` JSON. Graph fills in some details by itself (``locationType``
``default``, a ``uniqueId`` that is only the name); these helpers drop them so that only what
someone set travels and compares alike both ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "location_rest",
    "normal_location",
]


def location_rest(location: object) -> dict[str, Any]:
    """A Graph location without its displayName and the values Graph fills in by itself."""
    if not isinstance(location, Mapping):
        return {}
    shown = location.get("displayName")
    rest = {
        str(k): v
        for k, v in location.items()
        if k != "displayName" and "@" not in str(k) and v is not None and v != {}
    }
    if rest.get("locationType") == "default":
        del rest["locationType"]
    if rest.get("uniqueIdType") in ("unknown", "private") and rest.get("uniqueId") in (
        None,
        shown,
    ):
        rest.pop("uniqueIdType")
        rest.pop("uniqueId", None)
    return rest


def normal_location(location: object) -> dict[str, Any]:
    shown = location.get("displayName") if isinstance(location, Mapping) else None
    return {"displayName": str(shown or ""), **location_rest(location)}
