"""Checks a request must pass before Radicale sees it.

Each check is cheap and syntactic (bytes, headers, one expat pass over an XML body) and each
refusal says why. They stop inputs that would otherwise cost a parser its stack (deep nesting),
reach a 500 (DTDs), or be stored in a form that is wrong later (undecodable bytes, unsafe names):

- methods: only those Radicale implements (405 with ``Allow`` otherwise);
- ``Depth``: 0, 1 or infinity, and no ``Depth: infinity`` PROPFIND (RFC 4918 section 9.1);
- names written to: no hidden (``.x``), backup (``x~``), ``:``, ``\\`` or control characters;
- calendar bodies: UTF-8 without NUL, components nested at most ``MAX_COMPONENT_DEPTH`` deep;
- XML bodies: UTF-8, no DTD, at most ``MAX_XML_DEPTH`` deep, a known REPORT, no PROPPATCH of a
  protected property.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.parsers import expat

from kalends.server.wsgi import WSGIApp

MAX_COMPONENT_DEPTH = 10
MAX_XML_DEPTH = 64
DAV_ERROR_TYPE = "text/xml; charset=utf-8"
CALENDAR_TYPES = frozenset({"text/calendar", "text/vcard", "text/x-vcard"})
XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "REPORT", "MKCALENDAR", "MKCOL"})
WRITE_METHODS = frozenset({"PUT", "MKCALENDAR", "MKCOL", "MOVE", "COPY"})
DEPTHS = frozenset({"0", "1", "infinity"})

_DAV, _CALDAV, _CARDDAV = "DAV:", "urn:ietf:params:xml:ns:caldav", "urn:ietf:params:xml:ns:carddav"
_CS = "http://calendarserver.org/ns/"
_PREFIXES = {_DAV: "D", _CALDAV: "C", _CARDDAV: "CR", _CS: "CS"}
REPORTS = frozenset(
    {
        (_CALDAV, "calendar-query"),
        (_CALDAV, "calendar-multiget"),
        (_CALDAV, "free-busy-query"),
        (_DAV, "sync-collection"),
        (_DAV, "expand-property"),
        (_DAV, "principal-property-search"),
        (_DAV, "principal-search-property-set"),
        (_CARDDAV, "addressbook-query"),
        (_CARDDAV, "addressbook-multiget"),
    }
)
PROTECTED_PROPERTIES = frozenset(
    {
        (_DAV, name)
        for name in (
            "resourcetype",
            "getetag",
            "getcontentlength",
            "getlastmodified",
            "creationdate",
            "lockdiscovery",
            "supportedlock",
            "sync-token",
            "supported-report-set",
            "owner",
            "current-user-principal",
            "current-user-privilege-set",
            "principal-URL",
        )
    }
    | {(_CALDAV, "supported-calendar-data"), (_CALDAV, "max-resource-size"), (_CS, "getctag")}
)
_COMPONENT_LINE = re.compile(rb"^[ \t]*(BEGIN|END)[ \t]*[;:]", re.IGNORECASE | re.MULTILINE)
_FOLD = re.compile(rb"\r?\n[ \t]")
_UNSAFE_CHARACTERS = re.compile(r"[:\\\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is answered before it reaches Radicale."""

    status: int
    reason: str
    dav_error: str | None = None  # a DAV: precondition, e.g. "propfind-finite-depth"
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> str:
        if self.dav_error is not None:
            return (
                '<?xml version="1.0" encoding="utf-8"?>\n'
                f'<D:error xmlns:D="DAV:"><D:{self.dav_error}/></D:error>\n'
            )
        label = {400: "Bad Request: ", 403: "Forbidden: ", 405: "Method Not Allowed: "}
        return f"{label.get(self.status, '')}{self.reason}\n"


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def _bad(reason: str) -> Refusal:
    return Refusal(400, reason)


# -- headers and paths -------------------------------------------------------------------------


_METHODS: dict[type, frozenset[str]] = {}


def supported_methods(application: object) -> frozenset[str]:
    """The methods Radicale answers: its ``do_<METHOD>`` handlers, as its OPTIONS lists them."""
    kind = type(application)
    if kind not in _METHODS:
        _METHODS[kind] = frozenset(name[3:] for name in dir(kind) if name.startswith("do_"))
    return _METHODS[kind]


def check_method(method: str, supported: frozenset[str]) -> Refusal | None:
    if method in supported:
        return None
    allow = ", ".join(sorted(supported))
    return Refusal(405, f"method {method} is not supported", headers={"Allow": allow})


def check_depth(method: str, depth: str | None) -> Refusal | None:
    if depth is None:
        return None
    if depth.strip().lower() not in DEPTHS:
        return _bad(f"Depth must be 0, 1 or infinity, not {depth[:40]!r}")
    if method == "PROPFIND" and depth.strip().lower() == "infinity":
        return Refusal(403, "Depth: infinity is not supported", "propfind-finite-depth")
    return None


def unsafe_segment(path: str) -> str | None:
    """The first name in ``path`` that no resource may be given, or None."""
    for segment in path.split("/"):
        if segment in ("", ".", ".."):  # empty and relative segments are normalised away
            continue
        if segment.startswith(".") or segment.endswith("~") or _UNSAFE_CHARACTERS.search(segment):
            return segment
    return None


