"""Serving as a process: health, keep-alive, graceful shutdown, logins."""

from __future__ import annotations

import http.client
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from radicale import config as radicale_config

from kalends.security.passwords import hash_password
from kalends.server.auth import LoginCache, UserAuth
from tests.harness import PASSWORD, ServerProcess, live_server, write_config


def test_health_and_keep_alive(tmp_path: Path, password_hash: str) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash)
    with live_server(config) as server:
        parts = urlsplit(server.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        connection.request("GET", "/.kalends/health")
        first = connection.getresponse()
        assert first.status == 200
        assert first.read() == b'{"status": "ok", "database": "ok"}'
        socket_before = connection.sock
        connection.request("PROPFIND", "/alice/", headers={"Depth": "0", **_basic()})
        second = connection.getresponse()
        second.read()
        assert second.status == 207
        assert connection.sock is socket_before  # the same TCP connection served both
        connection.close()


def test_each_request_gets_one_access_log_line(tmp_path: Path, password_hash: str) -> None:
    server = ServerProcess(write_config(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash))
    try:
        answer = httpx.request(
            "PROPFIND",
            server.url + "/alice/?x=1",
            headers={"Depth": "0", "User-Agent": "probe/1.0", **_basic()},
        )
        assert answer.status_code == 207
    finally:
        assert server.stop() == 0
    lines = [line.rstrip() for line in server.output if "aiohttp.access" in line]
    shape = re.compile(
        r'127\.0\.0\.1 "PROPFIND /alice/\?x=1 HTTP/1\.1" 207 \d+ [\d.]+ms "probe/1\.0"$'
    )
    assert [line for line in lines if shape.search(line)], lines


def _basic() -> dict[str, str]:
    return {"Authorization": httpx.BasicAuth("alice", PASSWORD)._auth_header}


def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path, password_hash: str) -> None:
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash, auth={"failure_delay": 1.5}
    )
    server = ServerProcess(config)
    results: list[int] = []

    def slow_request() -> None:  # a failed login is held back by failure_delay
        response = httpx.get(server.url + "/alice/", auth=("alice", "wrong"), timeout=30)
        results.append(response.status_code)

    worker = threading.Thread(target=slow_request)
    worker.start()
    time.sleep(0.5)
    assert server.stop() == 0
    worker.join(30)
    assert results == [401]
    assert "shutting down" in "".join(server.output)
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/.kalends/health", timeout=5)


def test_wrong_password_and_unknown_user_look_the_same(tmp_path: Path, password_hash: str) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash)
    with live_server(config) as server:
        wrong = httpx.get(server.url + "/alice/", auth=("alice", "nope"))
        unknown = httpx.get(server.url + "/alice/", auth=("mallory", "nope"))
        nobody = httpx.get(server.url + "/alice/")
    assert wrong.status_code == unknown.status_code == nobody.status_code == 401
    assert wrong.text == unknown.text
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]


def test_login_cache_remembers_only_the_verified_password() -> None:
    cache = LoginCache(ttl=60)
    assert not cache.knows("alice", "pw")
    cache.remember("alice", "pw")
    assert cache.knows("alice", "pw")
    assert not cache.knows("alice", "other")
    assert not cache.knows("bob", "pw")
    expired = LoginCache(ttl=0.01)
    expired.remember("alice", "pw")
    time.sleep(0.02)
    assert not expired.knows("alice", "pw")


def test_user_auth_checks_hashes() -> None:
    auth = UserAuth(radicale_config.load(), {"alice": hash_password("s3cret")}, cache_seconds=60)
    assert auth._login("alice", "s3cret") == "alice"
    assert auth._login("alice", "S3cret") == ""
    assert auth._login("mallory", "s3cret") == ""
    assert auth._login("alice", "s3cret") == "alice"  # now from the cache


def test_large_answers_are_gzipped_for_clients_that_ask(tmp_path: Path, password_hash: str) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", password_hash)
    with live_server(config) as server:
        propfind = {"Depth": "1", "Accept-Encoding": "gzip"}
        packed = httpx.request("PROPFIND", server.url + "/alice/", headers=propfind, auth=_AUTH)
        plain = httpx.request(
            "PROPFIND",
            server.url + "/alice/",
            headers={"Depth": "1", "Accept-Encoding": "identity"},
            auth=_AUTH,
        )
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert packed.text == plain.text  # httpx decodes the gzip body
    assert int(packed.headers["Content-Length"]) < len(plain.content)


_AUTH = ("alice", PASSWORD)
