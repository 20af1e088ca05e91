"""What ``kalends sync``, ``status``, ``conflicts`` and ``undo`` do; the CLI only parses.

Each function takes the settings, does its work against the database, and returns the lines to
print. Errors a user can act on are raised as ``SyncCommandError`` with the reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from kalends.bridges.base import SourceOptionError
from kalends.config import Settings
from kalends.security.secrets import SecretKeyError
from kalends.storage.base import Transactions
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.storage.models import collections, journal, outbox, sync_runs, sync_sources
from kalends.sync.accounts import ENTRY_OPTIONS
from kalends.sync.discovery import resolve_accounts
from kalends.sync.executor import Report, Round
from kalends.sync.sources import ENGINE_OPTIONS, open_shared, open_source
from kalends.sync.sqlstore import SourceNotProvisioned
from kalends.sync.undo import UndoError, undo_run


class SyncCommandError(Exception):
    pass


@contextmanager
def _database(settings: Settings) -> Iterator[Transactions]:
    migrate_database(settings.storage.url)
    engine = create_storage_engine(settings.storage.url, pool_size=2)
    try:
        yield Transactions(engine)
    finally:
        engine.dispose()


def _provision(settings: Settings) -> None:
    """Create the source collections if the server never ran (same code as at start)."""
    from kalends.server.provision import provision_calendars
    from kalends.server.radicale_config import build_radicale_configuration
    from kalends.storage import Storage

    engine = create_storage_engine(settings.storage.url, pool_size=1)
    try:
        configuration = build_radicale_configuration(settings, engine)
        provision_calendars(Storage(configuration, engine), settings)
    finally:
        engine.dispose()


def sync(settings: Settings, source: str | None, dry_run: bool, confirm: str | None) -> list[str]:
    with _database(settings) as transactions:
        expanded, lines = _expanded(settings, transactions, ask=True)
        names = _chosen(expanded, confirm or source)
        if not names:
            return ["no sources in the admin file"]
        _provision(expanded)
        for name in names:
            report = asyncio.run(_one_round(expanded, name, transactions, dry_run, bool(confirm)))
            lines.extend(describe(name, report))
    return lines


def _expanded(
    settings: Settings, transactions: Transactions, *, ask: bool
) -> tuple[Settings, list[str]]:
    """The settings with each entry naming several calendars expanded (the provider is asked
    which calendars there are when ``ask``; else those known from before stand), and lines
    telling what was left out."""
    try:
        shared = open_shared(settings, transactions.engine) if ask else None
    except SecretKeyError as error:
        raise SyncCommandError(str(error)) from None
    expansion = asyncio.run(resolve_accounts(settings, transactions.engine, shared, ask=ask))
    return expansion.settings, [f"error: {problem}" for problem in expansion.problems]


def _chosen(settings: Settings, name: str | None) -> list[str]:
    """Every source, or the one named, or the calendars of the entry named."""
    if name is None:
        return list(settings.sources)
    if name in settings.sources:
        return [name]
    children = [child.name for child in settings.sources.values() if child.entry == name]
    if not children:
        raise SyncCommandError(f"no source named {name!r} in the admin file")
    return children


async def _one_round(
    settings: Settings, name: str, transactions: Transactions, dry_run: bool, confirmed: bool
) -> Report:
    try:
        shared = open_shared(settings, transactions.engine)
        parts = open_source(settings, name, transactions, shared)
    except (SourceOptionError, SourceNotProvisioned, SecretKeyError) as error:
        raise SyncCommandError(str(error)) from None
    try:
        return await Round(parts.bridge, parts.store, parts.policy).run(confirmed, dry_run)
    finally:
        await parts.bridge.aclose()


def auth(
    settings: Settings,
    name: str,
    open_url: Callable[[str], None],
    show: Callable[[str], None] = print,
) -> list[str]:
    """``kalends auth SOURCE``: the provider's sign-in, its grant stored encrypted. Google's is
    a browser sign-in (``open_url``), Microsoft's a device code (``show`` tells where to go)."""
    source = settings.sources.get(name)
    if source is None:  # one calendar of an entry naming several signs in for its account
        with _database(settings) as transactions:
            source = _expanded(settings, transactions, ask=False)[0].sources.get(name)
    if source is None:
        raise SyncCommandError(f"no source named {name!r} in the admin file")
    if source.type not in ("google", "outlook"):
        raise SyncCommandError(f"source {name!r} ({source.type}) has no sign-in to run")
    from kalends.bridges.base import AuthExpired
    from kalends.bridges.oauth import OAuthError

    skipped = ENGINE_OPTIONS | ENTRY_OPTIONS
    options = {k: v for k, v in source.options.items() if k not in skipped}
    with _database(settings) as transactions:
        try:
            vault = open_shared(settings, transactions.engine).vault
            assert vault is not None
            if source.type == "google":
                from kalends.bridges.google.signin import sign_in_google

                line = asyncio.run(sign_in_google(name, options, vault, open_url))
            else:
                from kalends.bridges.outlook.options import sign_in_outlook

                line = sign_in_outlook(name, options, vault, show)
        except (SourceOptionError, OAuthError, SecretKeyError, AuthExpired) as error:
            raise SyncCommandError(f"source {name!r}: {error}") from None
    return [line, f"the next sync of {name} uses it (kalends status shows the result)"]


