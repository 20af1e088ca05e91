"""Time zone definitions stay with the request that sent them.

vobject keeps one process-wide TZID -> tzinfo map, and every VTIMEZONE it parses overwrites an
entry. One user's upload defining "Europe/Berlin" (or Outlook's "Customized Time Zone") as +12:00
would then shift the times of every later object, of any user, that names the zone without
defining it. Here the map is per thread, and each request starts with only vobject's own entries:
a zone is either defined in the data being read, or looked up by its IANA name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

import vobject.icalendar


class PerThreadZones(MutableMapping[str, Any]):
    """The TZID -> tzinfo map of the current thread."""

    def __init__(self, builtin: dict[str, Any]) -> None:
        self._builtin = dict(builtin)  # what vobject registers itself ("UTC")
        self._local = threading.local()

    def _zones(self) -> dict[str, Any]:
        zones: dict[str, Any] | None = getattr(self._local, "zones", None)
        if zones is None:
            zones = self._local.zones = dict(self._builtin)
        return zones

    def reset(self) -> None:
        self._local.zones = dict(self._builtin)

    def __getitem__(self, tzid: str) -> Any:
        return self._zones()[tzid]

    def __setitem__(self, tzid: str, zone: Any) -> None:
        self._zones()[tzid] = zone

    def __delitem__(self, tzid: str) -> None:
        del self._zones()[tzid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._zones())

    def __len__(self) -> int:
        return len(self._zones())


def install_per_thread_zones() -> PerThreadZones:
    """Give vobject a per-thread zone map in place of its process-wide one (once per process).

    Called by the server at start, never on import. vobject's own entries are kept: its UTC is
    compared by identity first, and any other UTC costs a comparison of 20 years of transitions
    per date-time (seconds for 10,000 EXDATEs).
    """
    current = vobject.icalendar.__tzidMap
    if isinstance(current, PerThreadZones):
        return current
    zones = PerThreadZones(current)
    vobject.icalendar.__tzidMap = zones  # registerTzid and getTzid look it up on every call
    return zones
