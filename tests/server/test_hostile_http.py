"""Hostile XML, HTTP, paths and logins (catalogue sections B, C, D), against one live server.

Each test names its catalogue row and the status chosen for it. Refusals name their reason (a
plain-text ``Bad Request: <reason>``, or a DAV precondition element), show nothing internal,
finish in time, and leave the calendar exactly as it was.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kalends.config import load_settings
from kalends.config.errors import ConfigError
from tests.harness import PASSWORD, LiveServer
from tests.server.hostile import (
    BOMB,
    CALENDAR,
    MAX_BODY_BYTES,
    Client,
    clean,
    event,
    hostile_server,
    raw_request,
    refused,
    unchanged,
)

XML = '<?xml version="1.0" encoding="utf-8"?>'
NAMESPACES = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'
PROPFIND = XML + '<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>'
SECRET = "SECRET-SUMMARY"  # alice's data: must never reach anyone else


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Iterator[LiveServer]:
    with hostile_server(tmp_path_factory.mktemp("hostile-http"), password_hash) as running:
        yield running


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> Client:
    client = Client(server)
    body = event("base").replace("SUMMARY:base", f"SUMMARY:{SECRET}")
    assert client.put(CALENDAR + "base.ics", body).status == 201
    return client


@pytest.fixture(scope="module")
def bob(server: LiveServer) -> Client:
    return Client(server, "bob")


# -- B1-B4: entities, DTDs, nesting -----------------------------------------------------------

DTD_BODIES = {
    "xxe-file": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    "billion-laughs": '<!DOCTYPE x [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>",
    "parameter-entity": '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>',
    "external-dtd": '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">',
}


@pytest.mark.parametrize("doctype", DTD_BODIES.values(), ids=DTD_BODIES.keys())
def test_b1_b2_b3_dtds_and_entities_are_400(alice: Client, doctype: str) -> None:
    body = PROPFIND.replace(XML, XML + doctype)
    with unchanged(alice):
        answer = alice.send("PROPFIND", CALENDAR, body, Depth="0")
    reason = "Bad Request: XML document type declarations (DTDs) are not accepted"
    refused(answer, 400, reason, BOMB)
    assert "root:" not in answer.text


def test_b3_xinclude_is_never_processed(alice: Client) -> None:
    """XInclude elements are unknown properties to us: 207, the file is never read."""
    body = (
        XML + '<D:propfind xmlns:D="DAV:" xmlns:xi="http://www.w3.org/2001/XInclude"><D:prop>'
        '<xi:include href="file:///etc/passwd" parse="text"/></D:prop></D:propfind>'
    )
    answer = alice.send("PROPFIND", CALENDAR, body, Depth="0")
    assert (answer.status, "root:" in answer.text, answer.seconds < 2.0) == (207, False, True)


def test_b4_deep_element_nesting_is_400(alice: Client) -> None:
    depth = 30_000  # 210 kB, under the body limit
    body = XML + '<D:propfind xmlns:D="DAV:">' + "<a>" * depth + "</a>" * depth + "</D:propfind>"
    assert len(body) < MAX_BODY_BYTES
    with unchanged(alice):
        answer = alice.send("PROPFIND", CALENDAR, body, Depth="0")
    refused(answer, 400, "XML elements are nested more than 64 levels deep", BOMB)


# -- B8: namespaces, encodings, unknown reports -----------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            XML + '<D:propfind xmlns:D="DAV:"><X:prop/></D:propfind>',
            "malformed XML: unbound prefix",
        ),
        (
            '<?xml version="1.0" encoding="ISO-8859-1"?><D:propfind xmlns:D="DAV:"><D:allprop/>'
            "</D:propfind>",
            "XML encoding 'ISO-8859-1' is not supported: send UTF-8",
        ),
        (
            '<?xml version="1.0" encoding="UTF-16"?><D:propfind xmlns:D="DAV:"><D:allprop/>'
            "</D:propfind>".encode("utf-16"),
            "the XML body is not valid UTF-8",
        ),
    ],
    ids=["undeclared-prefix", "latin-1-declaration", "utf-16"],
)
def test_b8_namespaces_and_encodings_are_400(alice: Client, body: str | bytes, reason: str) -> None:
    with unchanged(alice):
        refused(alice.send("PROPFIND", CALENDAR, body, Depth="0"), 400, reason)


def test_b8_unknown_report_is_403_supported_report(alice: Client) -> None:
    body = XML + '<D:bogus-report xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:bogus-report>'
    refused(alice.send("REPORT", CALENDAR, body, Depth="1"), 403, "<D:supported-report/>")


# -- B9: depth ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/alice/"])
def test_b9_depth_infinity_propfind_is_403_finite_depth(alice: Client, path: str) -> None:
    answer = alice.send("PROPFIND", path, PROPFIND, Depth="infinity")
    refused(answer, 403, "<D:propfind-finite-depth/>")
    assert answer.response.headers["Content-Type"].startswith("text/xml")


def test_b9_depth_other_than_0_1_infinity_is_400(alice: Client) -> None:
    refused(alice.send("PROPFIND", "/alice/", PROPFIND, Depth="2"), 400, "Depth must be 0, 1")


# -- B10: PROPPATCH ----------------------------------------------------------------------------


def proppatch(props: str) -> str:
    return (
        XML + f'<D:propertyupdate xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/"><D:set>'
        f"<D:prop>{props}</D:prop></D:set></D:propertyupdate>"
    )


def test_b10_megabyte_displayname_is_413(alice: Client) -> None:
    body = proppatch("<D:displayname>" + "x" * 1_000_000 + "</D:displayname>")
    with unchanged(alice):
        refused(alice.send("PROPPATCH", CALENDAR, body), 413, "Request body too large")


def test_b10_protected_properties_are_403_and_nothing_is_written(alice: Client) -> None:
    props = '<D:getetag>"x"</D:getetag><D:resourcetype/><D:displayname>new</D:displayname>'
    body = proppatch(props)
    with unchanged(alice):
        answer = alice.send("PROPPATCH", CALENDAR, body)
    refused(answer, 403, "<D:cannot-modify-protected-property/>")
    assert alice.send("GET", CALENDAR + "base.ics").status == 200  # still a calendar


def test_b10_markup_in_calendar_color_stays_text(alice: Client) -> None:
    value = "#fff&lt;/I:calendar-color&gt;&lt;D:href&gt;x&lt;/D:href&gt;"
    body = proppatch(f"<I:calendar-color>{value}</I:calendar-color>")
    assert alice.send("PROPPATCH", CALENDAR, body).status == 207
    assert f"{value}</ICAL:calendar-color>" in alice.snapshot()[2]


# -- C1-C3: paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/../../etc/passwd", 403),
        ("/alice/calendar/../../bob/calendar/", 403),
        ("/alice/calendar/%2e%2e%2f%2e%2e%2fbob/calendar/", 403),
        ("/alice/calendar/%252e%252e/%252e%252e/bob/calendar/", 403),
        ("/alice/calendar/..%5c..%5cbob%5ccalendar/", 404),
        ("/alice/calendar/%c0%ae%c0%ae/%c0%ae%c0%ae/bob/calendar/", 403),
        ("/alice/calendar/base.ics%00.txt", 400),
        ("/c:/windows/win.ini", 400),
    ],
    ids=[
        "dots",
        "dots-to-bob",
        "encoded",
        "double-encoded",
        "backslash",
        "overlong",
        "nul",
        "drive",
    ],
)
def test_c1_c2_traversal_stays_inside_the_users_tree(
    server: LiveServer, alice: Client, target: str, status: int
) -> None:
    with unchanged(alice):
        answer = raw_request(server, f"GET {target} HTTP/1.1", user="alice")
    assert answer[0] == status
    clean(answer[1])
    assert "root:" not in answer[1] and "BEGIN:VCALENDAR" not in answer[1]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", CALENDAR + ".obsidian.ics"),
        ("PUT", CALENDAR + "backup.ics~"),
        ("PUT", CALENDAR + "stream.ics:ads"),
        ("MKCALENDAR", "/alice/.obsidian/"),
        ("MKCALENDAR", "/alice/old~/"),
    ],
    ids=["leading-dot", "trailing-tilde", "colon", "dot-calendar", "tilde-calendar"],
)
def test_c3_unsafe_names_are_400(alice: Client, method: str, path: str) -> None:
    with unchanged(alice):
        answer = alice.send(method, path, event("c3"), **{"Content-Type": "text/calendar"})
    refused(answer, 400, "Bad Request: unsafe name")


def test_c3_case_variants_are_distinct_resources(alice: Client) -> None:
    """No file system underneath: BASE.ICS and base.ics never collide (201, two resources)."""
    assert alice.put(CALENDAR + "BASE.ICS", event("case-variant")).status == 201
    assert SECRET in alice.send("GET", CALENDAR + "base.ics").text
    assert "UID:case-variant" in alice.send("GET", CALENDAR + "BASE.ICS").text


# -- C5-C7: content types and preconditions ---------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [("application/json", "'application/json'"), ("text/plain", "'text/plain'"), ("", "'(none)'")],
)
def test_c5_put_of_other_media_types_is_415(alice: Client, content_type: str, shown: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    with unchanged(alice):
        answer = alice.send("PUT", CALENDAR + "c5.ics", event("c5").encode(), **headers)
    refused(answer, 415, f"Unsupported Content-Type {shown}: send text/calendar")


def test_c6_stale_if_match_is_412(alice: Client) -> None:
    changed = event("base").replace("SUMMARY:base", "SUMMARY:overwritten")
    with unchanged(alice):
        refused(
            alice.put(CALENDAR + "base.ics", changed, **{"If-Match": '"stale"'}),
            412,
            "Precondition failed",
        )
        refused(
            alice.send("DELETE", CALENDAR + "base.ics", **{"If-Match": '"stale"'}),
            412,
            "Precondition failed",
        )


def test_c7_if_none_match_star_on_existing_is_412(alice: Client) -> None:
    changed = event("base").replace("SUMMARY:base", "SUMMARY:overwritten")
    with unchanged(alice):
        answer = alice.put(CALENDAR + "base.ics", changed, **{"If-None-Match": "*"})
    refused(answer, 412, "Precondition failed")


# -- C10-C14: moves, methods, deletes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "destination", "status", "reason"),
    [
        ("MOVE", "{url}/bob/calendar/stolen.ics", 403, "Access to the requested resource"),
        ("MOVE", "{url}/alice/calendar/../../bob/calendar/x.ics", 403, "forbidden"),
        ("MOVE", "http://evil.example.com/alice/calendar/x.ics", 502, "Remote destination"),
        ("COPY", "{url}/bob/calendar/copied.ics", 405, "method COPY is not supported"),
    ],
    ids=["other-user", "dots", "other-host", "copy"],
)
def test_c10_moves_never_cross_users(
    alice: Client, bob: Client, method: str, destination: str, status: int, reason: str
) -> None:
    with unchanged(alice), unchanged(bob, "/bob/calendar/"):
        target = destination.format(url=alice.url)
        answer = alice.send(method, CALENDAR + "base.ics", Destination=target)
    refused(answer, status, reason)


def test_c11_trace_is_405_with_allow(alice: Client) -> None:
    answer = alice.send("TRACE", CALENDAR)
    refused(answer, 405, "Method Not Allowed: method TRACE is not supported")
    allowed = answer.response.headers["Allow"].split(", ")
    assert "PROPFIND" in allowed and "TRACE" not in allowed


def test_c11_method_override_headers_are_ignored(alice: Client) -> None:
    override = {"X-HTTP-Method-Override": "DELETE"}
    with unchanged(alice):
        assert alice.send("GET", CALENDAR + "base.ics", **override).status == 200
        answer = alice.send("POST", CALENDAR + "base.ics", **override)
    refused(answer, 405, "not allowed")


def test_c14_delete_of_the_principal_home_is_403(server: LiveServer) -> None:
    carol = Client(server, "carol")  # carol's home only: the test may destroy it
    assert carol.put("/carol/calendar/kept.ics", event("kept")).status == 201
    refused(carol.send("DELETE", "/carol/"), 403, "forbidden")
    assert carol.send("GET", "/carol/calendar/kept.ics").status == 200
    assert carol.send("DELETE", "/carol/calendar/").status in (200, 204)  # calendars can go
    assert carol.send("GET", "/carol/calendar/kept.ics").status == 404


# -- D1-D5: logins and other users' data ------------------------------------------------------


def anonymous(server: LiveServer, user: str | None, password: str = PASSWORD) -> httpx.Response:
    auth = None if user is None else (user, password)
    return httpx.request(
        "PROPFIND", server.url + CALENDAR, content=PROPFIND, auth=auth, headers={"Depth": "1"}
    )


def test_d1_no_credentials_is_401_with_a_challenge(server: LiveServer) -> None:
    answer = anonymous(server, None)
    assert (answer.status_code, answer.elapsed.total_seconds() < 2.0) == (401, True)
    assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "calendar" not in answer.text.lower() and SECRET not in answer.text


def test_d2_wrong_password_and_unknown_user_look_the_same(server: LiveServer) -> None:
    samples: dict[str, list[float]] = {"wrong-password": [], "unknown-user": []}
    answers: dict[str, httpx.Response] = {}
    for _ in range(5):
        for kind, user in (("wrong-password", "alice"), ("unknown-user", "mallory")):
            started = time.perf_counter()
            answers[kind] = anonymous(server, user, "not the password")
            samples[kind].append(time.perf_counter() - started)
    wrong, unknown = answers["wrong-password"], answers["unknown-user"]
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    assert wrong.text == unknown.text
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]
    medians = sorted(statistics.median(times) for times in samples.values())
    assert medians[1] < 2 * medians[0] + 0.05  # both verify one password hash


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", CALENDAR + "base.ics", None),
        ("GET", CALENDAR, None),
        ("PROPFIND", "/alice/", PROPFIND),
        (
            "REPORT",
            CALENDAR,
            XML + f"<C:calendar-multiget {NAMESPACES}><D:prop><C:calendar-data/>"
            f"</D:prop><D:href>{CALENDAR}base.ics</D:href></C:calendar-multiget>",
        ),
        ("PUT", CALENDAR + "intruder.ics", event("intruder")),
        ("DELETE", CALENDAR + "base.ics", None),
        ("PROPPATCH", CALENDAR, proppatch("<D:displayname>pwned</D:displayname>")),
    ],
    ids=["get-item", "get-calendar", "propfind-home", "report", "put", "delete", "proppatch"],
)
def test_d4_another_users_calendar_is_403(
    alice: Client, bob: Client, method: str, path: str, body: str | None
) -> None:
    headers = {"Content-Type": "text/calendar"} if method == "PUT" else {"Depth": "1"}
    with unchanged(alice):
        answer = bob.send(method, path, body, **headers)
    refused(answer, 403, "Access to the requested resource forbidden")
    assert SECRET not in answer.text


def test_d4_multiget_of_another_users_href_is_404_inside(alice: Client, bob: Client) -> None:
    body = (
        XML + f"<C:calendar-multiget {NAMESPACES}><D:prop><C:calendar-data/></D:prop>"
        f"<D:href>{CALENDAR}base.ics</D:href></C:calendar-multiget>"
    )
    answer = bob.send("REPORT", "/bob/calendar/", body, Depth="1")
    assert (answer.status, "404 Not Found" in answer.text) == (207, True)
    assert SECRET not in answer.text


@pytest.mark.parametrize(
    "user",
    ["../bob", "alice/../bob", "al\\ice", "alice\x00", "alice:x", "a@b@c", "alice ", "/alice"],
)
def test_d5_odd_user_names_cannot_log_in(server: LiveServer, user: str) -> None:
    answer = anonymous(server, user)
    assert (answer.status_code, answer.elapsed.total_seconds() < 2.0) == (401, True)
    assert SECRET not in answer.text


@pytest.mark.parametrize("user", ["../bob", "a/b", "a\\\\b", "a:b", "a@b@c", "alice "])
def test_d5_odd_user_names_are_refused_at_provisioning(
    tmp_path: Path, password_hash: str, user: str
) -> None:
    config = tmp_path / "kalends.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "k.db"}"\n\n[users."{user}"]\n'
        f'password_hash = "{password_hash}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert "users" in str(raised.value)
