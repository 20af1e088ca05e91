"""RenewingWatch: subscriptions extended or replaced before they end, remembered, stopped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from kalends.bridges.base import NotFound
from kalends.bridges.context import Channel
from kalends.bridges.push import Opened, RenewingWatch


class Book:
    def __init__(self) -> None:
        self.rows: dict[str, Channel] = {}

    def save(self, channel: Channel) -> None:
        self.rows[channel.channel_id] = channel

    def forget(self, channel_id: str) -> None:
        self.rows.pop(channel_id, None)

    def of_source(self, source: str) -> list[Channel]:
        return [c for c in self.rows.values() if c.source == source]

    def all(self) -> list[Channel]:
        return list(self.rows.values())


class Provider:
    """Subscriptions that can be extended (like Graph's) unless ``extensible`` is False."""

    def __init__(self, lifetime: float, extensible: bool = True) -> None:
        self.lifetime = lifetime
        self.extensible = extensible
        self.live: set[str] = set()
        self.opened = 0
        self.renew_requests: list[Callable[[], None]] = []

    def _record(self, channel_id: str) -> Channel:
        return Channel("team", "test", channel_id, "res", time.time() + self.lifetime, "a", "u")

    async def open(self, notify: Callable[[], None], renew: Callable[[], None]) -> Opened:
        self.opened += 1
        channel_id = f"sub-{self.opened}"
        self.live.add(channel_id)
        self.renew_requests.append(renew)
        return Opened(self._record(channel_id), lambda: None)

    async def extend(self, record: Channel) -> Channel | None:
        if record.channel_id not in self.live:
            raise NotFound("no such subscription")
        return self._record(record.channel_id) if self.extensible else None

    async def stop(self, record: Channel) -> None:
        self.live.discard(record.channel_id)


def test_a_subscription_is_extended_replaced_when_gone_and_stopped_on_close() -> None:
    async def scenario() -> None:
        provider, book = Provider(lifetime=3600), Book()
        book.save(Channel("team", "test", "left-by-a-crash", "res", 0.0, "a", "u"))
        watch = RenewingWatch(provider, book, "team", lambda: None)
        await watch.start()
        assert list(book.rows) == ["sub-1"], "the leftover was stopped and forgotten"
        await watch.renew()
        assert provider.opened == 1 and list(book.rows) == ["sub-1"], "extended in place"
        provider.live.clear()  # the provider dropped it
        await watch.renew()
        assert provider.opened == 2 and list(book.rows) == ["sub-2"]
        await watch.close()
        assert provider.live == set() and book.rows == {}

    asyncio.run(scenario())


def test_a_provider_asking_for_renewal_gets_it_at_once() -> None:
    async def scenario() -> None:
        provider = Provider(lifetime=3600, extensible=False)
        watch = RenewingWatch(provider, None, "team", lambda: None)
        await watch.start()
        provider.renew_requests[0]()  # e.g. Graph's reauthorizationRequired
        async with asyncio.timeout(5):
            while provider.opened < 2:
                await asyncio.sleep(0.01)
        assert provider.live == {"sub-2"}, "replaced, the old one stopped"
        await watch.close()

    asyncio.run(scenario())
