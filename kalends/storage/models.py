"""The database schema of the storage plugin (SQLAlchemy Core).

Every hot request path is answered from an index:
- ``items``: the exact iCalendar text plus the columns Radicale would otherwise re-derive by parsing
  (uid, component, etag, the enclosing time range of the whole recurrence set);
- ``occurrences``: one row per occurrence of a VEVENT, so a time-range query and a free-busy report
  are exact without expanding recurrences at request time;
- ``tombstones``: deleted hrefs with the revision of their deletion, so sync-collection (RFC 6578)
  deltas are one indexed look-up;
- ``unified_items``: the unified calendar's view, materialised: which member item is seen under
  which href (kept exact by every member write, see ``kalends.storage.view_table``).

Intervals are split in two classes (``long``): rows whose span is at most ``SHORT_SPAN`` seconds are
found by a bounded range scan on their start, the rare longer ones by a small separate scan.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

SHORT_SPAN = 7 * 24 * 3600

# The condition of the partial unique index on UIDs. A query must state it literally (a bound
# parameter proves nothing to the planner) for SQLite and PostgreSQL to use that index.
UID_PRESENT = text("items.uid <> ''")

metadata = MetaData()

collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", String(1024), nullable=False, unique=True),
    Column("parent_path", String(1024), nullable=False, index=True),
    Column("uid", String(32), nullable=False),
    Column("tag", String(32), nullable=False, server_default=""),
    Column("props", Text, nullable=False, server_default="{}"),
    Column("rev", BigInteger, nullable=False, server_default="0"),
    Column("pruned_rev", BigInteger, nullable=False, server_default="0"),
    Column("modified_at", Float, nullable=False),
    # "calendar" (a plain calendar), "source" (mirrors the source named in ``source``) or
    # "unified" (the virtual union of its owner's collections).
    Column("kind", String(16), nullable=False, server_default="calendar"),
    Column("source", String(255), nullable=True),
    Column("priority", Integer, nullable=False, server_default="0"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("href", String(1024), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("name", String(32), nullable=False),
    Column("component", String(32), nullable=False),
    Column("etag", String(80), nullable=False),
    Column("text", Text, nullable=False),
    Column("tr_start", BigInteger, nullable=False),
    Column("tr_end", BigInteger, nullable=False),
    Column("long", Boolean, nullable=False),
    Column("indexed_until", BigInteger, nullable=False),
    Column("rev", BigInteger, nullable=False),
    Column("modified_at", Float, nullable=False),
    # organizer + start + summary of the master event: collapses copies whose UIDs differ.
    Column("fingerprint", String(64), nullable=False, server_default=""),
    Index("ix_items_href", "collection_id", "href", unique=True),
    Index(
        "ix_items_uid",
        "collection_id",
        "uid",
        unique=True,
        sqlite_where=text("uid <> ''"),
        postgresql_where=text("uid <> ''"),  # as UID_PRESENT
    ),
    Index("ix_items_rev", "collection_id", "rev"),
    Index("ix_items_range", "collection_id", "long", "tr_start"),
    Index("ix_items_indexed_until", "collection_id", "indexed_until"),
    Index("ix_items_fingerprint", "collection_id", "fingerprint"),
)

occurrences = Table(
    "occurrences",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("collection_id", Integer, nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
    Column("long", Boolean, nullable=False),
    Column("fbtype", String(16), nullable=True),
    Index("ix_occurrences_range", "collection_id", "long", "start", "end"),
    Index("ix_occurrences_item", "item_id"),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("href", String(1024), primary_key=True),
    Column("rev", BigInteger, nullable=False),
    Column("deleted_at", Float, nullable=False),
    Index("ix_tombstones_rev", "collection_id", "rev"),
    Index("ix_tombstones_age", "collection_id", "deleted_at"),
)

# The unified view, materialised: the member item (``item_id``) each unified collection shows at
# each ``href``. Reads join it to ``items`` by primary key; ``ix_unified_items_item`` finds the
# row of a member item (and serves the cascade when the item goes). On SQLite the table is
# clustered on its primary key (WITHOUT ROWID): a listing in href order reads it in place, and
# the item index carries (unified_id, href) with it.
unified_items = Table(
    "unified_items",
    metadata,
    Column(
        "unified_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("href", String(1024), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Index("ix_unified_items_item", "item_id", "unified_id"),
    sqlite_with_rowid=False,
)

# -- sync engine ------------------------------------------------------------------------------

# A CalDAV client's write to a source collection, waiting to be pushed; written in the item's
# own transaction, consumed by the sync engine once the push has been applied.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("href", String(1024), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_outbox_collection", "collection_id", "id"),
)

# One row per linked (source, event): the merge base and both sides' versions at the last sync.
sync_status = Table(
    "sync_status",
    metadata,
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("remote_id", String(1024), primary_key=True),
    Column("href", String(1024), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("remote_version", String(255), nullable=False),
    Column("local_etag", String(80), nullable=False),
    Column("base", Text, nullable=False),
    Column("local_counter", Integer, nullable=False),
    Column("remote_counter", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_sync_status_href", "collection_id", "href", unique=True),
)

sync_sources = Table(
    "sync_sources",
    metadata,
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("cursor", Text, nullable=True),
    Column("cursor_saved_at", Float, nullable=True),
    Column("last_sync_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("quarantine", Text, nullable=True),  # why deletions are held back, until confirmed
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("summary", Text, nullable=False, server_default="{}"),
    Column("undone_by", String(32), nullable=True),
    Index("ix_sync_runs_started", "collection_id", "started_at"),
)

# Every change the engine applied (before/after), and every losing version of a conflict.
journal = Table(
    "journal",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("href", String(1024), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("action", String(32), nullable=False),
    Column("origin", String(255), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("conflict", Boolean, nullable=False, server_default="0"),
    Column("detail", Text, nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Index("ix_journal_conflicts", "conflict", "created_at"),
)

credentials = Table(
    "credentials",
    metadata,
    Column("source", String(255), primary_key=True),
    Column("sealed", Text, nullable=False),  # AES-256-GCM, see kalends.security.secrets
    Column("updated_at", Float, nullable=False),
)

push_channels = Table(
    "push_channels",
    metadata,
    Column("channel_id", String(255), primary_key=True),
    Column("source", String(255), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("resource_id", String(1024), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("account", String(255), nullable=False),  # the credentials it was opened with
    Column("api_url", String(1024), nullable=False),
    Index("ix_push_channels_source", "source"),
)

# The calendars each multi-calendar source entry (``calendars = ...``) expanded to, under the
# source names they were given: names stay when titles change or the provider is unreachable.
account_calendars = Table(
    "account_calendars",
    metadata,
    Column("entry", String(255), primary_key=True),
    Column("calendar_id", String(1024), primary_key=True),
    Column("source", String(255), nullable=False, unique=True),
    Column("title", String(1024), nullable=False),
    Column("writable", Boolean, nullable=False),
    Column("is_primary", Boolean, nullable=False),
)
