"""Alembic's entry point: migrations run on the connection ``registry.database.upgrade`` passes."""

from __future__ import annotations

from alembic import context

from registry.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through registry.database.upgrade (or `ketqua db upgrade`)")
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: later migrations copy-and-move tables there
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
