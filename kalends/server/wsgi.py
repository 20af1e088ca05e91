"""Serving a WSGI application (Radicale) from aiohttp.

The request body is read (and size-checked) on the event loop; the application runs in a bounded
thread pool, as Radicale expects synchronous request threads; a streamed answer is pulled from the
pool chunk by chunk, so a large export never sits in memory whole.

Compression is done here rather than by Radicale: in the worker thread, at a fast level (a
multistatus answer compresses about as well at level 1 as at 6, in less than half the time).
"""

from __future__ import annotations

import asyncio
import io
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

GZIP_LEVEL = 1
GZIP_MIN_BYTES = 1024


def build_environ(request: web.Request, body: bytes) -> dict[str, Any]:
    host, port = "localhost", "80"
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if sockname:
        host, port = str(sockname[0]), str(sockname[1])
    peer = request.remote or ""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query_string,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/{}.{}".format(*request.version),
        "REMOTE_ADDR": peer,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_ACCEPT_ENCODING"):
            continue
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class _Started:
    """What the application passed to ``start_response``."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status = int(status.split(" ", 1)[0])
        self.headers = headers


def accepts_gzip(request: web.Request) -> bool:
    codings = request.headers.get("Accept-Encoding", "").lower().split(",")
    return any(coding.split(";", 1)[0].strip() == "gzip" for coding in codings)


def _gzip(started: _Started, body: bytes) -> bytes:
    """Compress a complete answer and fix its headers (runs in the worker thread)."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    packed = compressor.compress(body) + compressor.flush()
    headers = [(k, v) for k, v in started.headers if k.lower() != "content-length"]
    started.headers = [*headers, ("Content-Encoding", "gzip"), ("Content-Length", str(len(packed)))]
    return packed


def _gzip_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Compress a streamed answer chunk by chunk (each ``next`` runs in the worker thread)."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in chunks:
        packed = compressor.compress(chunk)
        if packed:
            yield packed
    yield compressor.flush()


def _call(app: WSGIApp, environ: dict[str, Any], gzip: bool) -> tuple[_Started, Iterable[bytes]]:
    started = _Started()
    answer = app(environ, started)
    if not isinstance(answer, list):
        if gzip:
            started.headers = [*started.headers, ("Content-Encoding", "gzip")]
            return started, _gzip_stream(answer)
        return started, answer
    body = b"".join(answer)
    if gzip and len(body) >= GZIP_MIN_BYTES:
        return started, [_gzip(started, body)]
    return started, [body]


async def _write_stream(
    response: web.StreamResponse, chunks: Iterator[bytes], pool: ThreadPoolExecutor
) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            chunk = await loop.run_in_executor(pool, next, chunks, None)
            if chunk is None:
                return
            await response.write(chunk)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def serve_wsgi(
    app: WSGIApp, pool: ThreadPoolExecutor, request: web.Request, body: bytes
) -> web.StreamResponse:
    loop = asyncio.get_running_loop()
    environ = build_environ(request, body)
    gzip = accepts_gzip(request) and request.method != "HEAD"
    started, answer = await loop.run_in_executor(pool, _call, app, environ, gzip)
    response = web.StreamResponse(status=started.status)
    for name, value in started.headers:
        response.headers.add(name, value)
    streamed = not isinstance(answer, list)
    await response.prepare(request)
    if streamed:
        await _write_stream(response, iter(answer), pool)
    else:  # an answer already in memory: no more thread hops
        for chunk in answer:
            await response.write(chunk)
    await response.write_eof()
    return response
