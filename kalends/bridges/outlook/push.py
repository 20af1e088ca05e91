"""Graph change notifications for one Outlook calendar: a subscription to its events.

Graph validates the notification URL while the subscription is being created (the webhook
echoes the ``validationToken``), then sends each change with the subscription's id and the
``clientState`` chosen here, which the webhook checks. Subscriptions to Outlook events live a
few days: they are extended before they end, and renewed at once when Graph's lifecycle
notifications ask for it; a "missed" notification simply wakes the source for a pull.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from kalends.bridges.base import BridgeError
from kalends.bridges.context import Channel, ChannelBook, HookRegistry, SecretVault
from kalends.bridges.outlook.api import GraphApi
from kalends.bridges.outlook.series import graph_time
from kalends.bridges.push import Opened, RenewingWatch

__all__ = [
    "HOOK_PATH",
    "GraphPushSettings",
    "GraphSubscriptions",
    "open_watch",
    "stop_leftover_subscription",
]

logger = logging.getLogger(__name__)

HOOK_PATH = "/.kalends/hooks/graph"
PROVIDER = "graph"


@dataclass(frozen=True, slots=True)
class GraphPushSettings:
    source: str
    account: str
    public_url: str
    hooks: HookRegistry
    book: ChannelBook | None
    minutes: int = 4200  # under Outlook's older 4230-minute cap, which some tenants still apply

    @property
    def address(self) -> str:
        return self.public_url.rstrip("/") + HOOK_PATH


def _expiry(minutes: int) -> tuple[str, float]:
    ends = time.time() + minutes * 60
    text = datetime.fromtimestamp(ends, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return text, ends


def _ends_at(answer: dict[str, object], fallback: float) -> float:
    try:
        return graph_time(str(answer.get("expirationDateTime") or "")).timestamp()
    except ValueError:
        return fallback


class GraphSubscriptions:
    """A Subscriber over Graph's /subscriptions."""

    def __init__(self, api: GraphApi, settings: GraphPushSettings) -> None:
        self._api = api
        self._settings = settings
        self.lifetime = settings.minutes * 60.0

    async def open(self, notify: Callable[[], None], renew: Callable[[], None]) -> Opened:
        settings = self._settings
        state = secrets.token_urlsafe(48)  # Graph allows up to 128 characters
        expiration, ends = _expiry(settings.minutes)
        answer = await self._api.subscribe(
            {
                "changeType": "created,updated,deleted",
                "notificationUrl": settings.address,
                "lifecycleNotificationUrl": settings.address,
                "resource": self._api.resource,
                "expirationDateTime": expiration,
                "clientState": state,
            }
        )
        subscription = str(answer["id"])
        off_changes = settings.hooks.register(PROVIDER, subscription, state, notify)
        off_renewals = settings.hooks.register("graph-renew", subscription, state, renew)

        def unregister() -> None:
            off_changes()
            off_renewals()

        record = Channel(
            settings.source, PROVIDER, subscription, self._api.resource,
            _ends_at(answer, ends), settings.account, self._api.api.base_url,
        )  # fmt: skip
        return Opened(record, unregister)

    async def extend(self, record: Channel) -> Channel | None:
        expiration, ends = _expiry(self._settings.minutes)
        answer = await self._api.renew(record.channel_id, expiration)
        return Channel(
            record.source, record.provider, record.channel_id, record.resource_id,
            _ends_at(answer, ends), record.account, record.api_url,
        )  # fmt: skip

    async def stop(self, record: Channel) -> None:
        await self._api.unsubscribe(record.channel_id)


async def open_watch(
    api: GraphApi, settings: GraphPushSettings, notify: Callable[[], None]
) -> RenewingWatch:
    subscriptions = GraphSubscriptions(api, settings)
    watch = RenewingWatch(subscriptions, settings.book, settings.source, notify)
    await watch.start()
    return watch


async def stop_leftover_subscription(record: Channel, vault: SecretVault) -> None:
    """Delete a subscription whose source is gone from the admin file (best effort: one left
    behind ends by itself within days, its notifications refused meanwhile)."""
    from kalends.bridges.outlook.tokens import CACHE_KEY, GRAPH_AUTHORITY, MsalSettings, MsalTokens

    try:
        secrets = vault.get(record.account)
    except ValueError:  # sealed with another key
        return
    if not secrets or CACHE_KEY not in secrets:
        return
    authority = secrets.get("authority") or GRAPH_AUTHORITY
    verify = secrets.get("ca_file") or True
    settings = MsalSettings(
        secrets.get("client_id", ""), authority, verify,
        instance_discovery=authority.startswith("https://login.microsoftonline.com/"),
    )  # fmt: skip
    tokens = MsalTokens(record.source, record.account, settings, vault)
    api = GraphApi(record.api_url, tokens, "", name=f"outlook {record.source}", verify=verify)
    try:
        await api.unsubscribe(record.channel_id)
    except BridgeError as error:
        logger.info("deleting subscription %s of removed source %s: %s", record.channel_id,
                    record.source, error)  # fmt: skip
    finally:
        await api.aclose()
