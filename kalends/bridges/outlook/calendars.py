"""The calendars of a Microsoft account (``/me/calendars``), for a source entry naming several."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kalends.bridges.accounts import AccountCalendar
from kalends.bridges.context import SourceContext
from kalends.bridges.http import JsonApi
from kalends.bridges.outlook.api import GRAPH_ERRORS
from kalends.bridges.outlook.options import DEFAULT_CALENDAR, account_tokens, read_options

__all__ = ["DEFAULT_CALENDAR", "list_calendars"]


async def list_calendars(
    options: Mapping[str, object], context: SourceContext
) -> list[AccountCalendar]:
    """Every calendar of the mailbox (its own and those shared with it), in Graph's order."""
    chosen = read_options(options, context.name)
    api = JsonApi(
        chosen.graph_url, account_tokens(chosen, context), GRAPH_ERRORS,
        name=f"outlook {context.name}", verify=chosen.ca_file or True,
    )  # fmt: skip
    try:
        found = await _calendars(api)
    finally:
        await api.aclose()
    return [_calendar(resource) for resource in found]


async def _calendars(api: JsonApi) -> list[dict[str, Any]]:
    params = {"$select": "id,name,canEdit,isDefaultCalendar"}
    page = await api.call("GET", "me/calendars", params=params)
    found: list[dict[str, Any]] = list(page.get("value", []))
    while page.get("@odata.nextLink"):
        page = await api.call("GET", str(page["@odata.nextLink"]))
        found.extend(page.get("value", []))
    return found


def _calendar(resource: Mapping[str, Any]) -> AccountCalendar:
    primary = bool(resource.get("isDefaultCalendar"))
    return AccountCalendar(
        calendar_id=DEFAULT_CALENDAR if primary else str(resource["id"]),
        title=str(resource.get("name") or resource["id"]),
        writable=bool(resource.get("canEdit", True)),
        primary=primary,
    )
