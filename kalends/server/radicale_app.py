"""Radicale's WSGI application with the hot paths Kalends answers from its indexes.

- GET of a calendar streams the export from the database instead of building it in memory;
- a free-busy REPORT is computed from the occurrence index instead of parsing every event;
- PROPFIND Depth 1, sync-collection, calendar-query and calendar-multiget answers are written
  as text instead of element trees (``kalends.server.propfind``, ``kalends.server.calendar_query``,
  ``kalends.server.multiget``);
- a rejected PUT says why (Radicale answers a bare "Bad Request");
- requests that would break the unified calendar or a source's calendar are refused with a
  reason before Radicale sees them (``kalends.server.structure``).

Everything else, including every permission decision, stays Radicale's.
"""

from __future__ import annotations

import io
import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from http import client
from typing import Any
from xml.sax.saxutils import escape

from radicale import types, xmlutils
from radicale.app import Application
from radicale.app.base import Access
from radicale.app.get import propose_filename, requests_freebusy_view
from radicale.app.report import freebusy_periods, render_freebusy
from radicale.item import filter as radicale_filter

from kalends.server import calendar_query, multiget, propfind, put, structure
from kalends.server.diagnose import (
    bad_request,
    explain_rejected_calendar,
    refuse_recurrence_bombs,
)
from kalends.server.rights import OwnerOnlyRights
from kalends.storage import Collection, Storage

STREAM_KEY = "kalends.stream"
Response = types.WSGIResponse


def _mutable(environ: types.WSGIEnviron) -> dict[str, Any]:
    """The WSGI environ is a dict (PEP 3333) even where Radicale types it as a Mapping."""
    assert isinstance(environ, dict)
    return environ


def _buffer_body(environ: types.WSGIEnviron) -> bytes:
    """Read the request body once and leave a fresh copy for the next reader."""
    body: bytes = environ["wsgi.input"].read()
    _mutable(environ)["wsgi.input"] = io.BytesIO(body)
    return body


