"""Alembic environment: runs against the connection reelforge hands in (see store/db.py)."""

from alembic import context

from reelforge.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
