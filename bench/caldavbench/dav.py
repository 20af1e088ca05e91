"""The timed HTTP client, the request bodies and the parsing of the answers."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from urllib.parse import unquote

import httpx

from .model import Window, utc_stamp
from .servers import PASSWORD, USER, BenchError, ServerProcess

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
ICS_TYPE = "text/calendar; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
DEPTH1 = {"Depth": "1", "Content-Type": XML_TYPE}
DEPTH0 = {"Depth": "0", "Content-Type": XML_TYPE}


class Dav:
    """One keep-alive connection to a server, Basic auth; every request is timed."""

    def __init__(self, server: ServerProcess, accept_encoding: str, user: str = USER) -> None:
        self.server = server
        self.client = httpx.Client(
            base_url=server.url,
            auth=(user, PASSWORD),
            timeout=900.0,
            headers={"Accept-Encoding": accept_encoding},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        expect: Iterable[int] = (200,),
    ) -> tuple[httpx.Response, float]:
        content = None if body is None else body.encode("utf-8")
        begin = time.perf_counter()
        response = self.client.request(method, path, content=content, headers=headers)
        elapsed = time.perf_counter() - begin
        if response.status_code not in tuple(expect):
            raise BenchError(
                f"{self.server.name} {method} {path} -> {response.status_code} "
                f"{response.text[:500]}\n{self.server.tail()}"
            )
        return response, elapsed

    def put(self, path: str, text: str, create: bool) -> float:
        headers = {"Content-Type": ICS_TYPE}
        if create:
            headers["If-None-Match"] = "*"
        expect = (201,) if create else (201, 204)
        return self.request("PUT", path, text, headers, expect)[1]


def _xml(body: str) -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body


def calendar_query_body(window: Window, with_data: bool = True) -> str:
    data = "<C:calendar-data/>" if with_data else ""
    return _xml(
        f'<C:calendar-query xmlns:D="DAV:" xmlns:C="{CALDAV}">'
        f'<D:prop><D:getetag/>{data}</D:prop><C:filter><C:comp-filter name="VCALENDAR">'
        f'<C:comp-filter name="VEVENT">{_time_range(window)}</C:comp-filter>'
        "</C:comp-filter></C:filter></C:calendar-query>"
    )


def _time_range(window: Window) -> str:
    return f'<C:time-range start="{utc_stamp(window.start)}" end="{utc_stamp(window.end)}"/>'


def multiget_body(paths: Iterable[str]) -> str:
    hrefs = "".join(f"<D:href>{path}</D:href>" for path in paths)
    return _xml(
        f'<C:calendar-multiget xmlns:D="DAV:" xmlns:C="{CALDAV}">'
        f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"
    )


def sync_body(token: str) -> str:
    token_element = f"<D:sync-token>{token}</D:sync-token>" if token else "<D:sync-token/>"
    return _xml(
        f'<D:sync-collection xmlns:D="DAV:">{token_element}<D:sync-level>1</D:sync-level>'
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )


def freebusy_body(window: Window) -> str:
    return _xml(f'<C:free-busy-query xmlns:C="{CALDAV}">{_time_range(window)}</C:free-busy-query>')


PROPFIND_BODY = _xml('<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>')


def response_hrefs(response: httpx.Response, status: str = "") -> list[str]:
    """The resource names (last path segment) in a multistatus answer; with ``status``, only the
    responses whose status line contains it."""
    root = ET.fromstring(response.content)
    names = []
    for node in root.iter("{DAV:}response"):
        href = node.findtext("{DAV:}href") or ""
        statuses = " ".join(s.text or "" for s in node.iter("{DAV:}status"))
        if status and status not in statuses:
            continue
        names.append(
            unquote(href.rstrip("/").rsplit("/", 1)[-1]) if href.endswith(".ics") else href
        )
    return names


def sync_token(response: httpx.Response) -> str:
    return ET.fromstring(response.content).findtext("{DAV:}sync-token") or ""


def freebusy_periods_of(text: str) -> set[str]:
    unfolded = text.replace("\r\n ", "").replace("\n ", "")
    periods: set[str] = set()
    for line in unfolded.splitlines():
        if line.startswith("FREEBUSY"):
            params, _, value = line.partition(":")
            periods.update(f"{params} {period}" for period in value.split(","))
    return periods
