"""Event bodies as Graph reads them: known properties only, typed values, the all-day rules.

``event`` is not an OData open type: a property it does not define is refused (400
``RequestBodyRead``), a read-only one is ignored, and enum values are checked. Everything else the
client sends is kept verbatim and echoed.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.zones import parse_date_time_zone, resolve

__all__ = ["EVENT_PROPERTIES", "Times", "check_body", "detach", "extended_of", "times_of"]

# Kept as sent (or checked below) and echoed.
STORED = frozenset(
    {
        "subject",
        "body",
        "categories",
        "importance",
        "sensitivity",
        "showAs",
        "isReminderOn",
        "reminderMinutesBeforeStart",
        "responseRequested",
        "allowNewTimeProposals",
        "isOnlineMeeting",
        "onlineMeetingProvider",
        "hideAttendees",
        "location",
        "locations",
        "attendees",
        "organizer",
    }
)
# Handled by the store itself.
HANDLED = frozenset(
    {
        "start",
        "end",
        "isAllDay",
        "recurrence",
        "transactionId",
        "singleValueExtendedProperties",
        "multiValueExtendedProperties",
    }
)
# Set by Exchange: accepted and ignored.
READ_ONLY = frozenset(
    {
        "id",
        "createdDateTime",
        "lastModifiedDateTime",
        "changeKey",
        "iCalUId",
        "type",
        "seriesMasterId",
        "originalStart",
        "originalStartTimeZone",
        "originalEndTimeZone",
        "webLink",
        "bodyPreview",
        "hasAttachments",
        "isOrganizer",
        "onlineMeetingUrl",
        "onlineMeeting",
        "responseStatus",
        "isCancelled",
        "isDraft",
        "attachments",
        "extensions",
        "instances",
        "calendar",
    }
)
EVENT_PROPERTIES = STORED | HANDLED | READ_ONLY
ENUMS = {
    "importance": ("importance", ("low", "normal", "high")),
    "sensitivity": ("sensitivity", ("normal", "personal", "private", "confidential")),
    "showAs": (
        "freeBusyStatus",
        ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown"),
    ),
    "onlineMeetingProvider": (
        "onlineMeetingProviderType",
        ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer"),
    ),
}
BOOLEANS = (
    "isReminderOn",
    "responseRequested",
    "allowNewTimeProposals",
    "isOnlineMeeting",
    "hideAttendees",
    "isAllDay",
)
OBJECTS = ("body", "location", "organizer")
LISTS = (
    "categories",
    "attendees",
    "locations",
    "singleValueExtendedProperties",
    "multiValueExtendedProperties",
)

Times = tuple[datetime, datetime, str, str, bool]  # start, end, their zones, all-day


def detach(value: Any) -> Any:
    """A deep copy of JSON data (bodies never share nested objects with a caller)."""
    return json.loads(json.dumps(value))


def _literal(value: Any, kind: str) -> GraphError:
    return GraphError.invalid_body(
        f"Cannot convert the literal '{value}' to the expected type '{kind}'."
    )


def check_body(body: Any) -> dict[str, Any]:
    """The writable properties of an event body, checked; annotations and read-only dropped."""
    if not isinstance(body, dict):
        raise GraphError.invalid_body("The request body must be a JSON object.")
    clean: dict[str, Any] = {}
    for name, value in detach(body).items():
        if "@" in name:
            continue  # an annotation (@odata.type, property@odata.type ...)
        if name not in EVENT_PROPERTIES:
            raise GraphError.invalid_body(
                f"The property '{name}' does not exist on type "
                "'microsoft.graph.event'. Make sure to only use "
                "property names that are defined by the type or mark "
                "the type as open type."
            )
        if name in READ_ONLY:
            continue
        if value is not None:
            _check_value(name, value)
        clean[name] = value
    return clean


def _check_value(name: str, value: Any) -> None:
    if name in ENUMS:
        kind, allowed = ENUMS[name]
        if value not in allowed:
            raise _literal(value, f"microsoft.graph.{kind}")
    elif name in BOOLEANS and not isinstance(value, bool):
        raise _literal(value, "Edm.Boolean")
    elif name in OBJECTS and not isinstance(value, dict):
        raise GraphError.invalid_body(f"Cannot read the value of '{name}' as an object.")
    elif name in LISTS and not isinstance(value, list):
        raise GraphError.invalid_body(f"Cannot read the value of '{name}' as a collection.")
    elif name in ("subject", "transactionId") and not isinstance(value, str):
        raise _literal(value, "Edm.String")
    elif name == "reminderMinutesBeforeStart" and (
        not isinstance(value, int) or isinstance(value, bool)
    ):
        raise _literal(value, "Edm.Int32")
    elif name == "categories" and not all(isinstance(c, str) for c in value):
        raise _literal(value, "Edm.String")
    elif name == "body" and str(value.get("contentType", "text")).lower() not in ("text", "html"):
        raise _literal(value.get("contentType"), "microsoft.graph.bodyType")


def extended_of(given: Any, stored: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """singleValueExtendedProperties merged into the stored ones (by id, case-insensitively)."""
    merged = dict(stored)
    for item in given or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise GraphError.invalid_body("A singleValueExtendedProperty needs an id.")
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            raise _literal(value, "Edm.String")
        ident = item["id"].strip()
        if len(ident.split()) < 3:
            raise GraphError.bad_request(
                f"The extended property id '{ident}' is not valid.",
                "ErrorInvalidExtendedPropertyValue",
            )
        if value is None:
            merged.pop(ident.lower(), None)
        else:
            merged[ident.lower()] = (ident, value)
    return merged


def _midnight(instant: datetime, zone_name: str) -> bool:
    return instant.astimezone(resolve(zone_name)).time() == time(0, 0)


def times_of(body: dict[str, Any], old: Times | None) -> Times:
    """Start, end, their zones and the all-day flag after this body (``old``: before it)."""
    if old is None:
        if body.get("start") is None or body.get("end") is None:
            raise GraphError.validation()
        old = (datetime.min, datetime.min, "UTC", "UTC", False)  # never used: both are given
    start, start_zone = old[0], old[2]
    if body.get("start") is not None:
        start, start_zone = parse_date_time_zone(body["start"], "start")
    end, end_zone = old[1], old[3]
    if body.get("end") is not None:
        end, end_zone = parse_date_time_zone(body["end"], "end")
    all_day = body.get("isAllDay")
    if all_day is None:
        all_day = old[4]
    if end < start:
        raise GraphError.validation()
    if all_day:
        same_zone = resolve(start_zone).key == resolve(end_zone).key
        if not (same_zone and _midnight(start, start_zone) and _midnight(end, end_zone)):
            raise GraphError.validation()  # all-day events run midnight to midnight
        if end <= start:
            raise GraphError.validation()
    return start, end, start_zone, end_zone, bool(all_day)
