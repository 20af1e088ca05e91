"""The aiohttp application and ``kalends serve``.

One port serves CalDAV (Radicale, run in a bounded thread pool) and Kalends' own endpoints under
``/.kalends/``. SIGTERM stops accepting connections and lets in-flight requests finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from aiohttp import web
from sqlalchemy import Engine, text

from kalends.config import Settings
from kalends.server.access_log import AccessLog
from kalends.server.accounts import follow_accounts
from kalends.server.guards import (
    DAV_ERROR_TYPE,
    Refusal,
    check_depth,
    check_method,
    check_put_type,
    check_target_names,
    guarded,
    supported_methods,
)
from kalends.server.hooks import HOOKS, HookRouter, google_hook, graph_hook
from kalends.server.provision import provision_calendars
from kalends.server.radicale_app import KalendsApplication
from kalends.server.radicale_config import build_radicale_configuration
from kalends.server.timezones import install_per_thread_zones
from kalends.server.wsgi import WSGIApp, serve_wsgi
from kalends.storage import Storage
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.sync.discovery import resolve_accounts
from kalends.sync.scheduler import build_scheduler
from kalends.sync.sources import open_shared, stop_channels_of_removed_sources

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    pool: ThreadPoolExecutor
    dav: KalendsApplication
    wsgi: WSGIApp  # ``dav`` behind the body checks, with per-request time zones

    @property
    def storage(self) -> Storage:
        storage = self.dav._storage
        assert isinstance(storage, Storage)  # the plugin build_radicale_configuration installs
        return storage


RUNTIME = web.AppKey("runtime", Runtime)


def _plain(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n")


def _refuse(refusal: Refusal) -> web.Response:
    content_type = DAV_ERROR_TYPE if refusal.dav_error else "text/plain; charset=utf-8"
    headers = {"Content-Type": content_type, **refusal.headers}
    return web.Response(status=refusal.status, text=refusal.body(), headers=headers)


def _header_checks(request: web.Request, runtime: Runtime) -> Refusal | None:
    method = request.method
    return (
        check_method(method, supported_methods(runtime.dav))
        or check_depth(method, request.headers.get("Depth"))
        or check_target_names(method, request.path, request.headers.get("Destination"))
        or (check_put_type(request.headers.get("Content-Type", "")) if method == "PUT" else None)
    )


async def dav(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    limit = runtime.settings.server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _plain(413, f"Request body too large: the limit is {limit} bytes")
    refusal = _header_checks(request, runtime)
    if refusal is not None:
        return _refuse(refusal)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _plain(413, f"Request body too large: the limit is {limit} bytes")
    return await serve_wsgi(runtime.wsgi, runtime.pool, request, body)


async def health(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]

    def ping() -> None:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.get_running_loop().run_in_executor(runtime.pool, ping)
    except Exception as error:
        logger.warning("health check: database unreachable: %s", type(error).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


@web.middleware
async def no_tracebacks(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An unexpected error is logged here and answered with a plain 500, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return _plain(500, "Internal Server Error")


def create_app(settings: Settings) -> web.Application:
    threads = settings.server.request_threads
    engine = create_storage_engine(settings.storage.url, max(settings.storage.pool_size, threads))
    dav_app = KalendsApplication(build_radicale_configuration(settings, engine))
    pool = ThreadPoolExecutor(threads, thread_name_prefix="kalends-request")
    app = web.Application(
        client_max_size=settings.server.max_body_bytes, middlewares=[no_tracebacks]
    )
    zones = install_per_thread_zones()
    app[RUNTIME] = Runtime(settings, engine, pool, dav_app, guarded(dav_app, zones.reset))
    app.router.add_get("/.kalends/health", health)
    app[HOOKS] = HookRouter()
    app.router.add_post("/.kalends/hooks/google", google_hook)
    app.router.add_post("/.kalends/hooks/graph", graph_hook)
    app.router.add_route("*", "/{tail:.*}", dav)

    async def close(app: web.Application) -> None:
        pool.shutdown(wait=True)
        engine.dispose()

    app.on_cleanup.append(close)
    return app


async def serve(
    settings: Settings,
    ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (by default: SIGTERM or SIGINT), then shut down gracefully."""
    app = create_app(settings)
    runtime = app[RUNTIME]
    # Entries naming several calendars of an account become a source per calendar here.
    shared = open_shared(settings, runtime.engine)
    running = (await resolve_accounts(settings, runtime.engine, shared)).settings
    await asyncio.get_running_loop().run_in_executor(
        runtime.pool, provision_calendars, runtime.storage, running
    )
    runner = web.AppRunner(
        app, shutdown_timeout=settings.server.shutdown_timeout, access_log_class=AccessLog
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    await site.start()
    url = _bound_url(runner)
    logger.info("listening on %s", url)
    # Sources start once the port is bound: a provider answers a new push channel at once.
    shared = replace(shared, hooks=app[HOOKS], public_url=settings.server.public_url or url)
    await stop_channels_of_removed_sources(shared, running)
    scheduler = build_scheduler(running, runtime.storage.transactions, shared)
    await scheduler.start()
    following = asyncio.create_task(
        follow_accounts(settings, running, runtime.storage, scheduler, shared)
    )
    if ready is not None:
        ready(url)
    try:
        await _until_stopped(stop)
        logger.info("shutting down: finishing requests in flight")
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await scheduler.stop()
        await runner.cleanup()
    logger.info("stopped")


async def _until_stopped(stop: asyncio.Event | None) -> None:
    """``stop`` set, or else SIGTERM or SIGINT."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _bound_url(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def run_server(settings: Settings) -> None:
    """``kalends serve``: migrate the database, then serve."""
    migrate_database(settings.storage.url)
    asyncio.run(serve(settings))
