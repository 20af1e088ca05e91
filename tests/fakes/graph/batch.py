"""``POST /v1.0/$batch``: up to 20 requests in one JSON body, answered in one 200 envelope.

Each member is replayed against the fake itself over loopback (with the outer
``Authorization`` unless it has its own), so it passes the same auth, faults, throttling and
handlers as a direct call and may fail on its own (a 429 inside the 200 envelope). Members run
one after another in an order that honours ``dependsOn``; a member whose dependency failed is
answered 424 without running.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.tls import LocalAuthority

__all__ = ["Batch"]

MAX_REQUESTS = 20
_SKIPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class Batch:
    def __init__(self, authority: LocalAuthority) -> None:
        self.graph_url = ""  # set once the port is known
        self._authority = authority
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise GraphError.invalid_body("Invalid batch payload format.") from None
        members = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
            raise GraphError.bad_request("Invalid batch payload format.")
        if len(members) > MAX_REQUESTS:
            raise GraphError.bad_request(
                f"The number of batch requests exceeds the limit of {MAX_REQUESTS}."
            )
        ids = [str(m.get("id", "")) for m in members]
        if "" in ids or len(set(ids)) != len(ids):
            raise GraphError.bad_request("Batch request contains duplicate or missing Ids.")
        by_id = dict(zip(ids, members, strict=True))
        order = _order(by_id)
        outer = request.headers.get("Authorization")
        answers: dict[str, dict[str, Any]] = {}
        for member_id in order:
            member = by_id[member_id]
            failed = [d for d in _depends(member) if not 200 <= answers[d]["status"] < 300]
            if failed:
                answers[member_id] = _failed_dependency(member_id)
            else:
                answers[member_id] = await self._run(member_id, member, outer)
        return web.json_response({"responses": [answers[i] for i in order]})

    async def _run(self, member_id: str, member: dict[str, Any], outer: str | None) -> Any:
        method = str(member.get("method", "GET")).upper()
        url = str(member.get("url", ""))
        if not url.startswith("/"):
            url = "/" + url
        headers = {
            k: str(v) for k, v in (member.get("headers") or {}).items() if k.lower() not in _SKIPPED
        }
        if outer and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = outer
        data = None
        if member.get("body") is not None:
            data = json.dumps(member["body"])
            headers.setdefault("Content-Type", "application/json")
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._authority.client_context())
            self._session = aiohttp.ClientSession(connector=connector)
        async with self._session.request(
            method, self.graph_url + url, data=data, headers=headers
        ) as got:
            raw = await got.read()
            answer: dict[str, Any] = {
                "id": member_id,
                "status": got.status,
                "headers": {
                    k: v
                    for k, v in got.headers.items()
                    if k.lower()
                    in ("content-type", "retry-after", "location", "preference-applied")
                },
            }
        if raw:
            try:
                answer["body"] = json.loads(raw)
            except ValueError:
                answer["body"] = raw.decode("utf-8", "replace")
        return answer


def _depends(member: dict[str, Any]) -> list[str]:
    found = member.get("dependsOn") or []
    return [str(d) for d in found] if isinstance(found, list) else []


def _order(by_id: dict[str, dict[str, Any]]) -> list[str]:
    """The members with each one after what it depends on (400 on unknown ids or cycles)."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(member_id: str) -> None:
        if member_id in done:
            return
        if member_id in visiting or member_id not in by_id:
            raise GraphError.bad_request("Invalid dependsOn in the batch request.")
        visiting.add(member_id)
        for needed in _depends(by_id[member_id]):
            visit(needed)
        visiting.discard(member_id)
        done.append(member_id)

    for member_id in by_id:
        visit(member_id)
    return done


def _failed_dependency(member_id: str) -> dict[str, Any]:
    error = {
        "code": "FailedDependency",
        "message": "The request was not executed because a request it depends on failed.",
    }
    return {
        "id": member_id,
        "status": 424,
        "headers": {"Content-Type": "application/json"},
        "body": {"error": error},
    }