def check_target_names(method: str, path: str, destination: str | None) -> Refusal | None:
    """Resources are never created under hidden, backup or otherwise unsafe names."""
    if method not in WRITE_METHODS:
        return None
    targets = [path]
    if destination is not None and method in ("MOVE", "COPY"):
        targets.append(unquote(urlsplit(destination).path))
    for target in targets:
        segment = unsafe_segment(target)
        if segment is not None:
            return _bad(
                f"unsafe name {segment[:80]!r}: names must not start with '.', end with '~', "
                "or contain ':', '\\' or control characters"
            )
    return None


def media_type(content_type: str) -> tuple[str, str | None]:
    """``text/calendar; charset=UTF-8`` -> ("text/calendar", "utf-8")."""
    kind, _, parameters = content_type.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return kind.strip().lower(), charset


def check_put_type(content_type: str) -> Refusal | None:
    kind, _ = media_type(content_type)
    if kind in CALENDAR_TYPES:
        return None
    return Refusal(415, f"Unsupported Content-Type {kind or '(none)'!r}: send text/calendar")


# -- bodies ------------------------------------------------------------------------------------


def check_body(method: str, content_type: str, body: bytes) -> Refusal | None:
    """The checks on the request body (CPU-bound: run them off the event loop)."""
    if not body:
        return None
    if method == "PUT":
        return check_calendar_body(body, media_type(content_type)[1])
    if method in XML_METHODS:
        return check_xml_body(method, body)
    return None


def _utf8_problem(body: bytes, what: str) -> Refusal | None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return _bad(f"the {what} is not valid UTF-8 (byte {error.start})")
    return None


def check_calendar_body(body: bytes, charset: str | None) -> Refusal | None:
    if charset in (None, "utf-8", "utf8"):
        problem = _utf8_problem(body, "body")
        if problem is not None:
            return problem
    nul = body.find(b"\x00")
    if nul >= 0:
        return _bad(f"the body contains a NUL byte (byte {nul})")
    return _check_component_depth(body)


def _check_component_depth(body: bytes) -> Refusal | None:
    depth = 0
    for match in _COMPONENT_LINE.finditer(_FOLD.sub(b"", body)):
        depth = depth + 1 if match.group(1).upper() == b"BEGIN" else max(depth - 1, 0)
        if depth > MAX_COMPONENT_DEPTH:
            return _bad(f"components are nested more than {MAX_COMPONENT_DEPTH} levels deep")
    return None


class _XmlScan:
    """One expat pass: refuses DTDs, other encodings and deep nesting; notes what matters."""

    def __init__(self) -> None:
        self.stack: list[tuple[str, str]] = []
        self.root: tuple[str, str] | None = None
        self.patched: list[tuple[str, str]] = []  # properties a PROPPATCH sets or removes
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.XmlDeclHandler = self._declaration
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end

    def _declaration(self, version: str, encoding: str | None, standalone: int) -> None:
        if encoding is not None and encoding.lower() not in ("utf-8", "utf8", "us-ascii"):
            raise _Refused(_bad(f"XML encoding {encoding[:40]!r} is not supported: send UTF-8"))

    def _doctype(self, *args: object) -> None:  # entities can only be declared in a DTD
        raise _Refused(_bad("XML document type declarations (DTDs) are not accepted"))

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        element = (namespace, local)
        if self.root is None:
            self.root = element
        if len(self.stack) == 3 and self.stack[1][1] in ("set", "remove"):
            self.patched.append(element)  # propertyupdate / set|remove / prop / <property>
        self.stack.append(element)
        if len(self.stack) > MAX_XML_DEPTH:
            raise _Refused(_bad(f"XML elements are nested more than {MAX_XML_DEPTH} levels deep"))

    def _end(self, name: str) -> None:
        self.stack.pop()

    def scan(self, body: bytes) -> Refusal | None:
        try:
            self.parser.Parse(body, True)
        except _Refused as refused:
            return refused.refusal
        except expat.ExpatError as error:
            return _bad(f"malformed XML: {error}")
        return None


def _clark(element: tuple[str, str]) -> str:
    prefix = _PREFIXES.get(element[0])
    return f"{prefix}:{element[1]}" if prefix else f"{{{element[0]}}}{element[1]}"


def check_xml_body(method: str, body: bytes) -> Refusal | None:
    problem = _utf8_problem(body, "XML body")
    if problem is not None:
        return problem
    scan = _XmlScan()
    problem = scan.scan(body)
    if problem is not None:
        return problem
    if method == "REPORT" and scan.root not in REPORTS and scan.root is not None:
        return Refusal(403, f"unsupported REPORT {_clark(scan.root)}", "supported-report")
    protected = [p for p in scan.patched if p in PROTECTED_PROPERTIES]
    if method == "PROPPATCH" and protected:
        names = ", ".join(_clark(p) for p in protected)
        return Refusal(
            403,
            f"protected properties cannot be changed: {names}",
            "cannot-modify-protected-property",
        )
    return None


def guarded(app: WSGIApp, before_each: Callable[[], None]) -> WSGIApp:
    """``app`` behind the body checks, run in the request thread before Radicale sees the body."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        before_each()
        body = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        refusal = check_body(environ["REQUEST_METHOD"], environ.get("CONTENT_TYPE", ""), body)
        if refusal is None:
            return app(environ, start_response)
        content_type = DAV_ERROR_TYPE if refusal.dav_error else "text/plain; charset=utf-8"
        answer = refusal.body().encode("utf-8")
        headers = [("Content-Type", content_type), *refusal.headers.items()]
        start_response(
            f"{refusal.status} {HTTPStatus(refusal.status).phrase}",
            [*headers, ("Content-Length", str(len(answer)))],
        )
        return [answer]

    return serve
