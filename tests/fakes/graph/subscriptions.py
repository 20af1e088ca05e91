"""Change notifications: subscriptions on a calendar's events, their handshake and deliveries.

Creating a subscription first POSTs ``notificationUrl?validationToken=...`` (and the lifecycle
URL): the receiver must answer 200, ``text/plain``, the decoded token, within 10 s, else the
creation fails 400. Each change to the events of the watched calendar then POSTs
``{"value": [notification]}`` from a task on the fake's event loop (no request and no control-API
call ever waits for a webhook); a refused delivery is tried again a few times with a short,
doubling backoff. Lifecycle notifications are sent when the test asks for them.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from tests.fakes.common import Notifier
from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.faults import Faults
from tests.fakes.graph.store import Change, Owner, Store
from tests.fakes.graph.zones import format_stamp

__all__ = ["Delivery", "Subscription", "Subscriptions"]

DELIVERY_TIMEOUT = 10.0  # seconds a notification POST may take
MAX_MINUTES = 10080  # Outlook event subscriptions without resource data (7 days)
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
VALIDATION_FAILED = (
    "Subscription validation request failed. Notification endpoint must "
    "respond with 200 OK to validation request."
)
MISMATCH = (
    "Subscription validation request failed. Response must exactly match "
    "validationToken query parameter."
)


@dataclass(frozen=True)
class Subscription:
    id: str
    resource: str
    change_type: str
    notification_url: str
    lifecycle_url: str | None
    expiration: float  # epoch seconds
    client_state: str | None
    calendar_id: str
    application_id: str | None
    immutable: bool  # created with Prefer: IdType="ImmutableId"

    def resource_body(self, creator: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": format_stamp(self.expiration),
            "creatorId": creator,
            "includeResourceData": None,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


@dataclass(frozen=True)
class Delivery:
    subscription_id: str
    kind: str  # "validation", "notification" or "lifecycle"
    body: Any  # what was POSTed (the validation token for a handshake)
    status: int | None  # the receiver's answer; None when it could not be reached
    attempt: int


class Subscriptions(Notifier[Subscription, Delivery]):
    """Subscriptions by id; ``sent`` counts notifications answered 2xx (not handshakes nor
    lifecycle notifications), ``failed`` those given up after their retries."""

    def __init__(self, clock: Callable[[], float], store: Store, faults: Faults) -> None:
        super().__init__(clock, faults, DELIVERY_TIMEOUT)
        self._store = store
        self._faults = faults

    @property
    def owner(self) -> Owner:
        return self._store.owner

    def get(self, sid: str) -> Subscription:
        with self._lock:
            found = self._active.get(sid)
        if found is None or found.expiration <= self._clock():
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        return found

    # -- the API -----------------------------------------------------------------------------

    def _calendar_of(self, resource: str) -> str:
        parts = resource.strip("/").split("/")
        lowered = [p.lower() for p in parts]
        if lowered[:1] == ["users"] and len(parts) > 1:
            if lowered[1] not in (self.owner.oid.lower(), self.owner.address.lower()):
                raise GraphError.extension(f"Unsupported resource: '{resource}'.")
            parts, lowered = ["me", *parts[2:]], ["me", *lowered[2:]]
        if lowered in (["me", "events"], ["me", "calendar", "events"]):
            return self._store.default_calendar_id
        if len(parts) == 4 and lowered[:2] == ["me", "calendars"] and lowered[3] == "events":
            with self._store.lock:
                return self._store.calendar(parts[2]).id
        raise GraphError.extension(f"Unsupported resource: '{resource}'.")

    def _expiration(self, body: dict[str, Any], operation: str) -> float:
        text = body.get("expirationDateTime")
        try:
            moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            raise GraphError.extension("expirationDateTime is not valid.", operation) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        when, now = moment.timestamp(), self._clock()
        if when <= now:
            raise GraphError.extension(
                "Subscription expiration can only be in the future.", operation
            )
        if when > now + MAX_MINUTES * 60:
            raise GraphError.extension(
                f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.",
                operation,
            )
        return when

    async def create(self, body: Any, client_id: str | None, immutable: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise GraphError.invalid_body("The request body must be a JSON object.")
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not body.get(name):
                raise GraphError(400, "InvalidRequest", f"Property '{name}' is required.")
        kinds = {k.strip() for k in str(body["changeType"]).split(",")}
        if not kinds or not kinds <= CHANGE_TYPES:
            raise GraphError.extension(f"Invalid changeType: '{body['changeType']}'.")
        client_state = body.get("clientState")
        if client_state is not None and (
            not isinstance(client_state, str) or len(client_state) > 128
        ):
            raise GraphError.extension("clientState must be a string of at most 128 characters.")
        urls = [body["notificationUrl"], *filter(None, [body.get("lifecycleNotificationUrl")])]
        for url in urls:
            _check_url(url)
        made = Subscription(
            str(uuid.uuid4()),
            str(body["resource"]),
            ",".join(sorted(kinds)),
            body["notificationUrl"],
            body.get("lifecycleNotificationUrl"),
            self._expiration(body, "Create"),
            client_state,
            self._calendar_of(body["resource"]),
            client_id,
            immutable,
        )
        for url in urls:
            await self._validate(made.id, url)
        with self._lock:
            self._active[made.id] = made
        return made.resource_body(self.owner.oid)

    async def _validate(self, sid: str, url: str) -> None:
        token = (
            "Validation: Testing client application reachability for subscription "
            f"Request-Id: {uuid.uuid4()}"
        )
        glue = "&" if "?" in url else "?"
        timeout = aiohttp.ClientTimeout(total=self._faults.validation_timeout)
        status: int | None = None
        text, kind = "", ""
        try:
            async with self._client().post(
                url + glue + urlencode({"validationToken": token}),
                data=b"",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=timeout,
            ) as answer:
                status, text, kind = answer.status, await answer.text(), answer.content_type
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = None
        self.deliveries.append(Delivery(sid, "validation", token, status, 1))
        if status != 200:
            raise GraphError(400, "InvalidRequest", VALIDATION_FAILED)
        if text != token or kind != "text/plain":
            raise GraphError(400, "InvalidRequest", MISMATCH)

    def renew(self, sid: str, body: Any) -> dict[str, Any]:
        current = self.get(sid)
        if not isinstance(body, dict) or not body.get("expirationDateTime"):
            raise GraphError(400, "InvalidRequest", "Property 'expirationDateTime' is required.")
        renewed = replace(current, expiration=self._expiration(body, "Update"))
        with self._lock:
            self._active[sid] = renewed
        return renewed.resource_body(self.owner.oid)

    def delete(self, sid: str) -> None:
        self.get(sid)
        with self._lock:
            self._active.pop(sid, None)

    # -- deliveries --------------------------------------------------------------------------

    def changed(self, change: Change) -> None:
        """A change to the events of a calendar (from any thread)."""
        now = self._clock()
        with self._lock:
            due = [
                s
                for s in self._active.values()
                if s.calendar_id == change.calendar_id
                and change.change_type in s.change_type.split(",")
                and s.expiration > now
            ]
        for sub in due:
            self._schedule(
                sub, sub.notification_url, self._notification(sub, change, change.change_type)
            )
            if change.change_type != "deleted" and "updated" in sub.change_type:
                for _ in range(self._faults.notification_burst):
                    self._schedule(
                        sub, sub.notification_url, self._notification(sub, change, "updated")
                    )

    def _notification(self, sub: Subscription, change: Change, kind: str) -> dict[str, Any]:
        eid = change.record.any_id(sub.immutable)
        with self._lock:
            upper = self._faults.rng.random() < 0.5
        users, events = ("Users", "Events") if upper else ("users", "events")
        path = f"{users}/{self.owner.oid}/{events}/{eid}"
        data: dict[str, Any] = {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": path}
        if kind != "deleted":
            data["@odata.etag"] = f'W/"{change.record.change_key}"'
        data["id"] = eid
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": _offset_stamp(sub.expiration),
            "changeType": kind,
            "resource": path,
            "resourceData": data,
            "clientState": sub.client_state,
            "tenantId": self.owner.tid,
        }
        return {"value": [item]}

    def lifecycle(self, sid: str, event: str) -> None:
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle events are {sorted(LIFECYCLE_EVENTS)}")
        sub = self.get(sid)
        if sub.lifecycle_url is None:
            raise ValueError(f"subscription {sid} has no lifecycleNotificationUrl")
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": _offset_stamp(sub.expiration),
            "tenantId": self.owner.tid,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
        if event == "subscriptionRemoved":
            with self._lock:
                self._active.pop(sid, None)
        self._schedule(sub, sub.lifecycle_url, {"value": [item]}, "lifecycle")

    def _schedule(self, sub: Subscription, url: str, body: Any, kind: str = "notification") -> None:
        self._post_later(functools.partial(self._deliver, sub.id, url, body, kind))

    async def _deliver(self, sid: str, url: str, body: Any, kind: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        backoff = self._faults.retry_backoff
        for attempt in range(1, self._faults.notification_retries + 2):
            status: int | None = None
            try:
                async with self._client().post(
                    url, data=json.dumps(body), headers={"Content-Type": "application/json"}
                ) as answer:
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError, OSError):
                status = None
            self.deliveries.append(Delivery(sid, kind, body, status, attempt))
            if status is not None and 200 <= status < 300:
                if kind == "notification":
                    self.sent += 1
                return
            await asyncio.sleep(backoff)
            backoff *= 2
        self.failed += 1


def _check_url(url: Any) -> None:
    parts = urlsplit(str(url))
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise GraphError(400, "InvalidRequest", "The Notification Url must be HTTPS.")


def _offset_stamp(seconds: float) -> str:
    return format_stamp(seconds)[:-1] + "+00:00"
