"""calendars of multi-calendar source entries

Revision ID: 0005
Revises: 0004

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_calendars",
        sa.Column("entry", sa.String(length=255), nullable=False),
        sa.Column("calendar_id", sa.String(length=1024), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=1024), nullable=False),
        sa.Column("writable", sa.Boolean(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("entry", "calendar_id"),
        sa.UniqueConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("account_calendars")
