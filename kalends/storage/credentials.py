"""Each source's credentials (tokens, passwords), sealed with the installation's secret key.

A row holds one source's secrets as a JSON object sealed with ``associated=source``: a row copied
onto another source does not open. A row that does not open raises SealedSecretError; it is never
read as "no credentials".
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from kalends.security.secrets import SealedSecretError, SecretBox
from kalends.storage.engine import is_sqlite, short_write
from kalends.storage.models import credentials

__all__ = ["CredentialStore"]


class CredentialStore:
    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    def put(self, source: str, secrets: Mapping[str, str]) -> None:
        """Store (or replace) the credentials of ``source``."""
        values = dict(secrets)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            raise TypeError("credentials are a mapping of strings to strings")
        text = json.dumps(values, separators=(",", ":"), sort_keys=True)
        row = {
            "source": source,
            "sealed": self._box.seal(text.encode(), source),
            "updated_at": time.time(),
        }
        dialect = sqlite if is_sqlite(self._engine) else postgresql
        statement = dialect.insert(credentials).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[credentials.c.source],
            set_={"sealed": statement.excluded.sealed, "updated_at": statement.excluded.updated_at},
        )
        with short_write(self._engine) as conn:
            conn.execute(statement)

    def get(self, source: str) -> dict[str, str] | None:
        """The credentials of ``source``, None when there are none; SealedSecretError when the
        stored row does not open with this key."""
        query = select(credentials.c.sealed).where(credentials.c.source == source)
        with self._engine.connect() as conn:
            sealed = conn.execute(query).scalar_one_or_none()
        if sealed is None:
            return None
        return _secrets(self._box.open(sealed, source), source)

    def delete(self, source: str) -> None:
        with short_write(self._engine) as conn:
            conn.execute(delete(credentials).where(credentials.c.source == source))

    def sources(self) -> list[str]:
        query = select(credentials.c.source).order_by(credentials.c.source)
        with self._engine.connect() as conn:
            return list(conn.execute(query).scalars())


def _secrets(plaintext: bytes, source: str) -> dict[str, str]:
    try:
        data = json.loads(plaintext)
    except ValueError:
        raise SealedSecretError(f"the credentials of {source!r} are not JSON") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise SealedSecretError(f"the credentials of {source!r} are not a map of strings")
    return data
