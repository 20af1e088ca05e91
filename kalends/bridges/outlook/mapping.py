"""Microsoft Graph v1.0 event resources <-> iCalendar calendar objects (pure, no I/O).

The sync engine sees one calendar object per UID: the master VEVENT and its overridden
instances. Graph keeps a series as a ``seriesMaster`` plus ``exception`` resources (with
``originalStart``); a deleted occurrence simply vanishes from ``/instances`` (the bridge
works out which ones did).

* ``to_ical(GraphSeries, zones=...)``: the object Graph holds for one event or series
  (``to_ical_with_uid``: and its UID).
* ``from_ical(text, default_zone=...)``: the ``GraphDraft`` bodies to write back.
* ``instance_key``: the key of one occurrence, alike from Graph's ``originalStart`` and from
  the RECURRENCE-ID / EXDATE value ``from_ical`` reads (UTC ``YYYYMMDDTHHMMSSZ``, or
  ``YYYYMMDD`` in an all-day series).
* ``UID_PROPERTY``: the extended property holding the iCalendar UID (Outlook makes up its own
  ``iCalUId``); ``PROPERTIES``: every extended property id Kalends reads (to ``$expand``).

Graph fields without an iCalendar property travel as ``X-MSGRAPH-<FIELD>`` lines (compact
JSON), iCalendar properties without a Graph field in the master's single-value extended
properties (``KalendsIcal<n>``): each side keeps what only the other understands.
"""

from __future__ import annotations

from kalends.bridges.icaltext import MappingError
from kalends.bridges.outlook.from_ical import GraphDraft, from_ical
from kalends.bridges.outlook.occurrences import instance_key
from kalends.bridges.outlook.state import FORM_PROPERTY, PROPERTIES, UID_PROPERTY, carried_id
from kalends.bridges.outlook.to_ical import PRODID, GraphSeries, to_ical, to_ical_with_uid

__all__ = [
    "FORM_PROPERTY",
    "PRODID",
    "PROPERTIES",
    "UID_PROPERTY",
    "GraphDraft",
    "GraphSeries",
    "MappingError",
    "carried_id",
    "from_ical",
    "instance_key",
    "to_ical",
    "to_ical_with_uid",
]
