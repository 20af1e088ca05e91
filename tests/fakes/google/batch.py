"""``POST /batch/calendar/v3``: up to 1000 requests in one ``multipart/mixed`` body.

Each part is an ``application/http`` request; the fake replays it against itself over loopback
(with the outer ``Authorization`` unless the part has its own), so every part goes through the
same auth, faults and handlers as a direct call, and answers in order with its own status.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from tests.fakes.google.errors import ApiError

if TYPE_CHECKING:
    from tests.fakes.google.server import Api

__all__ = ["Batch"]

MAX_PARTS = 1000
_SKIPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class Batch:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.base_url = ""
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        boundary = request.content_type == "multipart/mixed" and _boundary(request)
        if not boundary:
            raise ApiError.bad_request("Invalid multipart request with 0 mime parts.")
        parts = _split(await request.read(), boundary)
        if not parts:
            raise ApiError.bad_request("Invalid multipart request with 0 mime parts.")
        if len(parts) > MAX_PARTS:
            raise ApiError.bad_request(f"A batch request cannot contain more than {MAX_PARTS} "
                                       "requests")  # fmt: skip
        outer_auth = request.headers.get("Authorization")
        answers = [await self._run(part, outer_auth) for part in parts]
        reply_boundary = "batch_" + secrets.token_hex(12)
        body = (
            b"".join(b"--" + reply_boundary.encode() + b"\r\n" + answer for answer in answers)
            + b"--"
            + reply_boundary.encode()
            + b"--\r\n"
        )
        return web.Response(
            body=body, headers={"Content-Type": f"multipart/mixed; boundary={reply_boundary}"}
        )

    async def _run(self, part: bytes, outer_auth: str | None) -> bytes:
        outer_headers, inner = _head_and_body(part)
        content_id = outer_headers.get("content-id", "")
        line_and_headers, body = _head_and_body(inner, keep_first_line=True)
        request_line = line_and_headers.pop("", "")
        method, _, rest = request_line.partition(" ")
        target = rest.rsplit(" HTTP/", 1)[0].strip()
        url = target if target.startswith("http") else self.base_url + target
        headers = {k: v for k, v in line_and_headers.items() if k not in _SKIPPED}
        if "authorization" not in headers and outer_auth:
            headers["authorization"] = outer_auth
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(method, url, data=body or None, headers=headers) as got:
            payload = await got.read()
            reason = got.reason or ""
            content_type = got.headers.get("Content-Type", "application/json; charset=UTF-8")
            etag = got.headers.get("ETag")
            status = got.status
        lines = [
            "Content-Type: application/http",
            *([f"Content-ID: <response-{content_id.strip('<>')}>"] if content_id else []),
            "",
            f"HTTP/1.1 {status} {reason}",
            f"Content-Type: {content_type}",
            *([f"ETag: {etag}"] if etag else []),
            f"Content-Length: {len(payload)}",
            "",
            "",
        ]
        return "\r\n".join(lines).encode() + payload + b"\r\n"


def _boundary(request: web.Request) -> str:
    for item in request.headers.get("Content-Type", "").split(";")[1:]:
        name, _, value = item.strip().partition("=")
        if name.lower() == "boundary":
            return value.strip('"')
    return ""


def _split(body: bytes, boundary: str) -> list[bytes]:
    marker = b"--" + boundary.encode()
    chunks = body.split(marker)[1:]  # the preamble goes
    parts = []
    for chunk in chunks:
        if chunk.startswith(b"--"):
            break
        parts.append(chunk.strip(b"\r\n"))
    return parts


def _head_and_body(raw: bytes, *, keep_first_line: bool = False) -> tuple[dict[str, str], bytes]:
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    headers: dict[str, str] = {}
    lines = head.decode("utf-8", "replace").split("\n")
    if keep_first_line and lines:
        headers[""] = lines.pop(0).strip()
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, body.strip(b"\n")
