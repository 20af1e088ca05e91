"""Which Graph event fields Kalends maps, and how the rest travel through iCalendar.

Graph fields without an iCalendar home travel as ``X-MSGRAPH-<FIELD>`` lines of compact JSON.
The tables here sort every field into one of: read-only (never carried), mapped (a property of
its own), one way (shown to iCalendar, never sent back), or carried; and say which values are
just Graph's defaults, not worth a line.
"""

from __future__ import annotations

from collections.abc import Mapping

from kalends.bridges.icaltext import carried_field, carried_name

__all__ = [
    "FIELD_DEFAULTS",
    "MAPPED_FIELDS",
    "ONE_WAY_FIELDS",
    "ORIGINAL_END",
    "ORIGINAL_START",
    "PREFIX",
    "READ_ONLY_FIELDS",
    "field_of",
    "is_default",
    "property_for",
]

PREFIX = "X-MSGRAPH-"
ORIGINAL_START = "X-MSGRAPH-ORIGINAL-START-TIME-ZONE"
ORIGINAL_END = "X-MSGRAPH-ORIGINAL-END-TIME-ZONE"

# Read-only or bookkeeping: never carried, and an X-MSGRAPH-* line naming one is ignored.
READ_ONLY_FIELDS = frozenset(
    {
        "id", "changeKey", "iCalUId", "uid", "type", "seriesMasterId", "originalStart",
        "originalStartTimeZone", "originalEndTimeZone", "webLink", "createdDateTime",
        "lastModifiedDateTime", "bodyPreview", "hasAttachments", "isDraft", "isOrganizer",
        "onlineMeetingUrl", "responseStatus", "cancelledOccurrences", "exceptionOccurrences",
        "occurrenceId", "transactionId", "attachments", "extensions", "instances", "calendar",
    }
)  # fmt: skip
# Mapped to iCalendar properties of their own (or handled on their own).
MAPPED_FIELDS = frozenset(
    {
        "subject", "body", "start", "end", "isAllDay", "location", "locations", "categories",
        "showAs", "sensitivity", "importance", "isReminderOn", "reminderMinutesBeforeStart",
        "attendees", "organizer", "recurrence", "isCancelled", "singleValueExtendedProperties",
    }
)  # fmt: skip
# Shown to iCalendar but read-only in Graph: carried out, never sent back.
ONE_WAY_FIELDS = frozenset({"onlineMeeting"})
# Graph's values for a field nobody set: not worth a line (and what Graph fills in anyway).
FIELD_DEFAULTS: Mapping[str, object] = {
    "allowNewTimeProposals": True,
    "responseRequested": True,
    "hideAttendees": False,
    "isOnlineMeeting": False,
    "onlineMeetingProvider": "unknown",
}


def is_default(field: str, value: object) -> bool:
    """Whether ``value`` is what Graph holds for ``field`` when nobody set it."""
    if field not in FIELD_DEFAULTS:
        return False
    default = FIELD_DEFAULTS[field]
    return type(value) is type(default) and value == default


def property_for(field: str) -> str:
    """The property name (with parameters) carrying Graph field ``field``."""
    return carried_name(PREFIX, field)


def field_of(name: str, params: list[tuple[str, str]]) -> str | None:
    """The Graph field an X-MSGRAPH-* property carries (None: not a carried field)."""
    return carried_field(PREFIX, name, params)
