"""Event bodies as Google checks and keeps them: ids, times, recurrence, patch merging.

The fake keeps every field a client sends (``colorId``, ``conferenceData``, ``attendees``,
``extendedProperties``, ...) verbatim; only the fields Google owns are set here.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from tests.fakes.google.errors import ApiError
from tests.fakes.google.recurrence import Series, parse_series
from tests.fakes.google.times import When, parse_when

__all__ = [
    "KEPT_ON_WRITE",
    "OWNED",
    "STATUSES",
    "check_id",
    "check_match",
    "detach",
    "html_link",
    "merge_patch",
    "new_id",
    "object_body",
    "only_reminders",
    "series_of",
    "times_of",
]

ID_ALPHABET = frozenset("abcdefghijklmnopqrstuv0123456789")  # base32hex, lower case
STATUSES = frozenset({"confirmed", "tentative", "cancelled"})
# Set by Google on every write; what a client sends for them is ignored.
OWNED = frozenset({"kind", "etag", "htmlLink", "created", "updated", "creator"})
# Kept from the stored event on update and patch, whatever the body says (immutable fields).
KEPT_ON_WRITE = (
    "id", "iCalUID", "created", "htmlLink", "organizer", "creator", "recurringEventId",
    "originalStartTime", "eventType",
)  # fmt: skip


def detach(value: Any) -> Any:
    """A deep copy of JSON data (bodies never share nested objects with a caller)."""
    return json.loads(json.dumps(value))


def new_id() -> str:
    return base64.b32hexencode(secrets.token_bytes(15)).decode("ascii").lower()


def check_id(value: Any) -> str:
    """A client-chosen event id: base32hex characters (a-v, 0-9), 5 to 1024 of them."""
    if not isinstance(value, str) or not 5 <= len(value) <= 1024 or not set(value) <= ID_ALPHABET:
        raise ApiError.invalid("Invalid resource id value.")
    return value


def html_link(event_id: str, calendar_id: str) -> str:
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def merge_patch(stored: dict[str, Any], patch: Any) -> dict[str, Any]:
    """PATCH semantics: named fields replace, objects merge recursively, arrays replace, and a
    null removes the field."""
    if not isinstance(patch, dict):
        raise ApiError.parse_error()
    merged = dict(stored)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict) and isinstance(merged.get(name), dict):
            if name in ("start", "end", "originalStartTime"):
                value = _one_kind_of_time(merged[name], value)
            merged[name] = merge_patch(merged[name], value)
        else:
            merged[name] = detach(value)
    return merged


def _one_kind_of_time(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Patching ``date`` onto a timed event drops its ``dateTime`` (and the other way round)."""
    patch = dict(patch)
    if patch.get("date") is not None and "dateTime" in stored:
        patch.setdefault("dateTime", None)
    if patch.get("dateTime") is not None and "date" in stored:
        patch.setdefault("date", None)
    return patch


def times_of(body: dict[str, Any]) -> tuple[When, When]:
    start = parse_when(body.get("start"), "start")
    end = parse_when(body.get("end"), "end")
    if start.all_day != end.all_day:
        raise ApiError.invalid("Invalid end time.")
    if start.all_day:
        if end.moment <= start.moment:  # the end date is exclusive
            raise ApiError.time_range_empty()
    elif end.moment < start.moment:
        raise ApiError.time_range_empty()
    return start, end


def series_of(body: dict[str, Any], start: When) -> Series | None:
    """The recurrence of a master event (None for a single event)."""
    lines = body.get("recurrence")
    if lines is None or lines == []:
        body.pop("recurrence", None)
        return None
    if not isinstance(lines, list):
        raise ApiError.invalid("Invalid recurrence rule.")
    if not start.all_day and start.zone is None:
        raise ApiError.missing_time_zone()
    try:
        return parse_series(lines, start)
    except ValueError:
        raise ApiError.invalid("Invalid recurrence rule.") from None


def check_match(if_match: str | None, etag: str) -> None:
    """If-Match: 412 unless it names the current etag (or is ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if etag not in tags:
        raise ApiError.precondition_failed()


def only_reminders(old: dict[str, Any], new: dict[str, Any]) -> bool:
    skip = ("etag", "updated", "sequence", "reminders")
    if old.get("reminders") == new.get("reminders"):
        return False
    rest_old = {k: v for k, v in old.items() if k not in skip}
    return rest_old == {k: v for k, v in new.items() if k not in skip}


def object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError.parse_error()
    return body
