"""Concurrent writers: exactly one wins each precondition race, nothing is torn or lost.

Runs with request threads against one server (both databases), and with two server processes
sharing one PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.harness import PASSWORD, ServerProcess, live_server, write_config

WRITERS = 24


def event(uid: str, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240105T100000Z\r\n"
        f"DTEND:20240105T110000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def put(base: str, href: str, body: str, **headers: str) -> int:
    response = httpx.put(
        base + "/alice/calendar/" + href,
        content=body,
        auth=("alice", PASSWORD),
        headers={"Content-Type": "text/calendar", **headers},
        timeout=60,
    )
    return response.status_code


def race(bases: list[str], job: object, count: int = WRITERS) -> list[int]:
    """Run ``job(base, n)`` ``count`` times at once, spread over the servers in ``bases``."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda n: job(bases[n % len(bases)], n), range(count)))  # type: ignore[operator]


def check_races(bases: list[str]) -> None:
    # If-None-Match: * on one new href: one creation, everyone else 412.
    created = race(
        bases, lambda b, n: put(b, "new.ics", event("new", f"v{n}"), **{"If-None-Match": "*"})
    )
    assert sorted(created) == [201] + [412] * (WRITERS - 1)

    # If-Match on the current ETag: one update per generation.
    etag = httpx.get(bases[0] + "/alice/calendar/new.ics", auth=("alice", PASSWORD)).headers["ETag"]
    updated = race(
        bases, lambda b, n: put(b, "new.ics", event("new", f"w{n}"), **{"If-Match": etag})
    )
    assert sorted(updated) == [204] + [412] * (WRITERS - 1)
    final = httpx.get(bases[0] + "/alice/calendar/new.ics", auth=("alice", PASSWORD)).text
    winners = [n for n in range(WRITERS) if f"SUMMARY:w{n}\r\n" in final]
    assert len(winners) == 1  # the stored body is exactly one of the inputs: no torn write

    # One UID at many hrefs: one resource, the rest 409 no-uid-conflict.
    same_uid = race(bases, lambda b, n: put(b, f"dup{n}.ics", event("dup", "x")))
    assert sorted(same_uid) == [201] + [409] * (WRITERS - 1)

    # Many writers of different items: every write is in the revision log.
    distinct = race(bases, lambda b, n: put(b, f"item{n}.ics", event(f"item{n}", "x")))
    assert distinct == [201] * WRITERS
    body = (
        '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/>'
        "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
    )
    listing = httpx.request(
        "REPORT", bases[0] + "/alice/calendar/", content=body, auth=("alice", PASSWORD)
    ).text
    for n in range(WRITERS):
        assert listing.count(f"/alice/calendar/item{n}.ics<") == 1


def test_request_threads_race(tmp_path: Path, database_url: str, password_hash: str) -> None:
    config = write_config(tmp_path, database_url, password_hash, server={"request_threads": 8})
    with live_server(config) as server:
        check_races([server.url])


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    from tests.harness import fresh_postgres_database

    with fresh_postgres_database(postgres_admin) as url:
        yield url


@pytest.mark.postgres
def test_two_server_processes_race(tmp_path: Path, postgres_url: str, password_hash: str) -> None:
    config = write_config(tmp_path, postgres_url, password_hash)
    first = ServerProcess(config)
    second = ServerProcess(config)
    try:
        check_races([first.url, second.url])
    finally:
        assert first.stop() == 0
        assert second.stop() == 0
