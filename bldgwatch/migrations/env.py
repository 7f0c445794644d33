"""Alembic environment: migrations run on a connection that bldgwatch.migrations.migrate
hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bldgwatch.migrations.migrate (bldgwatch db-upgrade)")

# Autogenerate (a developer step) hands the models' metadata in through attributes too.
context.configure(
    connection=connection,
    target_metadata=context.config.attributes.get("target_metadata"),
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
