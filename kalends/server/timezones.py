"""Time zone definitions stay with the request that sent them.

vobject keeps one process-wide TZID -> tzinfo map, and every VTIMEZONE it parses overwrites an
entry. One user's upload defining "Europe/Berlin" (or Outlook's "Customized Time Zone") as +12:00
would then shift the times of every later object, of any user, that names the zone without
defining it. Here the map is per thread, and each request starts with only vobject's own entries:
a zone is either defined in the data being read, or looked up by its IANA name.

Building a zone from a VTIMEZONE is the dearest part of reading most events: dateutil walks
its rules from their DTSTART (often 1970) for every offset it is asked. So each thread keeps
the zones it built, by the exact text vobject hands to dateutil: the same definition gives
the same zone object, whose rule caches then stay warm from one request to the next. Per
thread, as dateutil's zone caches are not safe to share between threads.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, MutableMapping
from types import ModuleType
from typing import IO, Any

import vobject.icalendar
from dateutil import tz


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


class BuiltZones(ModuleType):
    """``dateutil.tz`` as vobject sees it, with ``tzical`` answered from the current thread's
    zones built before (at most ``limit`` per thread: a flood of one-off definitions is
    forgotten, not hoarded)."""

    def __init__(self, limit: int = 256) -> None:
        super().__init__("dateutil.tz")
        self._limit = limit
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(tz, name)

    def tzical(self, fileobj: IO[str]) -> Any:
        text = fileobj.read()
        built: dict[str, Any] | None = getattr(self._local, "built", None)
        if built is None or len(built) >= self._limit:
            built = self._local.built = {}
        zone = built.get(text)
        if zone is None:
            zone = built[text] = tz.tzical(io.StringIO(text))
        return zone


def install_per_thread_zones() -> PerThreadZones:
    """Give vobject a per-thread zone map in place of its process-wide one, and a per-thread
    memory of the zones it built (once per process).

    Called by the server at start, never on import. vobject's own entries are kept: its UTC is
    compared by identity first, and any other UTC costs a comparison of 20 years of transitions
    per date-time (seconds for 10,000 EXDATEs).
    """
    current = vobject.icalendar.__tzidMap
    if isinstance(current, PerThreadZones):
        return current
    zones = PerThreadZones(current)
    vobject.icalendar.__tzidMap = zones  # registerTzid and getTzid look it up on every call
    vobject.icalendar.tz = BuiltZones()  # gettzinfo builds each VTIMEZONE with tz.tzical
    return zones
