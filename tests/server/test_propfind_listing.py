"""PROPFIND Depth 1 on a calendar is answered from the index, byte for byte as Radicale would."""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalends.config import load_settings
from kalends.server import propfind as propfind_module
from kalends.server.provision import provision_calendars
from kalends.server.radicale_app import KalendsApplication
from kalends.server.radicale_config import build_radicale_configuration
from kalends.storage.engine import create_storage_engine, migrate_database
from tests.harness import PASSWORD, write_config

AUTH = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()


@pytest.fixture
def app(tmp_path: Path, password_hash: str) -> Iterator[KalendsApplication]:
    settings = load_settings(
        write_config(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash)
    )
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url)
    application = KalendsApplication(build_radicale_configuration(settings, engine))
    provision_calendars(application._storage, settings)
    yield application
    engine.dispose()


def call(app: Any, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.errors": sys.stderr,
        "HTTP_AUTHORIZATION": AUTH,
        "CONTENT_TYPE": "text/calendar",
    }
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    started: dict[str, str] = {}

    def start_response(status: str, _headers: list[tuple[str, str]]) -> None:
        started["status"] = status

    answer = b"".join(app(environ, start_response))
    return started["status"], answer


def propfind(props: str) -> bytes:
    return (
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop>{props}</D:prop></D:propfind>"
    ).encode()


@pytest.mark.parametrize(
    "props",
    [
        "<D:getetag/>",
        "<D:resourcetype/><D:getcontenttype/><D:getetag/>",
        "<D:getlastmodified/><D:getetag/>",
    ],
)
def test_listing_matches_radicale(
    app: KalendsApplication, props: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[int] = []
    original = propfind_module.item_responses

    def spy(*args: Any) -> str:
        answered.append(1)
        return original(*args)

    monkeypatch.setattr(propfind_module, "item_responses", spy)
    for number, uid in enumerate(["a", "b c", "d&e", "ü"]):
        text = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:2024010{number + 1}T100000Z\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        status, _ = call(app, "PUT", f"/alice/calendar/{uid}.ics", text.encode())
        assert status.startswith("201")
    fast = call(app, "PROPFIND", "/alice/calendar/", propfind(props), depth="1")
    assert answered == [1]  # the index answered
    app._owner_rights_only = lambda: False  # type: ignore[method-assign]
    slow = call(app, "PROPFIND", "/alice/calendar/", propfind(props), depth="1")
    assert fast == slow
    assert fast[1].count(b"<response>") == 5


def test_other_properties_are_left_to_radicale(app: KalendsApplication) -> None:
    status, answer = call(
        app, "PROPFIND", "/alice/calendar/", propfind("<D:getetag/><C:calendar-data/>"), depth="1"
    )
    assert status.startswith("207")
    assert b"<response>" in answer


SYNC = (
    '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
    "<D:sync-level>1</D:sync-level><D:prop>{props}</D:prop></D:sync-collection>"
)


def _token(answer: bytes) -> str:
    return answer.decode().split("<sync-token>")[1].split("</sync-token>")[0]


def test_sync_collection_matches_radicale(
    app: KalendsApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    for uid in ("a", "b c", "d&e"):
        text = EVENT.format(uid=uid, day=1)
        assert call(app, "PUT", f"/alice/calendar/{uid}.ics", text.encode())[0].startswith("201")
    props = "<D:getetag/><D:getcontenttype/>"
    initial = call(app, "REPORT", "/alice/calendar/", SYNC.format(token="", props=props).encode())
    call(app, "DELETE", "/alice/calendar/a.ics")
    call(app, "PUT", "/alice/calendar/f.ics", EVENT.format(uid="f", day=2).encode())
    delta_body = SYNC.format(token=_token(initial[1]), props=props).encode()
    answered: list[int] = []
    original = propfind_module.missing_responses

    def spy(*args: Any) -> str:
        answered.append(1)
        return original(*args)

    monkeypatch.setattr(propfind_module, "missing_responses", spy)
    delta = call(app, "REPORT", "/alice/calendar/", delta_body)
    assert answered == [1]  # the index answered
    assert delta[1].count(b"<response>") == 2 and b"404 Not Found" in delta[1]
    monkeypatch.setattr(app, "_owner_rights_only", lambda: False)
    assert call(app, "REPORT", "/alice/calendar/", delta_body) == delta
    radicale_initial = call(
        app, "REPORT", "/alice/calendar/", SYNC.format(token="", props=props).encode()
    )
    assert radicale_initial[1].count(b"<response>") == 3  # after the delete and the new one
    assert initial[0] == radicale_initial[0]


EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20240101T000000Z\r\nDTSTART:2024010{day}T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@given(st.text() | st.text(alphabet="abcXYZ019_.~/-% &+:@ü"))
def test_quoted_is_quote(href: str) -> None:
    assert propfind_module.quoted(href) == quote(href)
