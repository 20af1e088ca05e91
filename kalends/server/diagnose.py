"""Why Radicale rejected a calendar object: the reason a client (and its user) can act on.

Radicale validates a PUT body with vobject and answers a bare 400. On that (rare) path, the same
checks run once more here to recover the message; the successful path pays nothing.
"""

from __future__ import annotations

import posixpath

from radicale import item as radicale_item
from radicale import pathutils

from kalends.storage.validation import check_calendar_object

_MAX_REASON = 300


def _clean(message: str) -> str:
    one_line = " ".join(message.split())
    return one_line[:_MAX_REASON] or "invalid data"


def explain_rejected_calendar(body: bytes, path: str, max_rrule_occurrences: int) -> str:
    """A one-line reason why ``body`` is not a valid calendar object resource."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return _clean("the body is not valid UTF-8 (byte %d)" % error.start)
    if not text.strip():
        return "the body is empty"
    try:
        components = radicale_item.read_components(text)
    except Exception as error:
        return _clean("cannot parse iCalendar: %s" % error)
    is_collection = path.endswith("/")
    try:
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
        for component in components:
            check_calendar_object(component)
    except Exception as error:
        return _clean("invalid calendar object: %s" % error)
    return "the calendar object was not accepted"
