"""Transactions and locking for the storage plugin.

Radicale calls the storage synchronously from request threads and brackets every check-then-act
sequence (If-Match, UID conflicts, MKCALENDAR) with ``acquire_lock("w")``. Here that lock is one
database transaction on a connection bound to the calling thread:

- SQLite: an in-process mutex plus ``BEGIN IMMEDIATE`` (other processes wait on the file lock);
- PostgreSQL: ``pg_advisory_xact_lock`` keyed on the owner of the path, so writers of different
  users never wait for each other, and several server processes stay correct.

Storage methods called inside the lock use that transaction; calls outside it (Radicale evaluates
PROPFIND properties and report filters after releasing the lock) run in short transactions of
their own.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, func, select

from kalends.storage.engine import is_sqlite

ORIGIN_KEY = "kalends_origin"  # conn.info key read by kalends.storage.writes


def _advisory_key(owner: str) -> int:
    digest = hashlib.sha256(owner.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Transactions:
    """Per-thread write transactions over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._sqlite_writer = threading.Lock() if is_sqlite(engine) else None

    @property
    def _current(self) -> Connection | None:
        conn: Connection | None = getattr(self._local, "conn", None)
        return conn

    @contextmanager
    def write(self, owner: str, origin: str | None = None) -> Iterator[Connection]:
        """The write lock: one transaction, serialised with every other writer of ``owner``.

        Inside an open write transaction this is a savepoint, so each storage operation is atomic.
        ``origin`` names the source whose sync engine writes: its changes are not queued back to
        it (see ``writes.ORIGIN_KEY``).
        """
        current = self._current
        if current is not None:
            # Nested in the request's lock: a failed operation must not leave half its writes
            # behind when Radicale turns the error into a 4xx and the lock commits.
            with current.begin_nested():
                yield current
            return
        with self._writer_mutex(), self.engine.connect() as conn:
            if self._sqlite_writer is not None:
                conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                if self._sqlite_writer is None:
                    conn.execute(select(func.pg_advisory_xact_lock(_advisory_key(owner))))
                self._local.conn = conn
                conn.info[ORIGIN_KEY] = origin
                try:
                    yield conn
                finally:
                    self._local.conn = None
                    conn.info.pop(ORIGIN_KEY, None)

    @contextmanager
    def _writer_mutex(self) -> Iterator[None]:
        if self._sqlite_writer is None:
            yield
            return
        with self._sqlite_writer:
            yield

    @contextmanager
    def read(self, snapshot: bool = False) -> Iterator[Connection]:
        """The current write transaction, or a short read transaction of its own.

        ``snapshot``: every statement sees the same database state (an answer built from
        several queries). SQLite's read transactions always do; PostgreSQL's need REPEATABLE
        READ.
        """
        current = self._current
        if current is not None:
            yield current
            return
        with self.engine.connect() as conn:
            if snapshot and self._sqlite_writer is None:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @property
    def in_write(self) -> bool:
        return self._current is not None

    @property
    def current(self) -> Connection | None:
        """The calling thread's write transaction, if one is open."""
        return self._current
