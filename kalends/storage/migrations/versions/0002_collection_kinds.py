"""collection kinds (plain, source, unified) and item fingerprints

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="calendar", nullable=False)
        )
        batch_op.add_column(sa.Column("source", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fingerprint", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.create_index("ix_items_fingerprint", ["collection_id", "fingerprint"])


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_fingerprint")
        batch_op.drop_column("fingerprint")
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.drop_column("priority")
        batch_op.drop_column("source")
        batch_op.drop_column("kind")
