"""Asking providers which calendars a multi-calendar source entry stands for (the I/O around
:mod:`kalends.sync.accounts`), and remembering the answer in the database."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Collection, Sequence
from types import MappingProxyType

from sqlalchemy import Engine, delete, insert, select

from kalends.bridges.accounts import AccountCalendar, CalendarLister
from kalends.bridges.base import BridgeError, SourceOptionError
from kalends.config import Settings, SourceSettings
from kalends.storage.engine import short_write
from kalends.storage.models import account_calendars
from kalends.sync.accounts import ENTRY_OPTIONS, Expansion, KnownCalendar, account_entries, expand
from kalends.sync.sources import ENGINE_OPTIONS, Shared

__all__ = ["SqlAccountMemory", "resolve_accounts"]

logger = logging.getLogger(__name__)

_LISTERS = {
    "google": "kalends.bridges.google.calendars",
    "outlook": "kalends.bridges.outlook.calendars",
}
LIST_TIMEOUT = 30.0  # seconds a provider gets to list an account's calendars at start


class SqlAccountMemory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load(self) -> list[KnownCalendar]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(account_calendars)).all()
        return [
            KnownCalendar(r.entry, r.calendar_id, r.source, r.title, r.writable, r.is_primary)
            for r in rows
        ]

    def save(self, entries: Collection[str], known: Sequence[KnownCalendar]) -> None:
        """Replace everything remembered by what ``entries`` (the file's entries) expand to."""
        rows = [
            {
                "entry": k.entry,
                "calendar_id": k.calendar_id,
                "source": k.source,
                "title": k.title,
                "writable": k.writable,
                "is_primary": k.primary,
            }
            for k in known
            if k.entry in entries
        ]
        with short_write(self._engine) as conn:
            conn.execute(delete(account_calendars))
            if rows:
                conn.execute(insert(account_calendars), rows)


def defaults() -> dict[str, str]:
    """Per provider type, the ``calendar`` value meaning the account's own calendar."""
    return {kind: importlib.import_module(name).DEFAULT_CALENDAR for kind, name in _LISTERS.items()}


async def resolve_accounts(
    settings: Settings, engine: Engine, shared: Shared | None = None, *, ask: bool = True
) -> Expansion:
    """The settings with every multi-calendar entry replaced by a source per calendar (and
    what was left out, also logged). With ``ask`` false (or no credentials in ``shared``) no
    provider is asked: the calendars known from before stand."""
    entries = account_entries(settings)
    if not entries:
        return Expansion(settings, (), ())
    memory = SqlAccountMemory(engine)
    known = await asyncio.to_thread(memory.load)
    listed: dict[str, Sequence[AccountCalendar] | None] = {}
    if ask and shared is not None and shared.vault is not None:
        answers = await asyncio.gather(*(_ask(settings, entry, shared) for entry in entries))
        listed = {entry.name: answer for entry, answer in zip(entries, answers, strict=True)}
    expansion = expand(settings, listed, known, defaults())
    for problem in expansion.problems:
        logger.error("%s", problem)
    if set(expansion.known) != set(known):
        await asyncio.to_thread(memory.save, {e.name for e in entries}, expansion.known)
    return expansion


async def _ask(
    settings: Settings, entry: SourceSettings, shared: Shared
) -> list[AccountCalendar] | None:
    module = _LISTERS.get(entry.type)
    if module is None:
        return None  # expand() says why such an entry is left out
    lister: CalendarLister = importlib.import_module(module).list_calendars
    skipped = ENGINE_OPTIONS | ENTRY_OPTIONS
    options = MappingProxyType({k: v for k, v in entry.options.items() if k not in skipped})
    context = shared.context(entry.name, settings.server.data_dir)
    try:
        return await asyncio.wait_for(lister(options, context), LIST_TIMEOUT)
    except (BridgeError, SourceOptionError, TimeoutError) as error:
        why = str(error) or "no answer in time"
        logger.warning(
            "source %s: could not list the account's calendars (%s); using those known before",
            entry.name,
            why,
        )
        return None
