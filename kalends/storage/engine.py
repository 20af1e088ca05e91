"""Database engines and schema migrations.

SQLite runs in WAL mode with foreign keys on; write transactions start with ``BEGIN IMMEDIATE``
so that two processes never both believe they hold the write lock. PostgreSQL is reached through
psycopg 3.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_storage_engine(url: str, pool_size: int = 10) -> Engine:
    """An engine configured for many request threads (and, on PostgreSQL, many processes)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size * 2,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        parsed, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
    )


@contextmanager
def short_write(engine: Engine) -> Iterator[Connection]:
    """One short write transaction outside the storage's locks (BEGIN IMMEDIATE on SQLite, so
    that it waits for the write lock at its start instead of failing at its first write)."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            yield conn


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate_database(url: str) -> None:
    """Bring the schema at ``url`` to the newest revision (idempotent)."""
    engine = create_storage_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
