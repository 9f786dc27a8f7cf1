"""Real databases for tests: a throw-away PostgreSQL database on the machine's server."""

import uuid
from contextlib import contextmanager, nullcontext
from pathlib import Path

import psycopg

from reelforge.db.connect import migrate, open_database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def postgres_database():
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    name = f"reelforge_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_database(kind: str, tmp_path: Path):
    """A migrated SQLAlchemy engine on `kind` ("sqlite": a file under tmp_path; "postgresql": a
    throw-away database on the server on 127.0.0.1:5432), disposed afterwards."""
    url = f"sqlite:///{tmp_path / 'db' / 'reelforge.db'}" if kind == "sqlite" else None
    with nullcontext(url) if url else postgres_database() as url:
        engine = open_database(url)
        migrate(engine)
        try:
            yield engine
        finally:
            engine.dispose()
