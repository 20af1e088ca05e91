"""How events read over the API: the full resource, occurrences, delta's stripped and removed
items, and ``$select``.

Times are UTC unless the request prefers ``outlook.timezone``; all-day events are always
midnight to midnight with ``timeZone: "UTC"`` (Graph ignores the preference for them by
design). Bodies come back as HTML unless ``outlook.body-content-type="text"`` is preferred.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tests.fakes.graph.model import Exception_, Ids, Record
from tests.fakes.graph.zones import (
    CUSTOM_ZONE,
    format_instant,
    format_local,
    format_stamp,
    resolve,
    windows_name,
)

__all__ = [
    "EVENT_TYPE",
    "View",
    "actual_start",
    "full",
    "occurrence",
    "removed",
    "select",
    "stripped",
]

EVENT_TYPE = "#microsoft.graph.event"
NO_TIME = "0001-01-01T00:00:00Z"
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class View:
    """What a request asked for besides the resource: its preferences and ``$expand``."""

    ids: Ids
    owner: dict[str, Any]  # the mailbox owner as an emailAddress
    where: ZoneInfo | None = None  # Prefer: outlook.timezone (None: UTC)
    zone_label: str = "UTC"
    immutable: bool = False  # Prefer: IdType="ImmutableId"
    text_body: bool = False  # Prefer: outlook.body-content-type="text"
    expand: tuple[str, ...] | None = None  # singleValueExtendedProperties ids to include ("*")
    custom_zones: bool = False  # every original zone reads tzone://Microsoft/Custom


def _time(instant: datetime, all_day_zone: str | None, view: View) -> dict[str, str]:
    if all_day_zone is not None:  # the nearest local midnight (series keep 24 h steps)
        local = (instant + timedelta(hours=12)).astimezone(resolve(all_day_zone)).date()
        return {"dateTime": f"{local.isoformat()}T00:00:00.0000000", "timeZone": "UTC"}
    where = view.where or ZoneInfo("UTC")
    return {"dateTime": format_local(instant, where), "timeZone": view.zone_label}


def _body(stored: dict[str, Any] | None, view: View) -> tuple[dict[str, str], str]:
    kind = str((stored or {}).get("contentType", "text")).lower()
    content = str((stored or {}).get("content", ""))
    text = html.unescape(_TAGS.sub("", content)).strip() if kind == "html" else content
    preview = " ".join(text.split())[:255]
    if view.text_body:
        return {"contentType": "text", "content": text}, preview
    if kind == "html":
        return {"contentType": "html", "content": content}, preview
    escaped = "<br>\r\n".join(html.escape(line) for line in content.split("\n"))
    page = (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; '
        'charset=utf-8">\r\n</head>\r\n<body>\r\n'
        + (f"<div>{escaped}</div>\r\n" if content else "")
        + "</body>\r\n</html>\r\n"
    )
    return {"contentType": "html", "content": page}, preview


def _location(stored: Any) -> dict[str, Any]:
    given = dict(stored) if isinstance(stored, dict) else {}
    name = str(given.get("displayName") or "")
    if name:
        base: dict[str, Any] = {
            "displayName": name,
            "locationType": "default",
            "uniqueId": name,
            "uniqueIdType": "private",
        }
    else:
        base = {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    return {**base, **given}


def _attendee(given: Any) -> Any:
    if not isinstance(given, dict):
        return given
    status = given.get("status") or {"response": "none", "time": NO_TIME}
    return {"type": given.get("type", "required"), "status": status, **given}


def _zone_name(record: Record, name: str, view: View) -> str:
    return CUSTOM_ZONE if record.custom_zone or view.custom_zones else windows_name(name)


def full(record: Record, view: View, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """A single event or series master (``fields``: what an exception overrides)."""
    body = {**record.body, **(fields or {})}
    content, preview = _body(body.get("body"), view)
    location = _location(body.get("location"))
    event_id = record.any_id(view.immutable)
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{record.change_key}"',
        "id": event_id,
        "createdDateTime": format_stamp(record.created),
        "lastModifiedDateTime": format_stamp(record.modified),
        "changeKey": record.change_key,
        "categories": body.get("categories", []),
    }
    if record.transaction_id is not None:
        out["transactionId"] = record.transaction_id
    all_day = record.start_zone if record.all_day else None
    out.update(
        {
            "originalStartTimeZone": _zone_name(record, record.start_zone, view),
            "originalEndTimeZone": _zone_name(record, record.end_zone, view),
            "iCalUId": record.uid,
            "reminderMinutesBeforeStart": body.get("reminderMinutesBeforeStart", 15),
            "isReminderOn": body.get("isReminderOn", True),
            "hasAttachments": False,
            "subject": body.get("subject", ""),
            "bodyPreview": preview,
            "importance": body.get("importance", "normal"),
            "sensitivity": body.get("sensitivity", "normal"),
            "isAllDay": record.all_day,
            "isCancelled": False,
            "isOrganizer": True,
            "responseRequested": body.get("responseRequested", True),
            "seriesMasterId": None,
            "showAs": body.get("showAs", "busy"),
            "type": "seriesMaster" if record.series is not None else "singleInstance",
            "webLink": "https://outlook.office365.com/owa/?itemid="
            f"{quote(event_id, safe='')}&exvsurl=1&path=/calendar/item",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": body.get("isOnlineMeeting", False),
            "onlineMeetingProvider": body.get("onlineMeetingProvider", "unknown"),
            "allowNewTimeProposals": body.get("allowNewTimeProposals", True),
            "isDraft": False,
            "hideAttendees": body.get("hideAttendees", False),
            "responseStatus": {"response": "organizer", "time": NO_TIME},
            "body": content,
            "start": _time(record.start, all_day, view),
            "end": _time(record.end, all_day, view),
            "location": location,
            "locations": body.get("locations") or ([location] if location["displayName"] else []),
            "recurrence": record.recurrence,
            "attendees": [_attendee(a) for a in body.get("attendees") or []],
            "organizer": body.get("organizer") or {"emailAddress": view.owner},
            "onlineMeeting": None,
        }
    )
    if view.expand is not None:
        wanted = {name.lower() for name in view.expand}
        found = [
            {"id": i, "value": v}
            for k, (i, v) in sorted(record.extended.items())
            if k in wanted or "*" in wanted
        ]
        if found:
            out["singleValueExtendedProperties"] = found
    return out


def occurrence(record: Record, original: datetime, view: View) -> dict[str, Any]:
    """An occurrence or exception of the series ``record``, read in full."""
    changed = record.exceptions.get(original)
    out = full(record, view, changed.overrides if changed else None)
    start, end, change_key = _times(record, original, changed)
    all_day = record.start_zone if record.all_day else None
    out.update(
        {
            "@odata.etag": f'W/"{change_key}"',
            "id": view.ids.occurrence_id(record, original, view.immutable),
            "changeKey": change_key,
            "seriesMasterId": record.any_id(view.immutable),
            "type": "exception" if changed else "occurrence",
            "start": _time(start, all_day, view),
            "end": _time(end, all_day, view),
            "recurrence": None,
            "originalStart": format_instant(original),
        }
    )
    if changed is not None:
        out["lastModifiedDateTime"] = format_stamp(changed.modified)
        out["originalStartTimeZone"] = _zone_name(record, changed.start_zone, view)
        out["originalEndTimeZone"] = _zone_name(record, changed.end_zone, view)
    out["webLink"] = (
        "https://outlook.office365.com/owa/?itemid="
        + quote(out["id"], safe="")
        + ("&exvsurl=1&path=/calendar/item")
    )
    return out


def _times(
    record: Record, original: datetime, changed: Exception_ | None
) -> tuple[datetime, datetime, str]:
    if changed is not None:
        return changed.start, changed.end, changed.change_key
    return original, original + (record.end - record.start), record.change_key


def actual_start(record: Record, original: datetime) -> datetime:
    changed = record.exceptions.get(original)
    return changed.start if changed is not None else original


def stripped(record: Record, original: datetime, view: View) -> dict[str, Any]:
    """An occurrence or exception as delta reports it: the client must fetch the rest."""
    changed = record.exceptions.get(original)
    start, end, change_key = _times(record, original, changed)
    all_day = record.start_zone if record.all_day else None
    return {
        "@odata.type": EVENT_TYPE,
        "@odata.etag": f'W/"{change_key}"',
        "id": view.ids.occurrence_id(record, original, view.immutable),
        "seriesMasterId": record.any_id(view.immutable),
        "type": "exception" if changed else "occurrence",
        "start": _time(start, all_day, view),
        "end": _time(end, all_day, view),
    }


def removed(event_id: str) -> dict[str, Any]:
    return {"@odata.type": EVENT_TYPE, "id": event_id, "@removed": {"reason": "deleted"}}


def select(event: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """``$select``: the named properties, with ``@odata.etag`` and ``id`` always."""
    if names is None:
        return event
    keep = {"@odata.etag", "@odata.type", "id", *names}
    return {k: v for k, v in event.items() if k in keep or k == "singleValueExtendedProperties"}
