"""Writing a series' changed occurrences to Google after its master.

An overridden instance (a VEVENT with RECURRENCE-ID) becomes the Google instance with that
``originalStartTime``, updated in place; an occurrence that was overridden in Google but is
plain again in the new version is put back to the series' own values; one newly excluded
(EXDATE) is deleted, which Google records as a cancelled instance.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from kalends.bridges.base import NotFound, Unsupported
from kalends.bridges.google.api import CalendarApi
from kalends.bridges.google.mapping import GoogleDraft, instance_key
from kalends.bridges.http import Gone

__all__ = ["write_overrides"]

Resource = Mapping[str, Any]


async def write_overrides(
    api: CalendarApi, master: Resource, draft: GoogleDraft, exceptions: Sequence[Resource]
) -> None:
    sid = str(master["id"])
    existing = {instance_key(e["originalStartTime"]): e for e in exceptions}
    for key, body in draft.overrides.items():
        have = existing.get(key)
        if have is not None and have.get("status") != "cancelled" and _holds(have, body):
            continue
        target = have if have is not None else await _instance(api, sid, body, key)
        await api.update(str(target["id"]), body, None)
    for key, have in existing.items():
        if key in draft.overrides or have.get("status") == "cancelled":
            continue
        if key in draft.cancelled:
            await _cancel(api, str(have["id"]))
        else:
            await api.update(str(have["id"]), _plain_occurrence(draft.master, have), None)


def _holds(have: Resource, body: Mapping[str, Any]) -> bool:
    """Whether Google's instance already says everything the override says."""
    return all(have.get(name) == value for name, value in body.items())


async def _instance(api: CalendarApi, sid: str, body: Mapping[str, Any], key: str) -> Resource:
    original = body["originalStartTime"]
    moment = str(original.get("dateTime") or original.get("date"))
    found = await api.instance_at(sid, moment)
    if found is None:
        raise Unsupported(f"the overridden instance {key} is not an occurrence of its series")
    return found


async def _cancel(api: CalendarApi, instance_id: str) -> None:
    with contextlib.suppress(NotFound, Gone):  # cancelled already
        await api.delete(instance_id, None)


def _plain_occurrence(master: Mapping[str, Any], instance: Resource) -> dict[str, Any]:
    """The series' own values at this occurrence's original time."""
    body = {name: value for name, value in master.items() if name != "recurrence"}
    original = instance["originalStartTime"]
    body["start"] = dict(original)
    body["end"] = _end_for(master, original)
    return body


def _end_for(master: Mapping[str, Any], original: Mapping[str, Any]) -> dict[str, Any]:
    start, end = master["start"], master["end"]
    if "date" in original:
        length = date.fromisoformat(end["date"]) - date.fromisoformat(start["date"])
        return {"date": (date.fromisoformat(original["date"]) + length).isoformat()}
    length = _moment(end["dateTime"]) - _moment(start["dateTime"])
    moved = (_moment(original["dateTime"]) + length).isoformat()
    zone = original.get("timeZone") or end.get("timeZone")
    return {"dateTime": moved, **({"timeZone": zone} if zone else {})}


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
