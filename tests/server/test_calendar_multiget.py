"""calendar-multiget REPORT answered as text (``kalends.server.multiget``), on both databases.

Radicale keeps a multiget's hrefs in a set, so the order of its responses is the set's order in
the process; every answer of the fast path is compared with Radicale's own (the fast path
switched off) as the same opening and closing bytes around the same multiset of responses, in
the same groups (the 404s first). Kalends' own order is the request's.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from radicale.app import report as radicale_report

from kalends.server.radicale_app import KalendsApplication
from tests.harness import PASSWORD
from tests.server.test_calendar_query import TODO, Spy, application_with
from tests.server.test_propfind_listing import call
from tests.storage.test_caldav_client import WEEKLY_WITH_EXCEPTIONS, event

CALDAV = "urn:ietf:params:xml:ns:caldav"
BOB = "Basic " + base64.b64encode(f"bob:{PASSWORD}".encode()).decode()
ITEMS = {
    "/alice/calendar/single.ics": event(
        "single", "20240105T100000Z", "20240105T110000Z", summary="a & b <c>"
    ),
    "/alice/calendar/weekly.ics": WEEKLY_WITH_EXCEPTIONS,  # two VEVENTs
    "/alice/calendar/todo.ics": TODO,
    "/alice/calendar/a@b.example.ics": event("a@b.example", "20240106T100000Z", "20240106T110000Z"),
    "/alice/calendar/b c.ics": event("b c", "20240107T100000Z", "20240107T110000Z"),
    "/alice/calendar/ü&.ics": event("umlaut", "20240108T100000Z", "20240108T110000Z"),
    "/alice/work/dup.ics": event("dup", "20240103T100000Z", "20240103T110000Z"),
    "/alice/work/same.ics": event("s-work", "20240104T100000Z", "20240104T110000Z"),
    "/alice/home/dup-home.ics": event("dup", "20240103T100000Z", "20240103T110000Z"),
    "/alice/home/same.ics": event("s-home", "20240104T120000Z", "20240104T130000Z"),
}
Answer = tuple[str, bytes]  # status line, body
BOBS = {"/bob/calendar/bob.ics": event("bob", "20240105T100000Z", "20240105T110000Z")}


@pytest.fixture
def app(tmp_path: Path, database_url: str, password_hash: str) -> Iterator[KalendsApplication]:
    puts = [(path, text, {}) for path, text in ITEMS.items()]
    puts += [(path, text, {"authorization": BOB}) for path, text in BOBS.items()]
    with application_with(tmp_path, database_url, password_hash, *puts) as application:
        yield application


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> tuple[Spy, list[int]]:
    """Kalends' multistatus writer, and Radicale's own REPORT answer (``xml_report``)."""
    radicale: list[int] = []
    original = radicale_report.xml_report

    def xml_report(*args: Any, **kwargs: Any) -> Any:
        radicale.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(radicale_report, "xml_report", xml_report)
    return Spy(monkeypatch, "multistatus"), radicale


def multiget(props: str, hrefs: list[str], extra: str = "") -> bytes:
    listed = "".join(f"<D:href>{href}</D:href>" for href in hrefs)
    return (
        f'<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="{CALDAV}">'
        f"<D:prop>{props}</D:prop>{extra}{listed}</C:calendar-multiget>"
    ).encode()


_RESPONSE = re.compile(rb"<response>.*?</response>", re.DOTALL)


def parts(answer: bytes) -> tuple[bytes, list[bytes], bytes]:
    """The bytes before the first response, the responses, and the bytes after the last."""
    found = list(_RESPONSE.finditer(answer))
    if not found:
        return answer, [], b""
    return answer[: found[0].start()], [m.group() for m in found], answer[found[-1].end() :]


def hrefs_of(answer: bytes) -> list[str]:
    return [m.decode() for m in re.findall(rb"<href>([^<]*)</href>", answer)]


def is_404(response: bytes) -> bool:
    return b"<propstat>" not in response


def assert_radicale_s(answer: Answer, radicale: Answer) -> None:
    """The same status, opening and closing, the same responses, 404s first in both."""
    assert answer[0] == radicale[0]
    ours, theirs = parts(answer[1]), parts(radicale[1])
    assert (ours[0], ours[2]) == (theirs[0], theirs[2])
    assert Counter(ours[1]) == Counter(theirs[1])
    for responses in (ours[1], theirs[1]):
        flags = [is_404(response) for response in responses]
        assert flags == sorted(flags, reverse=True)  # every 404 before every item


def radicale_s(app: KalendsApplication, path: str, body: bytes, **headers: str) -> Answer:
    """The answer with Kalends' REPORT paths switched off: Radicale's own."""
    app._owner_rights_only = lambda: False  # type: ignore[method-assign]
    try:
        return call(app, "REPORT", path, body, **headers)
    finally:
        del app._owner_rights_only


def fast(app: KalendsApplication, spy: Spy, path: str, body: bytes, **headers: str) -> Answer:
    """The answer, which Kalends' path must have written; checked against Radicale's."""
    answer = call(app, "REPORT", path, body, **headers)
    assert spy.calls == 1, answer
    spy.calls = 0
    assert answer[0].startswith("207")
    assert_radicale_s(answer, radicale_s(app, path, body, **headers))
    return answer


PROPS = [
    "<D:getetag/>",
    "<C:calendar-data/>",
    "<D:getcontenttype/>",
    "<D:getetag/><C:calendar-data/>",
    "<C:calendar-data/><D:getcontenttype/><D:getetag/>",
    "<D:getcontenttype/><D:getetag/>",
    "<C:calendar-data/><D:getetag/><C:calendar-data/>",  # twice, as Radicale serves it
    # properties Radicale answers 404 for in a REPORT
    "<C:calendar-data/><D:getetag/><C:schedule-tag/>",
    "<X:a xmlns:X='urn:x'/><D:getlastmodified/><D:getetag/><Y:b xmlns:Y='urn:y'/>",
]
CAL = "/alice/calendar/"
HREF_SETS = {
    "present": [CAL + "single.ics", CAL + "weekly.ics", CAL + "todo.ics"],
    "missing": [CAL + "gone.ics", CAL + "single.ics", CAL + "also-gone.ics"],
    "elsewhere": [
        "/alice/work/dup.ics",  # another calendar's item: 404 here
        "/bob/calendar/bob.ics",  # another user's
        "/alice/",
        CAL + "single.ics/",  # not a name: a path below one
        CAL + "sub/x.ics",
        CAL + "weekly.ics",
    ],
    "encoded": [
        CAL + "a%40b.example.ics",
        CAL + "%C3%BC%26.ics",
        CAL + "b%20c.ics",
        CAL + "%C3%BC%26-gone.ics",
        CAL + "a@b-gone.ics",
        "http://example.com:5232" + CAL + "single.ics?x=1#y",
        "/alice/work/%C3%BC.ics",
    ],
    "duplicates": [
        CAL + "single.ics",
        CAL + "single.ics",
        CAL + "./single.ics",
        "/alice//calendar/%73ingle.ics",
        CAL + "../calendar/weekly.ics",
        CAL + "gone.ics",
        CAL + "gone.ics",
        CAL + "a@b.example.ics",
        CAL + "a%40b.example.ics",
        "/alice/work/dup.ics",
        "/alice/work/./dup.ics",
    ],
}


@pytest.mark.parametrize("props", PROPS)
def test_answers_are_radicale_s(
    app: KalendsApplication, props: str, spies: tuple[Spy, list[int]]
) -> None:
    spy, radicale = spies
    for name, hrefs in HREF_SETS.items():
        answer = fast(app, spy, CAL, multiget(props, hrefs))
        assert b"<propstat>" in answer[1], name
    assert radicale  # the comparisons did reach Radicale


@pytest.mark.parametrize("props", PROPS[:5])
def test_the_unified_calendar_is_radicale_s(
    app: KalendsApplication, props: str, spies: tuple[Spy, list[int]]
) -> None:
    spy, _radicale = spies
    hrefs = [
        "/alice/all/same.ics",
        "/alice/all/same~home.ics",  # home's, under its alias
        "/alice/all/dup.ics",
        "/alice/all/dup-home.ics",  # collapsed into work's copy: not an item here
        "/alice/all/single.ics",
        "/alice/all/a%40b.example.ics",
        "/alice/all/%C3%BC%26.ics",
        "/alice/home/same.ics",
    ]
    answer = fast(app, spy, "/alice/all/", multiget(props, hrefs))
    assert hrefs_of(answer[1]) == [
        "/alice/home/same.ics",
        "/alice/all/dup-home.ics",
        "/alice/all/same.ics",
        "/alice/all/same~home.ics",
        "/alice/all/dup.ics",
        "/alice/all/single.ics",
        "/alice/all/a%40b.example.ics",
        "/alice/all/%C3%BC%26.ics",
    ]
    if "calendar-data" in props:
        assert b"UID:s-home" in answer[1] and b"UID:s-work" in answer[1]


def test_kalends_answers_in_request_order(
    app: KalendsApplication, spies: tuple[Spy, list[int]]
) -> None:
    """Invalid hrefs' 404s, then missing names', then the items, each in request order, once."""
    spy, _radicale = spies
    hrefs = [
        CAL + "gone.ics",
        CAL + "weekly.ics",
        "/alice/work/dup.ics",
        CAL + "b%20c.ics",
        CAL + "single.ics",
        CAL + "also-gone.ics",
        CAL + "./weekly.ics",
        "/alice/home/same.ics",
        "/alice/work/dup.ics",
        CAL + "gone.ics",
    ]
    answer = fast(app, spy, CAL, multiget("<D:getetag/>", hrefs))
    assert hrefs_of(answer[1]) == [
        "/alice/work/dup.ics",
        "/alice/home/same.ics",
        CAL + "gone.ics",
        CAL + "also-gone.ics",
        CAL + "weekly.ics",
        CAL + "b%20c.ics",
        CAL + "single.ics",
    ]


def test_calendar_data_is_the_stored_text_escaped(
    app: KalendsApplication, spies: tuple[Spy, list[int]]
) -> None:
    spy, _radicale = spies
    body = multiget("<C:calendar-data/>", [CAL + "single.ics"])
    answer = fast(app, spy, CAL, body)
    assert b"SUMMARY:a &amp; b &lt;c&gt;" in answer[1]
    assert f"<C:calendar-data>{escape(ITEMS[CAL + 'single.ics'])}<".encode() in answer[1]


def test_hrefs_under_a_base_prefix_are_radicale_s(
    app: KalendsApplication, spies: tuple[Spy, list[int]]
) -> None:
    """Behind a proxy at /dav: hrefs outside it get no response at all, as in Radicale."""
    spy, _radicale = spies
    hrefs = [
        "/dav" + CAL + "single.ics",
        CAL + "weekly.ics",  # outside the base prefix: skipped
        "/davx" + CAL + "weekly.ics",
        "/dav" + CAL + "gone.ics",
        "/dav/alice/work/dup.ics",
        "/dav/",
        "http://proxy.example/dav" + CAL + "a%40b.example.ics",
    ]
    body = multiget("<D:getetag/><C:calendar-data/>", hrefs)
    answer = fast(app, spy, CAL, body, x_script_name="/dav")
    assert hrefs_of(answer[1]) == [
        "/dav/alice/work/dup.ics",
        "/dav/",
        "/dav" + CAL + "gone.ics",
        "/dav" + CAL + "single.ics",
        "/dav" + CAL + "a%40b.example.ics",
    ]


def _left(app: KalendsApplication, spies: tuple[Spy, list[int]], path: str, body: bytes) -> str:
    """Radicale's answer, which Kalends' path must have left to it; the status."""
    spy, radicale = spies
    answer = call(app, "REPORT", path, body)
    assert spy.calls == 0
    assert radicale or not answer[0].startswith("207")
    radicale.clear()
    assert_radicale_s(answer, radicale_s(app, path, body))
    return answer[0]


EXPAND = '<C:calendar-data><C:expand start="20240101T000000Z" end="20240201T000000Z"/>'
LEFT_TO_RADICALE = {
    "the calendar itself": ("<D:getetag/>", [CAL + "single.ics", CAL], ""),
    "the calendar without a slash": ("<D:getetag/>", [CAL.rstrip("/")], ""),
    "nothing found": ("<D:getetag/>", [CAL + "gone.ics", "/alice/work/dup.ics"], ""),
    "no href": ("<D:getetag/>", [], ""),
    "expansion": (EXPAND + "</C:calendar-data>", [CAL + "weekly.ics"], ""),
    "partial retrieval": (
        '<C:calendar-data><C:comp name="VCALENDAR"/></C:calendar-data>',
        [CAL + "single.ics"],
        "",
    ),
    "address data": (
        "<D:getetag/><CR:address-data xmlns:CR='urn:ietf:params:xml:ns:carddav'/>",
        [CAL + "single.ics"],
        "",
    ),
    "no property found": ("<D:getlastmodified/>", [CAL + "single.ics"], ""),
    "a filter": (
        "<D:getetag/>",
        [CAL + "single.ics", CAL + "todo.ics"],
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/>'
        "</C:comp-filter></C:filter>",
    ),
    "a second prop": ("<D:getetag/>", [CAL + "single.ics"], "<D:prop><C:calendar-data/></D:prop>"),
    "an empty href": ("<D:getetag/>", [CAL + "single.ics", ""], ""),
    "a malformed URL": ("<D:getetag/>", [CAL + "single.ics", "http://[::1/x.ics"], ""),
}


@pytest.mark.parametrize("case", LEFT_TO_RADICALE)
def test_other_multigets_are_left_to_radicale(
    app: KalendsApplication, case: str, spies: tuple[Spy, list[int]]
) -> None:
    props, hrefs, extra = LEFT_TO_RADICALE[case]
    for path in (CAL, "/alice/all/"):
        mapped = [href.replace(CAL, path) for href in hrefs]
        _left(app, spies, path, multiget(props, mapped, extra))


def test_the_base_prefix_itself_is_left_to_radicale(
    app: KalendsApplication, spies: tuple[Spy, list[int]]
) -> None:
    spy, _radicale = spies
    body = multiget("<D:getetag/>", ["/dav" + CAL + "single.ics", "/dav"])
    answer = call(app, "REPORT", CAL, body, x_script_name="/dav")
    assert spy.calls == 0
    assert answer[0].startswith("500")  # Radicale's assertion on the empty path


def test_the_occurrence_limit_is_radicale_s(
    app: KalendsApplication, spies: tuple[Spy, list[int]]
) -> None:
    """max_expand_occurrence counts the VEVENTs of the calendar-data served: 3 here."""
    spy, _radicale = spies
    hrefs = [CAL + "weekly.ics", CAL + "single.ics", CAL + "gone.ics"]
    app.configuration.update({"reporting": {"max_expand_occurrence": "2"}}, "test")
    too_many = multiget("<C:calendar-data/><D:getetag/>", hrefs)
    assert _left(app, spies, CAL, too_many).startswith("400")
    fast(app, spy, CAL, multiget("<D:getetag/>", hrefs))  # etags: uncounted
    app.configuration.update({"reporting": {"max_expand_occurrence": "3"}}, "test")
    fast(app, spy, CAL, too_many)
    twice = multiget("<C:calendar-data/><C:calendar-data/>", hrefs)
    assert _left(app, spies, CAL, twice).startswith("400")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/bob/calendar/", "403"),  # another user's calendar
        ("/alice/nope/", "404"),  # no such collection
        ("/alice/", "403"),  # not a calendar: supported-report
        (CAL + "single.ics", "207"),  # an item: Radicale answers with its calendar
    ],
)
def test_other_targets_are_left_to_radicale(
    app: KalendsApplication, path: str, status: str, spies: tuple[Spy, list[int]]
) -> None:
    hrefs = ["/bob/calendar/bob.ics", CAL + "single.ics", "/alice/nope/x.ics"]
    body = multiget("<D:getetag/><C:calendar-data/>", hrefs)
    assert _left(app, spies, path, body).startswith(status)
    assert b"UID:bob" not in call(app, "REPORT", path, body)[1]
