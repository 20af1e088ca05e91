"""The storage plugin: Radicale's storage API over SQLAlchemy (SQLite or PostgreSQL).

Configure Radicale with ``[storage] type = kalends.storage`` (and optionally ``database_url``),
or hand a ``Storage`` bound to an engine to Radicale as a callable, as ``kalends serve`` does.
"""

from __future__ import annotations

from kalends.storage.collection import Collection
from kalends.storage.plugin import PLUGIN_CONFIG_SCHEMA, Storage

__all__ = ["PLUGIN_CONFIG_SCHEMA", "Collection", "Storage"]
