"""The fingerprint of an event: what makes two copies with different UIDs the same event.

Providers re-issue UIDs (an invitation accepted in two accounts, an import): the unified calendar
then collapses copies by organizer + start + summary of the master VEVENT. Computed from the tree
Radicale already parsed for the PUT, stored in ``items.fingerprint``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

_SEPARATOR = "\x1f"  # cannot occur in a property value


def _text(component: Any, name: str) -> str:
    prop = component.contents.get(name)
    if not prop:
        return ""
    value = prop[0].value
    return value if isinstance(value, str) else str(value)


def _organizer(component: Any) -> str:
    value = _text(component, "organizer").strip().lower()
    return value.removeprefix("mailto:")


def _start(component: Any) -> str:
    """A UTC instant for zoned and UTC times; the literal value for dates and floating times."""
    prop = component.contents.get("dtstart")
    if not prop:
        return ""
    value = prop[0].value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.strftime("%Y%m%dT%H%M%S")
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return str(value)


def _master(vobject_item: Any) -> Any | None:
    for component in getattr(vobject_item, "vevent_list", ()):
        if "recurrence-id" not in component.contents:
            return component
    return None


def event_fingerprint(vobject_item: Any) -> str:
    """sha256 (hex) of the master VEVENT's organizer, start and summary; "" without one."""
    master = _master(vobject_item)
    if master is None:
        return ""
    summary = " ".join(_text(master, "summary").split())
    key = _SEPARATOR.join((_organizer(master), _start(master), summary))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
