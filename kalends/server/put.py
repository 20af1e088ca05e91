"""PUT of one calendar object into a calendar: Kalends' own path for the common write.

Radicale's PUT reads the object with vobject, writes it out again to have the text it stores
and its etag, and looks the target and its calendar up in two separate discoveries. Here the
object is read once, the client's own text is stored when it is a plain CRLF calendar object
that Radicale's clean-up left alone (else vobject writes it, as Radicale does), and the
calendar and the item are found with one look-up. The decisions are Radicale's: the same
rights, preconditions (If-Match, If-None-Match, strict preconditions), UID conflict (409
no-uid-conflict) and answers (201 or 204 with the ETag).

Anything else (a collection, a whole-calendar upload, an address book, sharing, hooks, an
object that does not read or check) is left to Radicale's handler, which gives its own answer
and Kalends' explanation of a refusal.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from http import client
from itertools import chain
from typing import Any

from radicale import httputils, pathutils, types
from radicale import item as radicale_item
from radicale.app.base import Access
from radicale.rights import BaseRights

from kalends.server import diagnose
from kalends.storage import Collection, Storage, writes

Response = types.WSGIResponse


@dataclass(frozen=True)
class PutContext:
    """What the PUT needs of the application (its settings and parts)."""

    storage: Storage
    rights: BaseRights
    configuration: Any
    max_resource_size: int
    max_rrule_occurrences: int
    strict_preconditions: bool


@dataclass(frozen=True)
class Request:
    environ: types.WSGIEnviron
    path: str
    user: str
    user_groups: set[str]
    request_info: dict[str, Any]


def client_text(content: str) -> str | None:
    """The client's text, when it is written as vobject would write it back (CRLF lines, no
    blank line); else None."""
    if not content.startswith("BEGIN:VCALENDAR\r\n") or not content.endswith("END:VCALENDAR\r\n"):
        return None
    if content.count("\n") != content.count("\r\n") or "\n\r\n" in content:
        return None  # bare line feeds, or blank lines (vobject drops them)
    return content


def quirk_state(calendar: Any) -> list[Any]:
    """What Radicale's clean-up of an object may change (Thunderbird's DTEND with a zero
    DURATION, Evolution's EXDATE and RDATE value types and zones), copied: an object whose
    state it changed is stored as vobject writes it after the fix, as Radicale stores it."""
    state: list[Any] = []
    for component in calendar.components():
        contents = component.contents
        state.append("duration" in contents)
        for line in chain(contents.get("exdate", ()), contents.get("rdate", ())):
            state.append((list(line.value), {k: list(v) for k, v in line.params.items()}))
    return state


def parsed(content: str) -> list[Any] | None:
    """The objects in ``content`` as Radicale reads them, or None when they do not read."""
    try:
        components: list[Any] = radicale_item.read_components(content)
    except Exception:  # vobject raises anything; Radicale's handler then gives its answer
        return None
    return components


def recurring(components: list[Any]) -> bool:
    return any("rrule" in c.contents for calendar in components for c in calendar.components())


def prepared_item(
    components: list[Any], content: str, collection_path: str, max_rrule: int
) -> radicale_item.Item | None:
    """The object checked and prepared as Radicale's PUT does; None when it does not pass."""
    try:
        before = [quirk_state(calendar) for calendar in components]
        radicale_item.check_and_sanitize_items(
            components, max_vevent_rrule_occurrence=max_rrule, tag="VCALENDAR"
        )
        (component,) = components
        untouched = before == [quirk_state(component)]
        text = client_text(content) if untouched else None
        item = radicale_item.Item(
            collection_path=collection_path, vobject_item=component, text=text
        )
        writes.prepare(item)
    except Exception:  # vobject raises anything; Radicale's handler then gives its answer
        return None
    return item


def put_calendar_object(
    context: PutContext, request: Request, error_response: Any
) -> Response | None:
    """Answer the PUT of one object into a calendar, or None to leave it to Radicale."""
    path = request.path
    if path.endswith("/"):
        return None
    access = Access(context.rights, request.user, request.user_groups, path)
    if not access.check("w") or "w" not in access.parent_permissions:
        return None
    try:
        content = httputils.read_request_body(
            context.configuration, request.environ, request.request_info
        )
    except Exception:  # an unreadable body gets Radicale's answer
        return None
    if len(content.encode()) > context.max_resource_size:
        return None
    components = parsed(content)
    if components is None:
        return None
    if recurring(components):  # our rules before Radicale walks the recurrences (a bomb)
        try:
            reason = diagnose.refusal(components)
        except Exception:  # not a calendar object our rules can read: Radicale answers
            return None
        if reason is not None:
            return diagnose.bad_request(reason)
    collection_path = posixpath.dirname(pathutils.strip_path(path))
    item = prepared_item(components, content, collection_path, context.max_rrule_occurrences)
    if item is None:
        return None
    try:
        return _write(context, request, item, error_response)
    except ValueError:  # refused by the storage: Radicale's handler answers, with the reason
        return None


def _write(
    context: PutContext, request: Request, item: radicale_item.Item, error_response: Any
) -> Response | None:
    storage, path = context.storage, request.path
    with storage.acquire_lock("w", request.user, path=path, request="PUT"):
        parent, existing = storage.parent_and_item(path)
        if not isinstance(parent, Collection) or parent.tag != "VCALENDAR":
            return None
        if isinstance(existing, Collection):
            return None
        refused = _precondition(context, request.environ, existing)
        if refused is not None:
            return refused
        if (existing is not None and existing.uid != item.uid) or (
            existing is None and parent.has_uid(item.uid)
        ):
            request.request_info["status"] = client.CONFLICT
            response: Response = error_response(
                client.CONFLICT, "C:no-uid-conflict", request.request_info
            )
            return response
        href = posixpath.basename(pathutils.strip_path(path))
        etag = parent.put_item(href, item, new=existing is None)
    status = client.NO_CONTENT if existing is not None else client.CREATED
    return status, {"ETag": etag}, None, None


def _precondition(
    context: PutContext, environ: types.WSGIEnviron, existing: Any
) -> Response | None:
    """Radicale's answer to If-Match and If-None-Match: None when the write may go on."""
    etag = environ.get("HTTP_IF_MATCH", "")
    if existing is not None and not etag and context.strict_preconditions:
        return httputils.PRECONDITION_FAILED
    if existing is None and etag:
        return httputils.PRECONDITION_FAILED
    if existing is not None and etag and etag not in ("*", existing.etag):
        return httputils.PRECONDITION_FAILED
    if existing is not None and environ.get("HTTP_IF_NONE_MATCH", "") == "*":
        return httputils.PRECONDITION_FAILED
    return None
