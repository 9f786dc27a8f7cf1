"""Persistence of jobs and uploaded assets: SQLAlchemy 2 tables, a repository and Alembic migrations."""
