"""push channels held at providers

Revision ID: 0004
Revises: 0003

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_channels",
        sa.Column("channel_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=1024), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("api_url", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("channel_id"),
    )
    with op.batch_alter_table("push_channels", schema=None) as batch_op:
        batch_op.create_index("ix_push_channels_source", ["source"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_channels", schema=None) as batch_op:
        batch_op.drop_index("ix_push_channels_source")
    op.drop_table("push_channels")
