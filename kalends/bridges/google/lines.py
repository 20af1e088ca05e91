"""Content-line pieces of the Google mapping: the carried Google fields and Kalends' own keys.

A Google field with no iCalendar property of its own travels as ``X-GOOGLE-<FIELD>`` (the
camelCase name as upper kebab case) whose value is the field's compact JSON, escaped as TEXT.
A name that would not come back unchanged uses ``X-GOOGLE-FIELD;X-NAME=<name>`` instead.
The generic pieces (parameters, TEXT, the naming scheme) live in ``kalends.bridges.icaltext``.
"""

from __future__ import annotations

from kalends.bridges.icaltext import carried_field, carried_name

__all__ = [
    "CARRIED_PREFIX",
    "FORM_KEY",
    "GOOGLE_PREFIX",
    "MAPPED_FIELDS",
    "MAX_CARRIED",
    "OWN_PREFIX",
    "PARTSTAT",
    "USE_DEFAULT",
    "field_of",
    "property_for",
]

GOOGLE_PREFIX = "X-GOOGLE-"
USE_DEFAULT = "X-GOOGLE-REMINDERS-USE-DEFAULT"  # reminders.useDefault true (no VALARM)
OWN_PREFIX = "kalends-"  # extendedProperties.private keys Kalends keeps for itself
CARRIED_PREFIX = "kalends-ical-"  # an iCalendar line or component Google has no field for
FORM_KEY = "kalends-form"  # how the iCalendar wrote what Google normalises (see from_ical)
MAX_CARRIED = 1024  # Google's limit on an extended property's value
_RESERVED = frozenset({USE_DEFAULT})
# an attendee's responseStatus -> PARTSTAT (and back)
PARTSTAT = {
    "needsAction": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
}

# Google fields that are read-only, bookkeeping, or mapped to iCalendar properties of their own:
# never carried as X-GOOGLE-* (an X-GOOGLE-* line naming one is ignored on the way back).
MAPPED_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "id",
        "htmlLink",
        "created",
        "updated",
        "creator",
        "iCalUID",
        "recurringEventId",
        "originalStartTime",
        "status",
        "sequence",
        "organizer",
        "start",
        "end",
        "recurrence",
        "reminders",
        "summary",
        "description",
        "location",
        "transparency",
        "visibility",
        "attendees",
    }
)


def property_for(field: str) -> str:
    """The property name (with parameters) carrying Google field ``field``."""
    return carried_name(GOOGLE_PREFIX, field, reserved=_RESERVED)


def field_of(name: str, params: list[tuple[str, str]]) -> str | None:
    """The Google field an X-GOOGLE-* property carries (None: not a carried field)."""
    return carried_field(GOOGLE_PREFIX, name, params, reserved=_RESERVED)
