"""The unified calendar and the sources' calendars through the live server (both databases).

Alice has a plain calendar and two sources, "work" (priority 10) and "home" (priority 5, her
default target); nothing syncs the sources here: they are calendars like any other, whose writes
queue outbox rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import caldav
import httpx
import pytest
from sqlalchemy import create_engine, select

from kalends.storage.models import collections, outbox
from tests.harness import PASSWORD, LiveServer, _toml, live_server
from tests.storage.test_caldav_client import WEEKLY_WITH_EXCEPTIONS, event, query_hrefs

ORGANIZER = "ORGANIZER:mailto:boss@example.com\r\n"
SOURCES = {"work": 10, "home": 5}


def write_config(
    directory: Path, database_url: str, password_hash: str, default_target: str | None
) -> Path:
    lines = [
        "[server]",
        'host = "127.0.0.1"',
        "port = 0",
        f"data_dir = {_toml(str(directory / 'data'))}",
        "",
        "[storage]",
        f"url = {_toml(database_url)}",
        "",
        "[auth]",
        "failure_delay = 0.0",
    ]
    for user in ("alice", "bob"):
        lines += ["", f"[users.{user}]", f"password_hash = {_toml(password_hash)}"]
        lines += ['calendars = ["calendar"]']
        if user == "alice" and default_target:
            lines += [f"default_target = {_toml(default_target)}"]
    for name, priority in SOURCES.items():
        lines += ["", f"[sources.{name}]", 'type = "obsidian"', 'user = "alice"']
        lines += [f"priority = {priority}", f"path = {_toml('vault-' + name)}"]
    path = directory / "kalends.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def server(tmp_path: Path, database_url: str, password_hash: str) -> Iterator[LiveServer]:
    with live_server(write_config(tmp_path, database_url, password_hash, "home")) as running:
        yield running


@pytest.fixture
def client(server: LiveServer) -> caldav.DAVClient:
    return caldav.DAVClient(
        url=server.url + "/", username="alice", password=PASSWORD, require_tls=False
    )


def dav(
    server: LiveServer,
    method: str,
    path: str,
    body: str = "",
    headers: Mapping[str, str] | None = None,
    user: str = "alice",
) -> httpx.Response:
    return httpx.request(
        method, server.url + path, content=body, headers=headers, auth=(user, PASSWORD)
    )


def put(server: LiveServer, path: str, text: str, **headers: str) -> httpx.Response:
    response = dav(server, "PUT", path, text, {"Content-Type": "text/calendar", **headers})
    assert response.status_code in (201, 204), (path, response.status_code, response.text)
    return response


def responses(text: str) -> dict[str, str]:
    """name -> the rest of its <response> element, from a multistatus answer."""
    found = {}
    for part in text.split("<response>")[1:]:
        href = re.search(r"<href>([^<]*)</href>", part)
        assert href is not None
        found[href.group(1).rstrip("/").rsplit("/", 1)[-1]] = part
    return found


def listing(server: LiveServer, path: str) -> dict[str, str]:
    """name -> etag of every item (PROPFIND Depth 1, the indexed listing)."""
    body = '<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>'
    response = dav(server, "PROPFIND", path, body, {"Depth": "1"})
    assert response.status_code == 207
    items = {}
    own_name = path.rstrip("/").rsplit("/", 1)[-1]
    for name, part in responses(response.text).items():
        etag = re.search(r"<getetag>([^<]*)</getetag>", part)
        if etag is not None and name != own_name:
            items[name] = etag.group(1).replace("&quot;", '"')
    return items


def sync(server: LiveServer, path: str, token: str) -> tuple[str, dict[str, str]]:
    """sync-collection: the new token and name -> "200" or "404"."""
    body = (
        f'<sync-collection xmlns="DAV:"><sync-token>{token}</sync-token>'
        "<sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"
    )
    response = dav(server, "REPORT", path, body)
    assert response.status_code == 207, response.text
    new_token = re.search(r"<sync-token>([^<]*)</sync-token>", response.text)
    assert new_token is not None
    statuses = {
        name: "404" if "404 Not Found" in part else "200"
        for name, part in responses(response.text).items()
    }
    return new_token.group(1), statuses


def ctag(server: LiveServer, path: str) -> str:
    body = '<propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:getctag/>'
    response = dav(server, "PROPFIND", path, body + "</prop></propfind>", {"Depth": "0"})
    found = re.search(r"getctag[^>]*>([^<]+)<", response.text)
    assert found is not None, response.text
    return found.group(1)


def outbox_rows(database_url: str) -> list[tuple[str, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(collections.c.path, outbox.c.href)
                .join(collections, collections.c.id == outbox.c.collection_id)
                .order_by(outbox.c.id)
            ).all()
    finally:
        engine.dispose()
    return [(row.path, row.href) for row in rows]


def put_duplicates(server: LiveServer) -> None:
    """ "dup" in both sources (same UID); a lunch in both under different UIDs (same
    organizer, start and summary); one plain event in each calendar."""
    put(
        server,
        "/alice/work/dup.ics",
        event("dup", "20240105T100000Z", "20240105T110000Z", "", "work copy"),
    )
    put(
        server,
        "/alice/home/dup-at-home.ics",
        event("dup", "20240105T100000Z", "20240105T110000Z", "", "home copy"),
    )
    put(
        server,
        "/alice/home/lunch-home.ics",
        event("lunch-h", "20240105T120000Z", "20240105T130000Z", ORGANIZER, "Lunch"),
    )
    put(
        server,
        "/alice/work/lunch-work.ics",
        event("lunch-w", "20240105T120000Z", "20240105T130000Z", ORGANIZER, " Lunch "),
    )
    put(server, "/alice/work/w1.ics", event("w1", "20240106T100000Z", "20240106T110000Z"))
    put(server, "/alice/home/h1.ics", event("h1", "20240107T100000Z", "20240107T110000Z"))
    put(server, "/alice/calendar/c1.ics", event("c1", "20240108T100000Z", "20240108T110000Z"))


def test_discovery_lists_the_unified_and_the_source_calendars(client: caldav.DAVClient) -> None:
    found = {
        str(calendar.url).rstrip("/").rsplit("/", 1)[-1]: calendar.get_display_name()
        for calendar in client.principal().calendars()
    }
    assert found == {"calendar": "calendar", "work": "work", "home": "home", "all": "All calendars"}


def test_the_unified_calendar_shows_the_union_once(
    server: LiveServer, client: caldav.DAVClient
) -> None:
    put_duplicates(server)
    unified = listing(server, "/alice/all/")
    assert set(unified) == {"dup.ics", "lunch-work.ics", "w1.ics", "h1.ics", "c1.ics"}
    assert unified["dup.ics"] == listing(server, "/alice/work/")["dup.ics"]  # work's copy
    calendar = client.calendar(url=server.url + "/alice/all/")
    uids = sorted(str(e.icalendar_component["UID"]) for e in calendar.events())
    assert uids == ["c1", "dup", "h1", "lunch-w", "w1"]
    assert "SUMMARY:work copy" in calendar.event_by_uid("dup").data
    hrefs = "".join(f"<D:href>/alice/all/{n}</D:href>" for n in ("h1.ics", "dup-at-home.ics"))
    body = (
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"
    )
    parts = responses(dav(server, "REPORT", "/alice/all/", body).text)
    assert "UID:h1" in parts["h1.ics"]
    assert "404" in parts["dup-at-home.ics"]  # collapsed into work's copy: not an item here


def test_shared_names_get_an_alias_that_reads_and_writes(server: LiveServer) -> None:
    put(server, "/alice/work/same.ics", event("s-work", "20240105T100000Z", "20240105T110000Z"))
    put(server, "/alice/home/same.ics", event("s-home", "20240106T100000Z", "20240106T110000Z"))
    assert set(listing(server, "/alice/all/")) == {"same.ics", "same~home.ics"}
    assert "UID:s-home" in dav(server, "GET", "/alice/all/same~home.ics").text
    edited = event("s-home", "20240106T100000Z", "20240106T110000Z", "", "edited")
    put(server, "/alice/all/same~home.ics", edited)
    assert "SUMMARY:edited" in dav(server, "GET", "/alice/home/same.ics").text
    assert "UID:s-work" in dav(server, "GET", "/alice/work/same.ics").text
    assert dav(server, "DELETE", "/alice/all/same~home.ics").status_code == 200
    assert dav(server, "GET", "/alice/home/same.ics").status_code == 404
    assert set(listing(server, "/alice/all/")) == {"same.ics"}


def test_writes_through_the_unified_calendar_reach_the_origin(
    server: LiveServer, client: caldav.DAVClient, database_url: str
) -> None:
    put_duplicates(server)
    before = len(outbox_rows(database_url))
    put(
        server,
        "/alice/all/new.ics",
        event("new", "20240109T100000Z", "20240109T110000Z"),
        **{"If-None-Match": "*"},
    )
    assert dav(server, "GET", "/alice/home/new.ics").status_code == 200  # the default target
    assert dav(server, "GET", "/alice/work/new.ics").status_code == 404
    calendar = client.calendar(url=server.url + "/alice/all/")
    copy = calendar.event_by_uid("dup")
    copy.icalendar_component["SUMMARY"] = "edited"
    copy.save()
    assert "SUMMARY:edited" in dav(server, "GET", "/alice/work/dup.ics").text  # the origin
    assert "SUMMARY:home copy" in dav(server, "GET", "/alice/home/dup-at-home.ics").text
    stale = event("dup", "20240105T100000Z", "20240105T110000Z", "", "stale")
    headers = {"If-Match": '"stale"', "Content-Type": "text/calendar"}
    response = dav(server, "PUT", "/alice/all/dup.ics", stale, headers)
    assert response.status_code == 412
    taken = event("dup", "20240105T100000Z", "20240105T110000Z")
    conflict = dav(server, "PUT", "/alice/all/other.ics", taken, {"Content-Type": "text/calendar"})
    assert conflict.status_code == 409 and "no-uid-conflict" in conflict.text
    assert dav(server, "DELETE", "/alice/all/dup.ics").status_code == 200
    assert dav(server, "DELETE", "/alice/all/lunch-work.ics").status_code == 200
    for gone in (
        "work/dup.ics",
        "home/dup-at-home.ics",
        "work/lunch-work.ics",
        "home/lunch-home.ics",
    ):
        assert dav(server, "GET", f"/alice/{gone}").status_code == 404, gone
    assert set(listing(server, "/alice/all/")) == {"w1.ics", "h1.ics", "c1.ics", "new.ics"}
    assert set(outbox_rows(database_url)[before:]) == {
        ("alice/home", "new.ics"),
        ("alice/work", "dup.ics"),
        ("alice/home", "dup-at-home.ics"),
        ("alice/work", "lunch-work.ics"),
        ("alice/home", "lunch-home.ics"),
    }


def test_without_a_default_target_new_events_go_to_the_first_source(
    tmp_path: Path, database_url: str, password_hash: str
) -> None:
    with live_server(write_config(tmp_path, database_url, password_hash, None)) as server:
        put(server, "/alice/all/new.ics", event("new", "20240109T100000Z", "20240109T110000Z"))
        assert dav(server, "GET", "/alice/work/new.ics").status_code == 200  # priority 10


def test_sync_collection_on_the_unified_calendar(server: LiveServer) -> None:
    put(server, "/alice/work/a.ics", event("a", "20240105T100000Z", "20240105T110000Z"))
    put(server, "/alice/home/b.ics", event("b", "20240106T100000Z", "20240106T110000Z"))
    put(server, "/alice/work/dup.ics", event("dup", "20240107T100000Z", "20240107T110000Z"))
    put(server, "/alice/home/dup-home.ics", event("dup", "20240107T100000Z", "20240107T110000Z"))
    token, initial = sync(server, "/alice/all/", "")
    assert initial == {"a.ics": "200", "b.ics": "200", "dup.ics": "200"}
    assert sync(server, "/alice/all/", token)[1] == {}
    first_ctag = ctag(server, "/alice/all/")
    put(server, "/alice/work/c.ics", event("c", "20240108T100000Z", "20240108T110000Z"))
    put(server, "/alice/all/b.ics", event("b", "20240106T100000Z", "20240106T110000Z", "", "new"))
    assert dav(server, "DELETE", "/alice/work/a.ics").status_code == 200
    token, delta = sync(server, "/alice/all/", token)
    assert delta == {"c.ics": "200", "b.ics": "200", "a.ics": "404"}
    assert ctag(server, "/alice/all/") != first_ctag
    # the winner of a duplicate goes: the other copy appears under its own name
    assert dav(server, "DELETE", "/alice/work/dup.ics").status_code == 200
    token, delta = sync(server, "/alice/all/", token)
    assert delta == {"dup.ics": "404", "dup-home.ics": "200"}
    assert dav(server, "DELETE", "/alice/all/dup-home.ics").status_code == 200
    token, delta = sync(server, "/alice/all/", token)
    assert delta == {"dup-home.ics": "404"}
    work_token = sync(server, "/alice/work/", "")[0]
    for bad in ("urn:kalends:sync:nope:1", work_token):
        body = (
            f'<sync-collection xmlns="DAV:"><sync-token>{bad}</sync-token>'
            "<sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"
        )
        response = dav(server, "REPORT", "/alice/all/", body)
        assert response.status_code == 403 and "valid-sync-token" in response.text


def test_sync_with_the_caldav_client(server: LiveServer, client: caldav.DAVClient) -> None:
    put(server, "/alice/work/a.ics", event("a", "20240105T100000Z", "20240105T110000Z"))
    calendar = client.calendar(url=server.url + "/alice/all/")
    initial = calendar.objects_by_sync_token(load_objects=True)
    assert [str(o.icalendar_component["UID"]) for o in initial] == ["a"]
    put(server, "/alice/home/b.ics", event("b", "20240106T100000Z", "20240106T110000Z"))
    delta = calendar.objects_by_sync_token(sync_token=initial.sync_token, load_objects=True)
    assert [str(o.icalendar_component["UID"]) for o in delta] == ["b"]


def test_queries_free_busy_and_export_equal_the_union_of_the_members(
    server: LiveServer, client: caldav.DAVClient
) -> None:
    put(server, "/alice/work/weekly.ics", WEEKLY_WITH_EXCEPTIONS)
    daily = (  # another title: same start and title, no organizer, would be a duplicate
        WEEKLY_WITH_EXCEPTIONS.replace("UID:weekly", "UID:daily")
        .replace("FREQ=WEEKLY;COUNT=20", "FREQ=DAILY;COUNT=30")
        .replace("SUMMARY:standup\r\n", "SUMMARY:daily\r\n")
    )
    put(server, "/alice/calendar/daily.ics", daily)
    put(server, "/alice/home/single.ics", event("single", "20240110T120000Z", "20240110T130000Z"))
    put(
        server,
        "/alice/home/tentative.ics",
        event("tentative", "20240116T120000Z", "20240116T130000Z", "STATUS:TENTATIVE\r\n"),
    )
    windows = [
        ("20240101T000000Z", "20240108T000000Z"),
        ("20240108T000000Z", "20240109T000000Z"),
        ("20240115T000000Z", "20240116T000000Z"),
        ("20240117T000000Z", "20240118T000000Z"),
        ("20240122T000000Z", "20240122T080001Z"),
        ("20240601T000000Z", "20240701T000000Z"),
    ]
    for start, end in windows:
        union = set().union(
            *(query_hrefs(server, f"/alice/{m}/", start, end) for m in ("work", "home", "calendar"))
        )
        assert query_hrefs(server, "/alice/all/", start, end) == union, (start, end)

    def busy(path: str) -> set[str]:
        body = (
            '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
            '<C:time-range start="20240105T000000Z" end="20240120T000000Z"/></C:free-busy-query>'
        )
        text = dav(server, "REPORT", path, body, {"Depth": "1"}).text
        return {line for line in text.splitlines() if line.startswith("FREEBUSY")}

    members = set().union(*(busy(f"/alice/{m}/") for m in ("work", "home", "calendar")))
    assert busy("/alice/all/") == members and len(members) > 10
    export = dav(server, "GET", "/alice/all/")
    assert export.headers["content-type"].startswith("text/calendar")
    assert export.text.count("BEGIN:VTIMEZONE") == 1  # one Europe/Berlin for both series
    assert export.text.count("BEGIN:VEVENT") == 6  # two series with an override, two singles
    assert export.text.index("BEGIN:VTIMEZONE") < export.text.index("BEGIN:VEVENT")


def test_refused_operations_say_why_and_change_nothing(server: LiveServer) -> None:
    put(server, "/alice/work/keep.ics", event("keep", "20240105T100000Z", "20240105T110000Z"))
    put(server, "/alice/calendar/mine.ics", event("mine", "20240106T100000Z", "20240106T110000Z"))
    before = (listing(server, "/alice/all/"), ctag(server, "/alice/all/"))
    target = {"Destination": server.url + "/alice/calendar/keep.ics"}
    into = {"Destination": server.url + "/alice/all/mine.ics"}
    patch = (
        '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname>'
        "</D:prop></D:set></D:propertyupdate>"
    )
    whole = {"Content-Type": "text/calendar"}
    refusals = [
        ("DELETE", "/alice/all/", "", {}, "unified calendar"),
        ("DELETE", "/alice/work/", "", {}, "source"),
        ("MOVE", "/alice/all/keep.ics", "", target, "moved out"),
        ("MOVE", "/alice/calendar/mine.ics", "", into, "moved into"),
        ("MKCOL", "/alice/all/sub/", "", {}, "created"),
        ("MKCALENDAR", "/alice/all/", "", {}, "created"),
        ("PROPPATCH", "/alice/all/", patch, {}, "configuration"),
        ("PUT", "/alice/all/", WEEKLY_WITH_EXCEPTIONS, whole, "virtual"),
    ]
    for method, path, body, headers, reason in refusals:
        response = dav(server, method, path, body, headers)
        assert response.status_code in (403, 409), (method, path, response.status_code)
        assert reason in response.text, (method, path, response.text)
    assert (listing(server, "/alice/all/"), ctag(server, "/alice/all/")) == before
    assert dav(server, "GET", "/alice/work/keep.ics").status_code == 200
    assert dav(server, "GET", "/alice/calendar/mine.ics").status_code == 200
    assert "All calendars" in dav(server, "PROPFIND", "/alice/all/", "", {"Depth": "0"}).text
    stranger = dav(server, "DELETE", "/alice/all/", user="bob")
    assert stranger.status_code in (403, 404) and "unified" not in stranger.text
    assert dav(server, "MKCALENDAR", "/alice/scratch/").status_code == 201
    assert dav(server, "DELETE", "/alice/scratch/").status_code == 200  # plain: deletable


def test_provisioning_follows_the_config(
    tmp_path: Path, database_url: str, password_hash: str
) -> None:
    config = write_config(tmp_path, database_url, password_hash, "home")
    with live_server(config) as server:
        put(server, "/alice/work/w.ics", event("w", "20240105T100000Z", "20240105T110000Z"))
        token = sync(server, "/alice/all/", "")[0]
    # "work" leaves the file, "home" gets another priority
    text = config.read_text(encoding="utf-8")
    text = text.replace('[sources.work]\ntype = "obsidian"\nuser = "alice"\npriority = 10\n', "")
    text = text.replace('path = "vault-work"\n', "").replace("priority = 5", "priority = 7")
    config.write_text(text, encoding="utf-8")
    with live_server(config) as server:
        engine = create_engine(database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                select(collections.c.path, collections.c.kind, collections.c.priority).where(
                    collections.c.path.in_(["alice/work", "alice/home"])
                )
            ).all()
        engine.dispose()
        assert sorted(map(tuple, rows)) == [
            ("alice/home", "source", 7),
            ("alice/work", "calendar", 0),
        ]
        assert "UID:w" in dav(server, "GET", "/alice/all/w.ics").text  # its events stay
        assert dav(server, "DELETE", "/alice/work/").status_code == 200  # now a plain calendar
        body = (
            f'<sync-collection xmlns="DAV:"><sync-token>{token}</sync-token>'
            "<sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"
        )
        assert dav(server, "REPORT", "/alice/all/", body).status_code == 403  # resync
