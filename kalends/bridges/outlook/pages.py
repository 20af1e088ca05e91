"""The pages of an Outlook delta listing, each read with the occurrences of the series it
sends whole, the next one read ahead while the engine takes in the last one.

A full listing is a long exchange of small steps: Graph renders a page, Kalends turns it into
calendar objects. Reading page n + 1 (and the ``/instances`` of its series, in batch requests)
while page n is turned into iCalendar lets the two sides work at once instead of in turn. A page
read ahead is only used when the engine asks for exactly that link; a failed or unused one is
read again, so retries see what they would have seen without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kalends.bridges.base import InvalidCursor
from kalends.bridges.http import ApiFailure, Gone
from kalends.bridges.outlook.api import GraphApi

__all__ = ["Page", "Pages", "listed_series"]

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class Page:
    body: dict[str, Any]
    occurrences: dict[str, list[dict[str, Any]]]  # series master id -> occurrences in the window


def listed_series(items: list[Resource]) -> list[str]:
    """The series masters a page sends whole (a full listing sends every master so)."""
    return [
        str(item["id"])
        for item in items
        if item.get("type") == "seriesMaster" and "subject" in item and "@removed" not in item
    ]


class Pages:
    """The delta pages of one calendar over the window [start, end)."""

    def __init__(self, api: GraphApi, start: str, end: str) -> None:
        self.api = api
        self.start = start
        self.end = end
        self._ahead: tuple[str, asyncio.Future[Page]] | None = None  # (link, its read)

    async def read(self, cursor: str | None, link: str | None) -> Page:
        """The page at ``link`` (read ahead, when it was), else the first page of the round
        after ``cursor``, or of a new listing; InvalidCursor when Graph wants a new one."""
        ahead, self._ahead = self._ahead, None
        if (
            ahead is not None
            and ahead[0] == link
            and ahead[1].get_loop() is asyncio.get_running_loop()
        ):
            return await ahead[1]
        _forget(ahead)
        return await self._read(cursor, link)

    def read_ahead(self, cursor: str | None, link: str) -> None:
        _forget(self._ahead)
        self._ahead = (link, asyncio.ensure_future(self._read(cursor, link)))

    def drop(self) -> None:
        """Forget a page read ahead (the listing stopped, or goes another way)."""
        _forget(self._ahead)
        self._ahead = None

    async def _read(self, cursor: str | None, link: str | None) -> Page:
        try:
            known = link or cursor
            if known is not None:
                body = await self.api.follow(known)
            else:
                body = await self.api.delta(self.start, self.end)
        except (Gone, ApiFailure) as error:
            if cursor is not None and _is_reset(error):
                raise InvalidCursor(f"Graph asks for a new delta listing ({error})") from None
            raise
        series = listed_series(body.get("value", []))
        found = await self.api.instances_of(series, self.start, self.end)
        return Page(body, dict(zip(series, found, strict=True)))


def _forget(ahead: tuple[str, asyncio.Future[Page]] | None) -> None:
    if ahead is None:
        return
    reading = ahead[1]
    if not reading.done():
        reading.cancel()
    elif not reading.cancelled():
        reading.exception()  # seen (it is read again if asked for), not logged as lost


def _is_reset(error: Exception) -> bool:
    if isinstance(error, Gone):
        return True
    return isinstance(error, ApiFailure) and error.reason.lower() in (
        "syncstatenotfound", "syncstateinvalid", "resyncrequired",
    )  # fmt: skip
