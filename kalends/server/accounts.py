"""Inside ``kalends serve``: following the calendars of the accounts that source entries with
``calendars = ...`` stand for, so a calendar made, shared or removed at the provider appears
or goes without a restart."""

from __future__ import annotations

import asyncio
import logging

from kalends.config import Settings
from kalends.server.provision import provision_calendars
from kalends.storage import Storage
from kalends.sync.accounts import list_interval
from kalends.sync.discovery import resolve_accounts
from kalends.sync.scheduler import Scheduler
from kalends.sync.sources import Shared, stop_channels_of_removed_sources

__all__ = ["follow_accounts"]

logger = logging.getLogger(__name__)


async def follow_accounts(
    declared: Settings, running: Settings, storage: Storage, scheduler: Scheduler, shared: Shared
) -> None:
    """Every ``calendar_list_interval`` seconds, ask the accounts again; when their calendars
    changed, stop the sources gone, provision the calendars, start the new sources.
    ``declared``: the admin file's settings; ``running``: their expansion at start."""
    every = list_interval(declared)
    if every is None:
        return
    while True:
        await asyncio.sleep(every)
        try:
            running = await _follow_once(declared, running, storage, scheduler, shared)
        except Exception:  # the next asking may go better; the sources keep syncing
            logger.exception("following the accounts' calendars failed")


async def _follow_once(
    declared: Settings, running: Settings, storage: Storage, scheduler: Scheduler, shared: Shared
) -> Settings:
    expanded = (await resolve_accounts(declared, storage.transactions.engine, shared)).settings
    if dict(expanded.sources) == dict(running.sources):
        return running
    dropped = await scheduler.drop_missing(expanded)
    await asyncio.to_thread(provision_calendars, storage, expanded)
    added = scheduler.add_new(expanded, shared)
    await stop_channels_of_removed_sources(shared, expanded)
    logger.info(
        "the accounts' calendars changed: stopped %s; started %s",
        ", ".join(dropped) or "none",
        ", ".join(added) or "none",
    )
    return expanded
