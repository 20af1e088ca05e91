"""The calendars of a Google account (calendarList), for a source entry naming several."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kalends.bridges.accounts import AccountCalendar
from kalends.bridges.context import SourceContext
from kalends.bridges.google.api import GOOGLE_ERRORS
from kalends.bridges.google.options import DEFAULT_CALENDAR, account_tokens, read_options
from kalends.bridges.http import JsonApi

__all__ = ["DEFAULT_CALENDAR", "list_calendars"]

_WRITERS = frozenset({"owner", "writer"})  # "reader" and "freeBusyReader" may only read


async def list_calendars(
    options: Mapping[str, object], context: SourceContext
) -> list[AccountCalendar]:
    """Every calendar in the account's list (hidden ones too), in Google's order."""
    chosen = read_options(options, context.name)
    api = JsonApi(
        chosen.api_url,
        account_tokens(chosen, context),
        GOOGLE_ERRORS,
        name=f"google {context.name}",
    )
    try:
        entries = await _entries(api)
    finally:
        await api.aclose()
    return [_calendar(entry) for entry in entries if not entry.get("deleted")]


async def _entries(api: JsonApi) -> list[dict[str, Any]]:
    params: dict[str, str | int] = {"maxResults": 250, "showHidden": "true"}
    entries: list[dict[str, Any]] = []
    while True:
        page = await api.call("GET", "users/me/calendarList", params=params)
        entries.extend(page.get("items", []))
        token = page.get("nextPageToken")
        if not token:
            return entries
        params = {**params, "pageToken": str(token)}


def _calendar(entry: Mapping[str, Any]) -> AccountCalendar:
    primary = bool(entry.get("primary"))
    return AccountCalendar(
        calendar_id=DEFAULT_CALENDAR if primary else str(entry["id"]),
        title=str(entry.get("summaryOverride") or entry.get("summary") or entry["id"]),
        writable=entry.get("accessRole") in _WRITERS,
        primary=primary,
    )
