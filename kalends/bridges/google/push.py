"""Google push notifications: a watch channel per synced calendar, renewed before it expires.

Google has no way to extend or list channels, so each one is remembered (``ChannelBook``) and
renewed by opening a new channel before the old one ends, then stopping the old one. A
notification carries no data; it only wakes the source's runner, which pulls with its sync
token. Channels left from an earlier run of the server are stopped when the source starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from kalends.bridges.base import BridgeError
from kalends.bridges.context import Channel, ChannelBook, HookRegistry, SecretVault
from kalends.bridges.google.api import CalendarApi

__all__ = ["HOOK_PATH", "PushSettings", "open_watch", "stop_leftover_channel"]

logger = logging.getLogger(__name__)

HOOK_PATH = "/.kalends/hooks/google"
PROVIDER = "google"
RETRY_AFTER_FAILURE = 60.0


@dataclass(frozen=True, slots=True)
class PushSettings:
    source: str
    account: str
    public_url: str
    hooks: HookRegistry
    book: ChannelBook | None
    ttl: int  # seconds a channel lives (Google's default is a week)

    @property
    def address(self) -> str:
        return self.public_url.rstrip("/") + HOOK_PATH

    def renew_at(self, expires_at: float) -> float:
        """When to replace a channel: a tenth of its life before it ends (at least a minute)."""
        return expires_at - max(self.ttl / 10, 60.0)


@dataclass
class _Live:
    record: Channel
    unregister: Callable[[], None]


class GoogleWatch:
    def __init__(self, api: CalendarApi, settings: PushSettings, notify: Callable[[], None]):
        self._api = api
        self._settings = settings
        self._notify = notify
        self._live: _Live | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def channel(self) -> Channel | None:
        return self._live.record if self._live is not None else None

    async def start(self) -> None:
        await self._stop_leftovers()
        await self.renew()
        self._task = asyncio.create_task(self._keep_renewed(), name="google-channel")

    async def renew(self) -> None:
        """Open a new channel, then stop the one it replaces."""
        settings = self._settings
        channel_id = uuid.uuid4().hex
        token = secrets.token_urlsafe(32)
        unregister = settings.hooks.register(PROVIDER, channel_id, token, self._notify)
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": settings.address,
            "token": token,
            "params": {"ttl": str(settings.ttl)},
        }
        try:
            answer = await self._api.watch(body)
        except BaseException:
            unregister()
            raise
        expiration = float(answer.get("expiration") or 0) / 1000 or time.time() + settings.ttl
        record = Channel(
            settings.source, PROVIDER, channel_id, str(answer["resourceId"]), expiration,
            settings.account, self._api.api.base_url,
        )  # fmt: skip
        if settings.book is not None:
            await asyncio.to_thread(settings.book.save, record)
        old, self._live = self._live, _Live(record, unregister)
        if old is not None:
            await self._stop(old.record, old.unregister)

    async def _keep_renewed(self) -> None:
        while True:
            assert self._live is not None
            wait = self._settings.renew_at(self._live.record.expires_at) - time.time()
            await asyncio.sleep(max(wait, 1.0))
            try:
                await self.renew()
            except BridgeError as error:
                logger.warning("source %s: renewing the Google channel failed: %s",
                               self._settings.source, error)  # fmt: skip
                await asyncio.sleep(RETRY_AFTER_FAILURE)

    async def _stop_leftovers(self) -> None:
        book = self._settings.book
        if book is None:
            return
        for record in await asyncio.to_thread(book.of_source, self._settings.source):
            await self._stop(record, lambda: None)

    async def _stop(self, record: Channel, unregister: Callable[[], None]) -> None:
        unregister()
        try:
            await self._api.stop_channel(record.channel_id, record.resource_id)
        except BridgeError as error:  # it ends by itself at its expiry
            logger.info("source %s: stopping channel %s: %s", record.source,
                        record.channel_id, error)  # fmt: skip
        if self._settings.book is not None:
            await asyncio.to_thread(self._settings.book.forget, record.channel_id)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        live, self._live = self._live, None
        if live is not None:
            await self._stop(live.record, live.unregister)


async def open_watch(
    api: CalendarApi, settings: PushSettings, notify: Callable[[], None]
) -> GoogleWatch:
    watch = GoogleWatch(api, settings, notify)
    await watch.start()
    return watch


async def stop_leftover_channel(record: Channel, vault: SecretVault) -> None:
    """Stop a channel whose source is gone from the admin file (best effort: an unanswered
    stop only means notifications arrive, are refused, and end at the channel's expiry)."""
    from kalends.bridges.google.tokens import SCOPES, GoogleTokens

    try:
        secrets = vault.get(record.account)
    except ValueError:  # sealed with another key
        secrets = None
    if not secrets:
        return
    tokens = GoogleTokens(record.source, secrets, SCOPES)
    api = CalendarApi(record.api_url, tokens, "primary", name=f"google {record.source}")
    try:
        await api.stop_channel(record.channel_id, record.resource_id)
    except BridgeError as error:
        logger.info("stopping channel %s of removed source %s: %s", record.channel_id,
                    record.source, error)  # fmt: skip
    finally:
        await api.aclose()
        tokens.close()
