"""Why Radicale rejected a calendar object: the reason a client (and its user) can act on.

Radicale validates a PUT body with vobject and answers a bare 400. On that (rare) path, the same
checks run once more here to recover the message; the successful path pays nothing. Our own rules
run first: they are cheap, and some of Radicale's (expanding a recurrence) are not.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from radicale import httputils, pathutils, types
from radicale import item as radicale_item

from kalends.storage.validation import check_calendar_object

_MAX_REASON = 300
_TIME_ZONES = re.compile(rb"BEGIN:VTIMEZONE.*?END:VTIMEZONE", re.DOTALL)


def _clean(message: str) -> str:
    one_line = " ".join(message.split())
    return one_line[:_MAX_REASON] or "invalid data"


def explain_rejected_calendar(body: bytes, path: str, max_rrule_occurrences: int) -> str:
    """A one-line reason why ``body`` is not a valid calendar object resource."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return _clean(f"the body is not valid UTF-8 (byte {error.start})")
    if not text.strip():
        return "the body is empty"
    try:
        components = radicale_item.read_components(text)
    except Exception as error:
        return _clean(f"cannot parse iCalendar: {error}")
    try:
        _check(components, path, max_rrule_occurrences)
    except Exception as error:
        return _clean(f"invalid calendar object: {error}")
    return "the calendar object was not accepted"


def _check(components: list[Any], path: str, max_rrule_occurrences: int) -> None:
    """Our rules first (they are cheap and name the problem plainly), then Radicale's."""
    is_collection = path.endswith("/")
    _check_ours(components, is_collection)
    radicale_item.check_and_sanitize_items(
        components,
        max_vevent_rrule_occurrence=max_rrule_occurrences,
        is_collection=is_collection,
        tag="VCALENDAR",
    )
    if not is_collection:
        collection_path = posixpath.dirname(pathutils.strip_path(path))
        (component,) = components
        radicale_item.Item(collection_path=collection_path, vobject_item=component).prepare()


def bad_request(reason: str) -> types.WSGIResponse:
    """A 400 that says why, in plain text (Radicale's says "Bad Request" and nothing else)."""
    status, headers, _answer, _xml = httputils.BAD_REQUEST
    return status, dict(headers), f"Bad Request: {reason}\n", None


def refuse_recurrence_bombs(body: bytes, path: str) -> str | None:
    """Our rules on a recurring object, before Radicale walks its recurrences.

    Radicale computes the span of a recurrence set when it prepares an object, and a rule that
    never occurs is walked to the year 9999 (seconds to minutes). Only bodies with an RRULE pay
    this second parse; anything that does not parse is left to Radicale's own error path.
    """
    if b"RRULE" not in _TIME_ZONES.sub(b"", body.upper()):
        return None  # the rules of a VTIMEZONE are not recurrences of an event
    try:
        components = radicale_item.read_components(body.decode("utf-8"))
    except Exception:
        return None
    return refusal(components, path.endswith("/"))


def refusal(components: list[Any], is_collection: bool = False) -> str | None:
    """Why our rules refuse these parsed objects, or None."""
    try:
        _check_ours(components, is_collection)
    except ValueError as error:
        return _clean(f"invalid calendar object: {error}")
    return None


def _check_ours(components: list[Any], is_collection: bool) -> None:
    """Kalends' rules on each parsed object (raise ValueError naming the first one broken)."""
    for component in components:
        if is_collection:  # a whole-calendar import drops METHOD when Radicale splits it
            component.contents.pop("method", None)
        check_calendar_object(component)
