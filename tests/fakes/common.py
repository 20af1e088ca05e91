"""What every provider fake does alike, whatever the provider.

* ``FakeServer``: an aiohttp app on 127.0.0.1 (a free port) in a thread and event loop of its
  own, started and stopped by the test (or as a context manager), with a ``Clock`` the test moves
  on and the counters of its push ``Notifier``.
* ``Switch``: a fault switch of the fake's ``faults`` shown as an attribute of the fake.
* ``FaultRules``: ``fail_next`` / ``lose_next_reply`` rules matched by method and path, and a
  sliding-window rate limit, the base of each fake's ``Faults``.
* ``Notifier``: the open watches (channels, subscriptions) and the deliveries a change sends
  them, each a task on the fake's loop, so no request and no control-API call waits for a webhook.
* ``seal`` / ``unseal``: opaque, tamper-evident tokens (page, sync and delta tokens).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Generic, Literal, Protocol, Self, TypeVar

import aiohttp
from aiohttp import web

__all__ = [
    "Clock",
    "FakeServer",
    "FaultRules",
    "Notifier",
    "Rule",
    "Switch",
    "seal",
    "unseal",
]

T = TypeVar("T")
D = TypeVar("D")  # what the fake's notifier records of a delivery


class Clock:
    """Wall-clock time that a test can move forward (token, channel and subscription expiry)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Switch(Generic[T]):
    """A fault switch of ``Faults`` shown as an attribute of the fake."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, fake: Any, owner: Any = None) -> T:
        value: T = getattr(fake.faults, self.name)
        return value

    def __set__(self, fake: Any, value: T) -> None:
        setattr(fake.faults, self.name, value)


# -- tokens ----------------------------------------------------------------------------------------


def seal(secret: bytes, payload: dict[str, Any]) -> str:
    data = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(secret, data, hashlib.sha256).digest()[:10]
    return base64.urlsafe_b64encode(mac + data).decode().rstrip("=")


def unseal(secret: bytes, token: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        mac, data = raw[:10], raw[10:]
        if not hmac.compare_digest(mac, hmac.new(secret, data, hashlib.sha256).digest()[:10]):
            return None
        payload = json.loads(data)
    except (ValueError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


# -- faults ----------------------------------------------------------------------------------------


@dataclass
class Rule:
    """The next ``remaining`` matching requests fail (``fail``: not applied) or lose their
    reply (``lose``: applied, then answered with ``status``)."""

    kind: Literal["fail", "lose"]
    status: int
    detail: str | None  # what a failure names: Google's error reason, Graph's error code
    retry_after: float | None
    remaining: int
    method: str | None
    path_contains: str | None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains is None or self.path_contains in path


class FaultRules:
    """Pending rules and the rate limit, safe to change from the test's thread while the server
    runs in its own."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._window: tuple[int, float] | None = None  # (requests, seconds)
        self._stamps: deque[float] = deque()
        self.failed = 0  # requests answered by a ``fail_next`` rule
        self.lost = 0  # replies lost after the request was applied

    def _add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _clear_rules(self) -> None:
        """Forget pending rules and the rate limit."""
        with self._lock:
            self._rules.clear()
            self._window = None
            self._stamps.clear()

    def take(self, method: str, path: str) -> Rule | None:
        """The rule this request falls under (used up by one), if any."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    if rule.kind == "fail":
                        self.failed += 1
                    else:
                        self.lost += 1
                    return rule
        return None

    def _limit_rate(self, limit: int | None, seconds: float) -> None:
        """Refuse requests beyond ``limit`` in any sliding window of ``seconds`` (None: none)."""
        with self._lock:
            self._window = (limit, seconds) if limit is not None else None
            self._stamps.clear()

    def _over_window(self) -> bool:
        """Count one request; True when it is over the rate limit (then it is not counted)."""
        with self._lock:
            if self._window is None:
                return False
            limit, seconds = self._window
            now = time.monotonic()
            while self._stamps and self._stamps[0] <= now - seconds:
                self._stamps.popleft()
            if len(self._stamps) >= limit:
                return True
            self._stamps.append(now)
            return False


# -- push notifications ----------------------------------------------------------------------------


class _Expiring(Protocol):
    @property
    def expiration(self) -> float: ...  # epoch seconds


class _Delivering(Protocol):
    """The fault switches every notifier obeys."""

    drop_notifications: bool  # notifications are never delivered
    duplicate_notifications: bool  # each notification is delivered twice
    notification_delay: float  # seconds before each delivery


W = TypeVar("W", bound=_Expiring)
Deliver = Callable[[float], Coroutine[Any, Any, None]]  # one delivery, after a delay


class Notifier(Generic[W, D]):
    """The open watches by id and every delivery attempt, in the order they ended."""

    def __init__(
        self, clock: Callable[[], float], switches: _Delivering, delivery_timeout: float
    ) -> None:
        self._clock = clock
        self._switches = switches
        self._timeout = delivery_timeout
        self._lock = threading.Lock()
        self._active: dict[str, W] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.deliveries: list[D] = []  # every attempt, in the order they ended
        self.sent = 0  # deliveries the receiver answered with 2xx
        self.failed = 0  # deliveries given up (see the provider's notifier)
        self.dropped = 0  # deliveries swallowed by ``drop_notifications``

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def active(self) -> list[W]:
        """The open, unexpired watches."""
        now = self._clock()
        with self._lock:
            return [w for w in self._active.values() if w.expiration > now]

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    def _post_later(self, deliver: Deliver) -> None:
        """Run ``deliver`` on the fake's loop (from any thread), as the switches say: not at
        all, once or twice, after ``notification_delay``."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if self._switches.drop_notifications:
            self.dropped += 1
            return
        times = 2 if self._switches.duplicate_notifications else 1
        delay = self._switches.notification_delay
        for _ in range(times):
            loop.call_soon_threadsafe(self._spawn, deliver, delay)

    def _spawn(self, deliver: Deliver, delay: float) -> None:
        task = asyncio.get_running_loop().create_task(deliver(delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# -- the server ------------------------------------------------------------------------------------


class _Closing(Protocol):
    async def close(self) -> None: ...


class _Hub(Protocol[D]):
    sent: int
    failed: int
    dropped: int
    deliveries: list[D]

    def attach(self, loop: asyncio.AbstractEventLoop) -> None: ...

    async def close(self) -> None: ...


class FakeServer(Generic[D]):
    """The fake's app on 127.0.0.1 in its own thread and loop; a provider's fake says what it
    serves (``_application``), over what (``_server_tls``) and who needs its address once the
    port is known (``_listening``)."""

    label: ClassVar[str] = "provider"  # in messages and the thread's name
    scheme: ClassVar[str] = "http"
    hub: _Hub[D]

    def __init__(self) -> None:
        self.clock = Clock()
        self._port = 0
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def _application(self) -> tuple[web.Application, _Closing]:
        """The app, and what to close with it (the batch endpoint)."""
        raise NotImplementedError

    def _server_tls(self) -> ssl.SSLContext | None:
        return None

    def _listening(self) -> None:
        """The port is known (``base_url`` holds)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"the {self.label} fake runs already")
        name = f"{self.label.lower()}-fake"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._failure is not None:
            raise RuntimeError(f"the {self.label} fake did not start: {self._failure!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # surfaced by start()
            self._failure = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.hub.attach(self._loop)
        app, batch = self._application()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self._server_tls())
        await site.start()
        self._port = runner.addresses[0][1]
        self._listening()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await batch.close()
            await self.hub.close()
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._port}"

    def advance_time(self, seconds: float) -> None:
        """Move the fake's clock on (access tokens and push channels expire by it)."""
        self.clock.offset += seconds

    # -- what happened -----------------------------------------------------------------------

    @property
    def notifications_sent(self) -> int:
        return self.hub.sent

    @property
    def notifications_failed(self) -> int:
        return self.hub.failed

    @property
    def notifications_dropped(self) -> int:
        return self.hub.dropped

    @property
    def deliveries(self) -> list[D]:
        return list(self.hub.deliveries)
