"""the unified calendar's view, materialised

Revision ID: 0006
Revises: 0005

Every unified calendar that exists gets its rows here, computed by the view rules of
``kalends.storage.view`` (pure functions) from the member items read with this revision's
columns: from now on every write keeps them exact.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kalends.storage.view import MEMBER_KINDS, Member, Members, resolve_all

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_collections = sa.table(
    "collections",
    sa.column("id", sa.Integer),
    sa.column("path", sa.String),
    sa.column("parent_path", sa.String),
    sa.column("kind", sa.String),
    sa.column("source", sa.String),
    sa.column("priority", sa.Integer),
    sa.column("tag", sa.String),
)
_items = sa.table(
    "items",
    sa.column("id", sa.Integer),
    sa.column("collection_id", sa.Integer),
    sa.column("href", sa.String),
    sa.column("uid", sa.String),
    sa.column("fingerprint", sa.String),
)

_unified_items = sa.table(
    "unified_items",
    sa.column("unified_id", sa.Integer),
    sa.column("href", sa.String),
    sa.column("item_id", sa.Integer),
)


def upgrade() -> None:
    op.create_table(
        "unified_items",
        sa.Column("unified_id", sa.Integer(), nullable=False),
        sa.Column("href", sa.String(length=1024), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unified_id"], ["collections.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("unified_id", "href"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_unified_items_item", "unified_items", ["item_id", "unified_id"])
    _build_rows(op.get_bind())


def _build_rows(conn: sa.Connection) -> None:
    """The rows of every existing unified calendar, from its owner's member items."""
    unified = conn.execute(
        sa.select(_collections.c.id, _collections.c.parent_path).where(
            _collections.c.kind == "unified"
        )
    ).all()
    for unified_id, owner in unified:
        members = Members(
            Member(row.id, row.path, row.kind, row.source, row.priority)
            for row in conn.execute(
                sa.select(_collections).where(
                    _collections.c.parent_path == owner,
                    _collections.c.kind.in_(MEMBER_KINDS),
                    _collections.c.tag == "VCALENDAR",
                )
            )
        )
        if not members.ids:
            continue
        rows = conn.execute(
            sa.select(_items).where(_items.c.collection_id.in_(members.ids)).order_by(_items.c.href)
        ).all()
        shown = [
            {"unified_id": unified_id, "href": href, "item_id": row.id}
            for href, row, _own in resolve_all(rows, members)
        ]
        for start in range(0, len(shown), 5000):
            conn.execute(sa.insert(_unified_items), shown[start : start + 5000])


def downgrade() -> None:
    op.drop_index("ix_unified_items_item", table_name="unified_items")
    op.drop_table("unified_items")