def _refusable(method: str) -> Any:
    """Radicale's handler of ``method``, behind Kalends' structural refusals."""
    inherited = getattr(Application, f"do_{method}")

    def handler(
        self: KalendsApplication,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response:
        refused = self._refused(method, environ, base_prefix, path, user, user_groups)
        if refused is not None:
            return refused
        args = (environ, base_prefix, path, user, user_groups, request_info)
        response: Response = inherited(self, *args)
        return response

    return handler


class KalendsApplication(Application):
    def _handle_request(self, environ: types.WSGIEnviron) -> tuple[str, list[tuple[str, str]], Any]:
        status, headers, answers = super()._handle_request(environ)
        stream: Iterable[bytes] | None = _mutable(environ).pop(STREAM_KEY, None)
        if stream is not None:
            answers = stream
        return status, headers, answers

    def _calendar_at(self, path: str, user: str) -> Collection | None:
        with self._storage.acquire_lock("r", user):
            target = next(iter(self._storage.discover(path)), None)
        if isinstance(target, Collection) and target.tag == "VCALENDAR":
            return target
        return None

    def _readable_calendar(self, path: str, user: str, user_groups: set[str]) -> Collection | None:
        """The calendar at ``path`` if ``user`` may read it (as Radicale decides), else None."""
        access = Access(self._rights, user, user_groups, path)
        if not access.check("r"):
            return None
        target = self._calendar_at(path, user)
        return target if target is not None and access.check("r", target) else None

    # -- GET of a whole calendar -------------------------------------------------------------

    def do_GET(
        self,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response:
        streamable = path.endswith("/") and not requests_freebusy_view(environ)
        if streamable and not self._sharing._enabled:
            streamed = self._stream_calendar(environ, path, user, user_groups)
            if streamed is not None:
                return streamed
        response: Response = super().do_GET(
            environ, base_prefix, path, user, user_groups, request_info
        )
        return response

    def _stream_calendar(
        self, environ: types.WSGIEnviron, path: str, user: str, user_groups: set[str]
    ) -> Response | None:
        target = self._readable_calendar(path, user, user_groups)
        if target is None:
            return None
        headers = {
            "Content-Type": xmlutils.MIMETYPES["VCALENDAR"],
            "Last-Modified": target.last_modified,
            "ETag": target.etag,
            "Content-Disposition": self._content_disposition_attachment(propose_filename(target)),
        }
        self._stream(environ, target.stream_ics())
        return client.OK, headers, None, None

    # -- PROPFIND Depth 1 ----------------------------------------------------------------------

    def do_PROPFIND(
        self,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response:
        body = _buffer_body(environ)
        if environ.get("HTTP_DEPTH") == "1" and self._owner_rights_only():
            listed = self._list_calendar(
                environ, base_prefix, path, user, user_groups, request_info
            )
            _mutable(environ)["wsgi.input"] = io.BytesIO(body)
            if listed is not None:
                return listed
        response: Response = super().do_PROPFIND(
            environ, base_prefix, path, user, user_groups, request_info
        )
        return response

    def _owner_rights_only(self) -> bool:
        """Item rights equal their calendar's only under owner_only rights without sharing."""
        return isinstance(self._rights, OwnerOnlyRights) and not self._sharing._enabled

    def _list_calendar(
        self,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response | None:
        """Radicale's answer for the calendar itself (Depth 0) plus our item responses."""
        try:
            props = propfind.requested_item_props(
                self._read_xml_request_body(environ, request_info)
            )
        except RuntimeError:
            return None
        if props is None:
            return None
        target = self._readable_calendar(path, user, user_groups)
        if target is None:
            return None
        environ["wsgi.input"].seek(0)
        own = super().do_PROPFIND(
            {**environ, "HTTP_DEPTH": "0"}, base_prefix, path, user, user_groups, request_info
        )
        status, headers, answer, xml_request = own
        closing = b"</multistatus>"
        if status != client.MULTI_STATUS or not isinstance(answer, bytes):
            return None
        if not answer.rstrip().endswith(closing) or b'<multistatus xmlns="DAV:"' not in answer:
            return None
        cut = answer.rstrip().rfind(closing)
        items = propfind.item_responses(
            target, target.listing(), props, base_prefix, self._encoding
        )
        self._stream(environ, [answer[:cut]], items, [closing])
        headers = {k: v for k, v in dict(headers).items() if k.lower() != "content-length"}
        return status, headers, None, xml_request

    # -- REPORT ------------------------------------------------------------------------------

    def do_REPORT(
        self,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response:
        body = _buffer_body(environ)
        if b"sync-collection" in body and self._owner_rights_only():
            listed = self._sync_listing(environ, base_prefix, path, user, user_groups, request_info)
            _mutable(environ)["wsgi.input"] = io.BytesIO(body)
            if listed is not None:
                return listed
        textual = b"calendar-query" in body or b"calendar-multiget" in body
        if textual and self._owner_rights_only() and self._encoding == "utf-8":
            found = self._text_report(environ, base_prefix, path, user, user_groups, request_info)
            _mutable(environ)["wsgi.input"] = io.BytesIO(body)
            if found is not None:
                return found
        if b"free-busy-query" in body and not self._sharing._enabled:
            answer = self._free_busy(environ, path, user, user_groups, request_info)
            _mutable(environ)["wsgi.input"] = io.BytesIO(body)
            if answer is not None:
                return answer
        response: Response = super().do_REPORT(
            environ, base_prefix, path, user, user_groups, request_info
        )
        return response

    def _sync_listing(
        self,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response | None:
        """A sync-collection answer from the revision log and the index columns."""
        try:
            query = self._read_xml_request_body(environ, request_info)
        except RuntimeError:
            return None
        props = propfind.requested_item_props(query, "sync-collection")
        if props is None or query is None:
            return None
        target = self._readable_calendar(path, user, user_groups)
        if target is None:
            return None
        token_element = query.find("{DAV:}sync-token")
        old_token = (token_element.text or "").strip() if token_element is not None else ""
        try:
            token, names = target.sync(old_token)
        except ValueError:
            return None  # Radicale answers 403 valid-sync-token
        opening = f'{propfind.XML_HEAD}<multistatus xmlns="DAV:"><sync-token>{escape(token)}'
        if old_token:
            names = list(names)
            rows = target.heads(names)
            present: Iterable[Any] = [rows[name] for name in names if name in rows]
            # Radicale's order: the deleted members first, then the others
            missing = propfind.missing_responses(
                target, (n for n in names if n not in rows), base_prefix
            )
        else:  # everything, straight from the index in batches
            present, missing = target.listing(), ""
        items = propfind.item_responses(target, present, props, base_prefix, self._encoding)
        self._stream(environ, [opening + "</sync-token>" + missing], items, ["</multistatus>"])
        headers = {"Content-Type": f"text/xml; charset={self._encoding}"}
        return client.MULTI_STATUS, headers, None, None

    def _text_report(
        self,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response | None:
        """Radicale's calendar-query or calendar-multiget answer, written as text
        (``kalends.server.calendar_query``, ``kalends.server.multiget``)."""
        try:
            request = self._read_xml_request_body(environ, request_info)
        except RuntimeError:
            return None
        report = calendar_query.parse(request) or multiget.parse(request, base_prefix)
        if report is None:
            return None
        target = self._readable_calendar(path, user, user_groups)
        if target is None:
            return None
        limit = self.configuration.get("reporting", "max_expand_occurrence")
        answer = report.answer(target, base_prefix, limit)
        if answer is None:
            return None
        self._stream(environ, answer)
        headers = {"Content-Type": f"text/xml; charset={self._encoding}"}
        return client.MULTI_STATUS, headers, None, None

    def _stream(self, environ: types.WSGIEnviron, *parts: Iterable[str | bytes]) -> None:
        """Answer with ``parts`` in order, encoded as they are produced (see _handle_request)."""
        encoding = self._encoding
        chunks = itertools.chain.from_iterable(parts)
        _mutable(environ)[STREAM_KEY] = (
            chunk if isinstance(chunk, bytes) else chunk.encode(encoding) for chunk in chunks
        )

    def _free_busy(
        self,
        environ: types.WSGIEnviron,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response | None:
        """Answer a free-busy-query on a calendar, or None to leave the request to Radicale."""
        access = Access(self._rights, user, user_groups, path)
        if not access.check("r") and not access.allows_freebusy():
            return None
        try:
            query = self._read_xml_request_body(environ, request_info)
        except RuntimeError:
            return None
        if query is None or query.tag != xmlutils.make_clark("C:free-busy-query"):
            return None
        target = self._calendar_at(path, user)
        if target is None or not access.allows_freebusy(target):
            return None
        time_range = query.find(xmlutils.make_clark("C:time-range"))
        if time_range is None:
            return bad_request("free-busy-query needs a C:time-range")
        try:
            text = self._free_busy_text(target, time_range)
        except ValueError as error:
            return bad_request(str(error))
        headers = {"Content-Type": f"text/calendar; charset={self._encoding}"}
        return client.OK, headers, text, None

    def _free_busy_text(self, collection: Collection, time_range: ET.Element) -> str:
        start, end = radicale_filter.parse_time_range(time_range)
        limit = self.configuration.get("reporting", "max_freebusy_occurrence")
        periods, unindexed = collection.busy_periods(
            math.floor(start.timestamp()), math.ceil(end.timestamp()), limit
        )
        for item in unindexed:
            periods.extend(freebusy_periods(item, start, end, limit))
        text: str = render_freebusy(periods, start, end)
        return text

    # -- the unified calendar and sources' calendars ------------------------------------------

    def _refused(
        self,
        method: str,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
    ) -> Response | None:
        """A refusal of ``structure.refusal`` for a request the user may otherwise make."""
        storage = self._storage
        if not isinstance(storage, Storage):
            return None
        if not Access(self._rights, user, user_groups, path).check("w"):
            return None  # Radicale's own answer: no reason given to strangers
        raw = environ.get("HTTP_DESTINATION", "")
        destination = structure.destination_path(raw, base_prefix) if raw else None
        reason = structure.refusal(method, path, destination, storage.collection_kinds)
        return None if reason is None else _forbidden(reason)

    # Methods that change a collection's structure: refused with a reason where the unified
    # or a source calendar cannot take them (see ``structure.refusal``), else Radicale's own.
    do_DELETE = _refusable("DELETE")
    do_MOVE = _refusable("MOVE")
    do_MKCOL = _refusable("MKCOL")
    do_MKCALENDAR = _refusable("MKCALENDAR")
    do_PROPPATCH = _refusable("PROPPATCH")

    def _storage_refusal(self) -> Response | None:
        """The reason the storage gave for the write it just refused (see Storage.refusals)."""
        storage = self._storage
        refused = storage.refusals.take() if isinstance(storage, Storage) else None
        return None if refused is None else _plain_answer(refused.status, refused.reason)

    # -- PUT ---------------------------------------------------------------------------------

    def do_PUT(
        self,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response:
        body = _buffer_body(environ)
        self._storage_refusal()  # forget one this thread left behind
        answered = self._put_object(environ, path, user, user_groups, request_info)
        _mutable(environ)["wsgi.input"] = io.BytesIO(body)
        if answered is not None:
            return answered
        if Access(self._rights, user, user_groups, path).check("w"):
            bomb = refuse_recurrence_bombs(body, path)
            if bomb is not None:
                return bad_request(bomb)
        response: Response = super().do_PUT(
            environ, base_prefix, path, user, user_groups, request_info
        )
        refused = self._storage_refusal()
        if refused is not None and response[0] == client.BAD_REQUEST:
            return refused
        if response[0] == client.PRECONDITION_FAILED and len(body) > self._max_resource_size:
            return _too_large(self._max_resource_size)  # Radicale's 412 for an oversized object
        if response[0] != client.BAD_REQUEST:
            return response
        reason = explain_rejected_calendar(
            body, path, self.configuration.get("server", "max_vevent_rrule_occurrence")
        )
        return bad_request(reason)

    def _put_object(
        self,
        environ: types.WSGIEnviron,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> Response | None:
        """Kalends' own PUT of one calendar object (``kalends.server.put``), where it applies."""
        storage = self._storage
        if not isinstance(storage, Storage) or self._sharing._enabled or self._hook.enabled:
            return None
        context = put.PutContext(
            storage,
            self._rights,
            self.configuration,
            self._max_resource_size,
            self._max_vevent_rrule_occurrence,
            self._strict_preconditions,
        )
        request = put.Request(environ, path, user, user_groups, request_info)
        return put.put_calendar_object(context, request, self._webdav_error_response)


def _too_large(limit: int) -> Response:
    text = f"Calendar object too large: the limit is {limit} bytes\n"
    return (
        client.REQUEST_ENTITY_TOO_LARGE,
        {"Content-Type": "text/plain; charset=utf-8"},
        text,
        None,
    )


def _plain_answer(status: int, reason: str) -> Response:
    label = {403: "Forbidden", 409: "Conflict"}.get(status, "Refused")
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    return status, headers, f"{label}: {reason}\n", None


def _forbidden(reason: str) -> Response:
    return _plain_answer(client.FORBIDDEN, reason)
