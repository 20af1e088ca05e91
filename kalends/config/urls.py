"""Database URL checks: make the configured URL final, and hide its password."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["database_url", "mask_password"]

_SQLITE = "sqlite:///"
_PSYCOPG = "postgresql+psycopg://"
_POSTGRES = "postgresql://"
# Same user/password split as SQLAlchemy's make_url: the password runs up to the first "@".
_CREDENTIALS = re.compile(r"^(?P<head>[\w+.-]+://[^:/@]*):[^@]*@")


def database_url(value: str, data_dir: Path) -> str:
    """Return the final URL for ``value``, or raise ValueError saying what is wrong.

    Relative SQLite paths are resolved against ``data_dir``; ``postgresql://`` becomes
    ``postgresql+psycopg://`` so that SQLAlchemy picks the installed driver.
    """
    if value.startswith(_SQLITE):
        return _sqlite_url(value.removeprefix(_SQLITE), data_dir)
    if value.startswith(_POSTGRES):
        value = _PSYCOPG + value.removeprefix(_POSTGRES)
    if value.startswith(_PSYCOPG):
        if value == _PSYCOPG:
            raise ValueError("expected a PostgreSQL URL naming a server or a database")
        return value
    raise ValueError(
        "expected a URL starting with sqlite:///, postgresql:// or postgresql+psycopg://"
    )


def mask_password(url: str) -> str:
    """Replace the password of ``url``, if any, with ``***``."""
    return _CREDENTIALS.sub(r"\g<head>:***@", url, count=1)


def _sqlite_url(rest: str, data_dir: Path) -> str:
    path, query_mark, query = rest.partition("?")
    if not path or path == ":memory:":
        raise ValueError("expected the path of a database file after sqlite:///")
    absolute = Path(os.path.abspath(data_dir / path))
    return f"{_SQLITE}{absolute.as_posix()}{query_mark}{query}"
