"""Google Calendar API v3 event resources <-> iCalendar calendar objects (pure, no I/O).

The sync engine sees one calendar object per UID: the master VEVENT and its overridden
instances. Google keeps a series as a master resource plus exception resources
(``recurringEventId`` + ``originalStartTime``), a removed occurrence as a cancelled exception.

* ``to_ical(GoogleSeries, zones=...)``: the object Google holds for one iCalUID.
* ``from_ical(text, default_zone=...)``: the ``GoogleDraft`` bodies to write back.
* ``instance_key``: the key of one occurrence, alike from ``originalStartTime`` and from the
  RECURRENCE-ID / EXDATE value ``from_ical`` reads (UTC ``YYYYMMDDTHHMMSSZ``, or ``YYYYMMDD``).

Google fields without an iCalendar property travel as ``X-GOOGLE-<FIELD>`` lines (compact
JSON), iCalendar properties without a Google field in ``extendedProperties.private``
(``kalends-ical-<n>``): each side keeps what only the other understands.
"""

from __future__ import annotations

from kalends.bridges.google.from_ical import GoogleDraft, from_ical
from kalends.bridges.google.times import instance_key
from kalends.bridges.google.to_ical import PRODID, GoogleSeries, to_ical
from kalends.bridges.icaltext import MappingError

__all__ = [
    "PRODID",
    "GoogleDraft",
    "GoogleSeries",
    "MappingError",
    "from_ical",
    "instance_key",
    "to_ical",
]
