"""Persistence of job and upload rows: SQLAlchemy 2 tables, the repository and Alembic migrations.

Rows only: the media bytes they name live in blob storage (`reelforge.blobs`)."""
