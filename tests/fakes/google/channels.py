"""Push notifications: watch channels on a calendar's events and their deliveries.

A delivery is a POST with an empty body and the ``X-Goog-*`` headers, sent by a task on the
fake's event loop, so no request and no control-API call ever waits for a webhook. The first
message of a channel is ``sync`` (number 1); each change to the calendar's events then sends
``exists``, with increasing (not consecutive) message numbers. Failed deliveries are counted,
never retried.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import functools
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import aiohttp

from tests.fakes.common import Notifier
from tests.fakes.google.errors import ApiError
from tests.fakes.google.faults import Faults

__all__ = ["Channel", "Channels", "Delivery"]

DEFAULT_TTL = 604800  # seconds (a week)
MAX_TTL = 2_592_000  # Google caps calendar channels at 30 days
DELIVERY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Channel:
    id: str
    resource_id: str
    resource_uri: str
    token: str | None
    address: str
    expiration: float  # epoch seconds
    calendar_id: str


@dataclass(frozen=True)
class Delivery:
    channel_id: str
    state: str
    number: int
    status: int | None  # the receiver's answer; None when it could not be reached


class Channels(Notifier[Channel, Delivery]):
    """Watch channels by id; ``failed`` counts deliveries refused (non-2xx) or unreachable."""

    def __init__(self, clock: Callable[[], float], faults: Faults) -> None:
        super().__init__(clock, faults, DELIVERY_TIMEOUT)
        self._faults = faults
        self._rng = random.Random(faults.seed + 1)
        self._numbers: dict[str, int] = {}

    # -- the API -----------------------------------------------------------------------------

    def open(self, calendar_id: str, asked_id: str, api_url: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError.parse_error()
        channel_id, address = body.get("id"), body.get("address")
        if not isinstance(channel_id, str) or not channel_id or len(channel_id) > 64:
            raise ApiError.required("Required", location="id")
        if body.get("type") not in ("web_hook", "webhook"):
            raise ApiError.invalid(f"Invalid value for: type: {body.get('type')!r}")
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            raise ApiError.invalid("WebHook callback must be HTTPS: " + str(address))
        now = self._clock()
        expiration = now + self._ttl(body)
        if body.get("expiration") is not None:
            try:
                expiration = min(expiration, int(body["expiration"]) / 1000)
            except (TypeError, ValueError):
                raise ApiError.invalid(location="expiration") from None
        resource_id = base64_id(calendar_id)
        uri = f"{api_url}calendars/{quote(asked_id, safe='@')}/events?alt=json"
        token = body.get("token")
        channel = Channel(
            channel_id, resource_id, uri, str(token) if token is not None else None, address,
            expiration, calendar_id,
        )  # fmt: skip
        with self._lock:
            if channel_id in self._active:
                raise ApiError(400, "channelIdNotUnique", f"Channel id {channel_id} not unique")
            self._active[channel_id] = channel
            self._numbers[channel_id] = 1
        self._schedule(channel, "sync", 1)
        answer: dict[str, Any] = {"kind": "api#channel", "id": channel_id,
                                  "resourceId": resource_id, "resourceUri": uri,
                                  "expiration": str(int(expiration * 1000))}  # fmt: skip
        if channel.token is not None:
            answer["token"] = channel.token
        return answer

    def _ttl(self, body: dict[str, Any]) -> float:
        params = body.get("params") or {}
        try:
            ttl = int(params.get("ttl", DEFAULT_TTL))
        except (TypeError, ValueError):
            raise ApiError.invalid(location="params.ttl") from None
        if ttl <= 0:
            raise ApiError.invalid(location="params.ttl")
        return min(ttl, MAX_TTL)

    def stop(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ApiError.parse_error()
        channel_id, resource_id = body.get("id"), body.get("resourceId")
        with self._lock:
            channel = self._active.get(str(channel_id))
            if channel is None or channel.resource_id != resource_id:
                raise ApiError(
                    404, "notFound", f"Channel '{channel_id}' not found for project 'kalends'"
                )
            del self._active[channel.id]
            number = self._next_number(channel.id)
        if self._faults.late_notification_after_stop:
            self._schedule(channel, "exists", number)

    # -- changes -----------------------------------------------------------------------------

    def changed(self, calendar_id: str) -> None:
        """A change to the events of ``calendar_id`` (from any thread)."""
        now = self._clock()
        with self._lock:
            due = [c for c in self._active.values()
                   if c.calendar_id == calendar_id and c.expiration > now]  # fmt: skip
            numbered = [(c, self._next_number(c.id)) for c in due]
        for channel, number in numbered:
            self._schedule(channel, "exists", number)

    def _next_number(self, channel_id: str) -> int:
        number = self._numbers.get(channel_id, 1) + self._rng.randint(1, 7)
        self._numbers[channel_id] = number
        return number

    def _schedule(self, channel: Channel, state: str, number: int) -> None:
        self._post_later(functools.partial(self._deliver, replace(channel), state, number))

    async def _deliver(self, channel: Channel, state: str, number: int, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": email.utils.formatdate(channel.expiration, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(number),
            "Content-Length": "0",
            "User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        status: int | None = None
        try:
            async with self._client().post(channel.address, data=b"", headers=headers) as answer:
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = None
        if status is not None and 200 <= status < 300:
            self.sent += 1
        else:
            self.failed += 1
        self.deliveries.append(Delivery(channel.id, state, number, status))


def base64_id(calendar_id: str) -> str:
    """The opaque, stable resourceId of a calendar's events collection."""
    digest = hashlib.sha256(f"events/{calendar_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=").replace("-", "_")
