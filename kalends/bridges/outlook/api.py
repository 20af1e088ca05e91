"""The Microsoft Graph v1.0 calls the Outlook bridge makes, over ``JsonApi``.

Every request asks for immutable ids (an event keeps its id when moved between folders), pages
of ``page_size`` and times in UTC; at most four requests run at once, Outlook's limit per
mailbox. The occurrences of many series are read with JSON batch requests (``$batch``, up to
20 calls in one request), each call in it with the same headers as when sent alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from kalends.bridges.http import ErrorShape, JsonApi, TokenSource

__all__ = ["GRAPH_ERRORS", "GRAPH_URL", "GraphApi"]

GRAPH_URL = "https://graph.microsoft.com/v1.0"
MAX_CONCURRENT = 4
BATCH_SIZE = 20  # Graph's limit of calls in one JSON batch request


def _code(body: Any) -> str:
    return str(body["error"].get("code", ""))


def _message(body: Any) -> str:
    return str(body["error"].get("message", ""))


GRAPH_ERRORS = ErrorShape(reason=_code, message=_message)


def _odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class GraphApi:
    """One Outlook calendar of one account (``calendar_id`` empty: the default calendar)."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        calendar_id: str,
        *,
        name: str,
        page_size: int = 100,
        verify: str | bool = True,
        expand_properties: Sequence[str] = (),
    ) -> None:
        prefer = f'IdType="ImmutableId", odata.maxpagesize={page_size}, outlook.timezone="UTC"'
        self._prefer = prefer
        self.api = JsonApi(
            base_url, tokens, GRAPH_ERRORS, name=name, max_concurrency=MAX_CONCURRENT,
            headers={"Prefer": prefer}, verify=verify,
        )  # fmt: skip
        self.calendar_id = calendar_id
        self._calendar = (
            f"me/calendars/{quote(calendar_id, safe='')}" if calendar_id else "me/calendar"
        )
        self._expand = ""
        if expand_properties:
            wanted = " or ".join(f"id eq {_odata_string(p)}" for p in expand_properties)
            self._expand = f"singleValueExtendedProperties($filter={wanted})"

    async def aclose(self) -> None:
        await self.api.aclose()

    def _event(self, event_id: str) -> str:
        """Through the calendar: an event moved to another calendar of the account is not
        this source's any more (Graph answers 404), though its id still resolves."""
        return f"{self._calendar}/events/{quote(event_id, safe='')}"

    def _expanded(self) -> dict[str, str | int]:
        return {"$expand": self._expand} if self._expand else {}

    async def delta(self, start: str, end: str) -> dict[str, Any]:
        """The first page of a new delta listing over [start, end)."""
        params: dict[str, str | int] = {"startDateTime": start, "endDateTime": end}
        page: dict[str, Any] = await self.api.call(
            "GET", f"{self._calendar}/calendarView/delta", params=params
        )
        return page

    async def follow(self, link: str) -> dict[str, Any]:
        """A nextLink or deltaLink, exactly as Graph gave it."""
        page: dict[str, Any] = await self.api.call("GET", link)
        return page

    async def get(self, event_id: str) -> dict[str, Any]:
        event: dict[str, Any] = await self.api.call(
            "GET", self._event(event_id), params=self._expanded()
        )
        return event

    async def instances(self, event_id: str, start: str, end: str) -> list[dict[str, Any]]:
        """Every occurrence of a series in [start, end): plain ones and exceptions."""
        params: dict[str, str | int] = {"startDateTime": start, "endDateTime": end}
        page = await self.api.call("GET", f"{self._event(event_id)}/instances", params=params)
        found: list[dict[str, Any]] = list(page.get("value", []))
        while page.get("@odata.nextLink"):
            page = await self.follow(str(page["@odata.nextLink"]))
            found.extend(page.get("value", []))
        return found

    async def instances_of(
        self, event_ids: Sequence[str], start: str, end: str
    ) -> list[list[dict[str, Any]]]:
        """``instances`` of many series (in their order), read in batches of ``BATCH_SIZE``."""
        groups = [event_ids[n : n + BATCH_SIZE] for n in range(0, len(event_ids), BATCH_SIZE)]
        read = await asyncio.gather(*(self._batch_instances(g, start, end) for g in groups))
        return [found for group in read for found in group]

    async def _batch_instances(
        self, event_ids: Sequence[str], start: str, end: str
    ) -> list[list[dict[str, Any]]]:
        """One batch request. A call that failed in it is made again on its own, so that it
        fails (or succeeds) exactly as ``instances`` does: renewing an expired token, waiting
        out throttling through the engine's retries, a series gone as NotFound."""
        window = urlencode({"startDateTime": start, "endDateTime": end})
        calls = [
            {"id": str(n), "method": "GET", "url": f"/{self._event(event_id)}/instances?{window}",
             "headers": {"Prefer": self._prefer}}
            for n, event_id in enumerate(event_ids)
        ]  # fmt: skip
        answer = await self.api.call("POST", "$batch", body={"requests": calls})
        replies = {str(r.get("id")): r for r in (answer or {}).get("responses", [])}
        found: list[list[dict[str, Any]]] = []
        for n, event_id in enumerate(event_ids):
            reply = replies.get(str(n), {})
            page = reply.get("body")
            if reply.get("status") != 200 or not isinstance(page, dict):
                found.append(await self.instances(event_id, start, end))
                continue
            occurrences = list(page.get("value", []))
            while page.get("@odata.nextLink"):
                page = await self.follow(str(page["@odata.nextLink"]))
                occurrences.extend(page.get("value", []))
            found.append(occurrences)
        return found

    async def properties(self) -> dict[str, list[dict[str, Any]]]:
        """Kalends' extended properties of every single event and series master of the
        calendar, by id (an empty list: none), read in pages of 1,000."""
        params: dict[str, str | int] = {"$select": "id", "$top": 1000, **self._expanded()}
        page = await self.api.call("GET", f"{self._calendar}/events", params=params)
        found: dict[str, list[dict[str, Any]]] = {}
        while True:
            for event in page.get("value", []):
                found[str(event["id"])] = list(event.get("singleValueExtendedProperties", []))
            if not page.get("@odata.nextLink"):
                return found
            page = await self.follow(str(page["@odata.nextLink"]))

    async def find_by_property(self, property_id: str, value: str) -> list[dict[str, Any]]:
        """Singles and series masters of the calendar carrying this extended property value."""
        condition = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq {_odata_string(property_id)} "
            f"and ep/value eq {_odata_string(value)})"
        )
        params: dict[str, str | int] = {"$filter": condition, **self._expanded()}
        page = await self.api.call("GET", f"{self._calendar}/events", params=params)
        return list(page.get("value", []))

    async def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = await self.api.call(
            "POST", f"{self._calendar}/events", body=body, params=self._expanded()
        )
        return event

    async def update(
        self, event_id: str, body: Mapping[str, Any], if_match: str | None
    ) -> dict[str, Any]:
        headers = {"If-Match": if_match} if if_match else None
        event: dict[str, Any] = await self.api.call(
            "PATCH", self._event(event_id), body=body, headers=headers, params=self._expanded()
        )
        return event

    async def delete(self, event_id: str, if_match: str | None) -> None:
        headers = {"If-Match": if_match} if if_match else None
        await self.api.call("DELETE", self._event(event_id), headers=headers)

    async def subscribe(self, body: Mapping[str, Any]) -> dict[str, Any]:
        made: dict[str, Any] = await self.api.call("POST", "subscriptions", body=body)
        return made

    async def renew(self, subscription_id: str, expiration: str) -> dict[str, Any]:
        body = {"expirationDateTime": expiration}
        made: dict[str, Any] = await self.api.call(
            "PATCH", f"subscriptions/{quote(subscription_id, safe='')}", body=body
        )
        return made

    async def unsubscribe(self, subscription_id: str) -> None:
        await self.api.call("DELETE", f"subscriptions/{quote(subscription_id, safe='')}")

    @property
    def resource(self) -> str:
        """What a subscription to this calendar's events names (a resource path, not a URL:
        the id goes in as it is)."""
        return f"me/calendars/{self.calendar_id}/events" if self.calendar_id else "me/events"
