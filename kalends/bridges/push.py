"""Push subscriptions held at a provider, kept alive until the source stops.

Google's watch channels and Graph's subscriptions both expire: a ``RenewingWatch`` renews its
subscription a tenth of its life before the end (extending it where the provider can, else
opening a new one and stopping the old), remembers it in the ``ChannelBook`` so that one left
by a crash is stopped at the next start, and stops it on close. What differs per provider is a
small ``Subscriber``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kalends.bridges.base import BridgeError
from kalends.bridges.context import Channel, ChannelBook

__all__ = ["Opened", "RenewingWatch", "Subscriber"]

logger = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 60.0


@dataclass(frozen=True, slots=True)
class Opened:
    record: Channel
    unregister: Callable[[], None]  # removes its routes from the webhook endpoint


class Subscriber(Protocol):
    lifetime: float  # seconds a subscription lives

    async def open(self, notify: Callable[[], None], renew: Callable[[], None]) -> Opened:
        """A new subscription whose notifications call ``notify``; ``renew`` is for a
        provider's own request to renew it (Graph's lifecycle notifications)."""
        ...

    async def extend(self, record: Channel) -> Channel | None:
        """The subscription with a later expiry, or None when it must be replaced."""
        ...

    async def stop(self, record: Channel) -> None: ...


class RenewingWatch:
    def __init__(
        self,
        subscriber: Subscriber,
        book: ChannelBook | None,
        source: str,
        notify: Callable[[], None],
    ) -> None:
        self._subscriber = subscriber
        self._book = book
        self._source = source
        self._notify = notify
        self._live: Opened | None = None
        self._task: asyncio.Task[None] | None = None
        self._asked = asyncio.Event()  # the provider asked for a renewal

    @property
    def channel(self) -> Channel | None:
        return self._live.record if self._live is not None else None

    async def start(self) -> None:
        await self._stop_leftovers()
        await self.renew()
        self._task = asyncio.create_task(self._keep_renewed(), name=f"push-{self._source}")

    def _renew_soon(self) -> None:
        self._asked.set()

    async def renew(self) -> None:
        """Extend the subscription, or open a new one and then stop the one it replaces."""
        live = self._live
        if live is not None:
            extended = await self._extend(live.record)
            if extended is not None:
                await self._remember(extended)
                self._live = Opened(extended, live.unregister)
                return
        opened = await self._subscriber.open(self._notify, self._renew_soon)
        await self._remember(opened.record)
        self._live = opened
        if live is not None:
            await self._stop(live)

    async def _extend(self, record: Channel) -> Channel | None:
        try:
            return await self._subscriber.extend(record)
        except BridgeError as error:  # gone at the provider: open a new one
            logger.info("source %s: extending %s failed: %s", self._source, record.channel_id,
                        error)  # fmt: skip
            return None

    async def _remember(self, record: Channel) -> None:
        if self._book is not None:
            await asyncio.to_thread(self._book.save, record)

    async def _keep_renewed(self) -> None:
        while True:
            assert self._live is not None
            ends = self._live.record.expires_at
            wait = ends - max(self._subscriber.lifetime / 10, 60.0) - time.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._asked.wait(), max(wait, 1.0))
            self._asked.clear()
            try:
                await self.renew()
            except BridgeError as error:
                logger.warning("source %s: renewing push notifications failed: %s",
                               self._source, error)  # fmt: skip
                await asyncio.sleep(RETRY_AFTER_FAILURE)

    async def _stop_leftovers(self) -> None:
        if self._book is None:
            return
        for record in await asyncio.to_thread(self._book.of_source, self._source):
            await self._stop(Opened(record, lambda: None))

    async def _stop(self, opened: Opened) -> None:
        opened.unregister()
        record = opened.record
        try:
            await self._subscriber.stop(record)
        except BridgeError as error:  # it ends by itself at its expiry
            logger.info("source %s: stopping %s: %s", record.source, record.channel_id, error)
        if self._book is not None:
            await asyncio.to_thread(self._book.forget, record.channel_id)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        live, self._live = self._live, None
        if live is not None:
            await self._stop(live)
