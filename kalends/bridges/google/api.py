"""The Calendar API v3 calls the bridge makes, one method per endpoint, over ``JsonApi``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from kalends.bridges.http import ErrorShape, JsonApi, TokenSource

__all__ = ["GOOGLE_API_URL", "GOOGLE_ERRORS", "CalendarApi", "Page"]

GOOGLE_API_URL = "https://www.googleapis.com/calendar/v3/"

Page = dict[str, Any]


def _first_error(body: Any) -> Mapping[str, Any]:
    errors = body["error"].get("errors") or [{}]
    first: Mapping[str, Any] = errors[0]
    return first


def _reason(body: Any) -> str:
    """Google puts the machine-readable reason in error.errors[0].reason."""
    reason = _first_error(body).get("reason", "")
    return str(reason)


def _message(body: Any) -> str:
    return str(body["error"].get("message") or _first_error(body).get("message", ""))


GOOGLE_ERRORS = ErrorShape(
    reason=_reason,
    message=_message,
    rate_limit_reasons=frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}),
)


def _segment(value: str) -> str:
    return quote(value, safe="@.-_~")


class CalendarApi:
    """One Google calendar of one account."""

    def __init__(self, base_url: str, tokens: TokenSource, calendar_id: str, *, name: str) -> None:
        self.api = JsonApi(base_url, tokens, GOOGLE_ERRORS, name=name)
        self.calendar_id = calendar_id
        self._events = f"calendars/{_segment(calendar_id)}/events"

    async def aclose(self) -> None:
        await self.api.aclose()

    async def list_events(self, params: Mapping[str, str | int]) -> Page:
        page: Page = await self.api.call("GET", self._events, params=params)
        return page

    async def series_by_uid(self, ical_uid: str) -> list[dict[str, Any]]:
        """Every resource with this iCalUID: the master and its exceptions, cancelled ones too."""
        items: list[dict[str, Any]] = []
        params: dict[str, str | int] = {
            "iCalUID": ical_uid,
            "showDeleted": "true",
            "singleEvents": "false",
            "maxResults": 2500,
        }
        while True:
            page = await self.list_events(params)
            items.extend(page.get("items", []))
            token = page.get("nextPageToken")
            if not token:
                return items
            params["pageToken"] = token

    async def get(self, event_id: str) -> dict[str, Any]:
        event: dict[str, Any] = await self.api.call("GET", f"{self._events}/{_segment(event_id)}")
        return event

    async def insert(self, body: Mapping[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = await self.api.call(
            "POST", self._events, params={"sendUpdates": "none"}, body=body
        )
        return event

    async def import_event(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store an event keyed on its iCalUID: an existing one (even a deleted one) is
        updated in place, none is created twice."""
        event: dict[str, Any] = await self.api.call("POST", f"{self._events}/import", body=body)
        return event

    async def update(
        self, event_id: str, body: Mapping[str, Any], if_match: str | None
    ) -> dict[str, Any]:
        headers = {"If-Match": if_match} if if_match else None
        event: dict[str, Any] = await self.api.call(
            "PUT",
            f"{self._events}/{_segment(event_id)}",
            params={"sendUpdates": "none"},
            body=body,
            headers=headers,
        )
        return event

    async def delete(self, event_id: str, if_match: str | None) -> None:
        headers = {"If-Match": if_match} if if_match else None
        await self.api.call(
            "DELETE",
            f"{self._events}/{_segment(event_id)}",
            params={"sendUpdates": "none"},
            headers=headers,
        )

    async def instance_at(self, event_id: str, original_start: str) -> dict[str, Any] | None:
        """The occurrence of a series that originally started at ``original_start`` (RFC 3339)."""
        page: Page = await self.api.call(
            "GET",
            f"{self._events}/{_segment(event_id)}/instances",
            params={"originalStart": original_start, "showDeleted": "true"},
        )
        items: list[dict[str, Any]] = page.get("items", [])
        return items[0] if items else None

    async def watch(self, body: Mapping[str, Any]) -> dict[str, Any]:
        channel: dict[str, Any] = await self.api.call("POST", f"{self._events}/watch", body=body)
        return channel

    async def stop_channel(self, channel_id: str, resource_id: str) -> None:
        body = {"id": channel_id, "resourceId": resource_id}
        await self.api.call("POST", "channels/stop", body=body)
