"""Alembic environment: runs on the connection handed over by ``migrate_database``."""

from __future__ import annotations

from alembic import context

from kalends.storage.models import metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through 'kalends migrate'")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