def describe(name: str, report: Report) -> list[str]:
    verb = "would" if report.dry_run else "did"
    head = f"{name}: run {report.run_id[:12]}" if not report.dry_run else f"{name}: dry run"
    lines = [head]
    for action in report.actions:
        where = action.href or action.remote_id or action.uid
        extra = f" ({action.detail})" if action.detail else ""
        lines.append(f"  {verb} {action.kind.value} {where}{extra}")
    if not report.actions:
        lines.append("  nothing to do")
    for action, reason in report.failed:
        where = action.href or action.remote_id or action.uid
        lines.append(f"  failed {action.kind.value} {where}: {reason}")
    if report.quarantine:
        lines.append(
            f"  QUARANTINED: {report.quarantine}; deletions held back until "
            f"`kalends sync --confirm {name}`"
        )
    if report.error:
        lines.append(f"  error: {report.error}")
    return lines


def _age(timestamp: float | None, now: float) -> str:
    if timestamp is None:
        return "never"
    seconds = int(now - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def status(settings: Settings) -> list[str]:
    now = time.time()
    with _database(settings) as transactions:
        settings, lines = _expanded(settings, transactions, ask=False)
        return lines + _status_lines(settings, transactions, now)


def _status_lines(settings: Settings, transactions: Transactions, now: float) -> list[str]:
    lines = []
    with transactions.read() as conn:
        rows = {
            row.source: row
            for row in conn.execute(
                select(
                    collections.c.source, collections.c.id, sync_sources.c.last_sync_at,
                    sync_sources.c.cursor_saved_at, sync_sources.c.last_error,
                    sync_sources.c.quarantine,
                )
                .select_from(collections.outerjoin(sync_sources))
                .where(collections.c.kind == "source")
            )
        }  # fmt: skip
        run_ids = {
            row.id: conn.execute(
                select(sync_runs.c.id)
                .where(sync_runs.c.collection_id == row.id)
                .order_by(sync_runs.c.started_at.desc())
                .limit(1)
            ).scalar()
            for row in rows.values()
        }
        backlog: dict[int, int] = dict(
            conn.execute(
                select(outbox.c.collection_id, func.count()).group_by(outbox.c.collection_id)
            ).all()
        )
    for name, source in settings.sources.items():
        row = rows.get(name)
        if row is None:
            lines.append(f"{name} ({source.type}): not started yet")
            continue
        lines.append(
            f"{name} ({source.type}, {source.direction}): last sync {_age(row.last_sync_at, now)}, "
            f"cursor saved {_age(row.cursor_saved_at, now)}, backlog {backlog.get(row.id, 0)}"
        )
        last_run = run_ids.get(row.id)
        if last_run:
            lines.append(f"  last run {last_run[:12]} (kalends undo RUN reverts it)")
        if row.quarantine:
            lines.append(f"  QUARANTINED: {row.quarantine} (kalends sync --confirm {name})")
        if row.last_error and "needs re-auth" in row.last_error:
            account = source.entry or name
            lines.append(f"  NEEDS RE-AUTH: run `kalends auth {account}` (nothing is deleted)")
        if row.last_error:
            lines.append(f"  last error: {row.last_error}")
    return lines or ["no sources in the admin file"]


def conflicts(settings: Settings, limit: int = 50) -> list[str]:
    with _database(settings) as transactions, transactions.read() as conn:
        rows = conn.execute(
            select(journal, collections.c.source)
            .join(collections, collections.c.id == journal.c.collection_id)
            .where(journal.c.conflict.is_(True))
            .order_by(journal.c.id.desc())
            .limit(limit)
        ).all()
    if not rows:
        return ["no conflicts"]
    lines = []
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created_at))
        lines.append(f"{when} {row.source} {row.href} run {row.run_id[:12]}: {row.detail}")
        lines.append(f"  losing version kept in the journal (entry {row.id})")
    return lines


def undo(settings: Settings, run_id: str) -> list[str]:
    with _database(settings) as transactions:
        with transactions.read() as conn:
            matches = (
                conn.execute(select(sync_runs.c.id).where(sync_runs.c.id.like(f"{run_id}%")))
                .scalars()
                .all()
            )
        if len(matches) != 1:
            reason = "no run" if not matches else "several runs"
            raise SyncCommandError(f"{reason} with id {run_id!r} (see `kalends status`)")
        try:
            return undo_run(transactions, matches[0])
        except UndoError as error:
            raise SyncCommandError(str(error)) from None
