"""Alembic environment: runs against the connection reelforge hands in (see db/connect.py)."""

from alembic import context

from reelforge.db.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
