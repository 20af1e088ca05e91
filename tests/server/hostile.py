"""Helpers for the hostile-input suites: one live server per module, timed requests, snapshots.

Every refused request is checked the same way (``refused``): the exact status, the reason in the
body, nothing internal in the body, finished in time; ``unchanged`` proves it left no trace.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.harness import PASSWORD, LiveServer, live_server, write_config

MAX_BODY_BYTES = 262_144
SLOW = 2.0  # seconds any hostile request may take (R0)
BOMB = 0.5  # seconds a small input built to cost CPU may take
CALENDAR = "/alice/calendar/"
USERS = {"alice": ("calendar",), "bob": ("calendar",), "carol": ("calendar",)}
INTERNALS = re.compile(
    r"Traceback|File \"|sqlalchemy|sqlite3|psycopg|SELECT |INSERT INTO|\.py\b", re.IGNORECASE
)
SNAPSHOT_PROPS = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
    'xmlns:CS="http://calendarserver.org/ns/" xmlns:I="http://apple.com/ns/ical/"><D:prop>'
    "<D:displayname/><D:resourcetype/><D:sync-token/><CS:getctag/><I:calendar-color/>"
    "</D:prop></D:propfind>"
)


@contextmanager
def hostile_server(directory: Path, password_hash: str) -> Iterator[LiveServer]:
    """A server on SQLite with a small body limit, users alice, bob and carol."""
    config = write_config(
        directory,
        f"sqlite:///{directory / 'kalends.db'}",
        password_hash,
        users=USERS,
        server={"max_body_bytes": MAX_BODY_BYTES},
    )
    with live_server(config) as server:
        yield server


@dataclass(frozen=True, slots=True)
class Timed:
    response: httpx.Response
    seconds: float

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def text(self) -> str:
        return self.response.text


class Client:
    """httpx against the live server, timing every request."""

    def __init__(self, server: LiveServer, user: str = "alice") -> None:
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, auth=(user, PASSWORD), timeout=30)

    def send(
        self, method: str, path: str, body: str | bytes | None = None, **headers: str
    ) -> Timed:
        started = time.perf_counter()
        response = self.http.request(method, path, content=body, headers=headers)
        return Timed(response, time.perf_counter() - started)

    def put(
        self, path: str, body: str | bytes, content_type: str = "text/calendar", **headers: str
    ) -> Timed:
        return self.send("PUT", path, body, **{"Content-Type": content_type, **headers})

    def snapshot(self, path: str = CALENDAR) -> tuple[str, str, str]:
        """The whole collection, its ETag and its properties (ctag, sync token, name...)."""
        whole = self.http.get(path)
        assert whole.status_code == 200
        props = self.http.request("PROPFIND", path, content=SNAPSHOT_PROPS, headers={"Depth": "0"})
        assert props.status_code == 207
        return whole.text, whole.headers["ETag"], props.text


@contextmanager
def unchanged(client: Client, path: str = CALENDAR) -> Iterator[None]:
    before = client.snapshot(path)
    yield
    assert client.snapshot(path) == before


def clean(text: str) -> None:
    """No stack trace, source path or SQL in a response body."""
    assert INTERNALS.search(text) is None, text[:500]


def refused(answer: Timed, status: int, reason: str, limit: float = SLOW) -> None:
    assert answer.status == status, (answer.status, answer.text[:300])
    assert reason in answer.text, answer.text[:300]
    clean(answer.text)
    assert answer.seconds < limit, answer.seconds


def raw_request(server: LiveServer, request_line: str, user: str = "alice") -> tuple[int, str]:
    """One request sent byte for byte (httpx would normalise the path); (status, body)."""
    parts = urlsplit(server.url)
    token = httpx.BasicAuth(user, PASSWORD)._auth_header
    head = f"{request_line}\r\nHost: {parts.netloc}\r\nAuthorization: {token}\r\n"
    head += "Content-Length: 0\r\nConnection: close\r\n\r\n"
    started = time.perf_counter()
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    assert time.perf_counter() - started < SLOW
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


def vcalendar(*components: str, head: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        + head
        + "".join(components)
        + "END:VCALENDAR\r\n"
    )


def vevent(
    uid: str,
    times: str = "DTSTART:20240105T100000Z\r\nDTEND:20240105T110000Z\r\n",
    extra: str = "",
) -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n{times}"
        f"SUMMARY:{uid}\r\n{extra}END:VEVENT\r\n"
    )


def event(uid: str, extra: str = "", times: str | None = None) -> str:
    if times is None:
        return vcalendar(vevent(uid, extra=extra))
    return vcalendar(vevent(uid, times, extra))
