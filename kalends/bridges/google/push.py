"""Google push notifications: a watch channel per synced calendar, renewed before it expires.

Google has no way to extend or list channels, so each one is remembered (``ChannelBook``) and
renewed by opening a new channel before the old one ends, then stopping the old one. A
notification carries no data; it only wakes the source's runner, which pulls with its sync
token. Channels left from an earlier run of the server are stopped when the source starts.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from kalends.bridges.base import BridgeError
from kalends.bridges.context import Channel, ChannelBook, HookRegistry, SecretVault
from kalends.bridges.google.api import CalendarApi
from kalends.bridges.push import Opened, RenewingWatch

__all__ = ["HOOK_PATH", "PushSettings", "open_watch", "stop_leftover_channel"]

logger = logging.getLogger(__name__)

HOOK_PATH = "/.kalends/hooks/google"
PROVIDER = "google"


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


class GoogleChannels:
    """A Subscriber: Google watch channels on one calendar's events."""

    def __init__(self, api: CalendarApi, settings: PushSettings) -> None:
        self._api = api
        self._settings = settings
        self.lifetime = float(settings.ttl)

    async def open(self, notify: Callable[[], None], renew: Callable[[], None]) -> Opened:
        settings = self._settings
        channel_id = uuid.uuid4().hex
        token = secrets.token_urlsafe(32)
        # Routed before the watch call: Google greets a new channel at once.
        unregister = settings.hooks.register(PROVIDER, channel_id, token, notify)
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
        return Opened(record, unregister)

    async def extend(self, record: Channel) -> Channel | None:
        return None  # Google cannot extend a channel: a new one replaces it

    async def stop(self, record: Channel) -> None:
        await self._api.stop_channel(record.channel_id, record.resource_id)


async def open_watch(
    api: CalendarApi, settings: PushSettings, notify: Callable[[], None]
) -> RenewingWatch:
    watch = RenewingWatch(GoogleChannels(api, settings), settings.book, settings.source, notify)
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
