"""Opening the database (SQLite in WAL mode, or PostgreSQL) and migrating it to the latest schema.
A write refused because the disk is full raises core's StorageFull, whichever database it was."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext, make_url

from reelforge.core.errors import StorageFull, storage_failure

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x7265656C  # "reel"


def _full(context: ExceptionContext) -> None:
    """SQLite's "database or disk is full" and PostgreSQL's disk_full become StorageFull."""
    if storage_failure(context.original_exception) == "full":
        raise StorageFull() from context.original_exception


def open_database(url: str) -> Engine:
    """A SQLAlchemy engine (connection pool) for the URL; SQLite gets WAL mode and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "handle_error", _full)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "handle_error", _full)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def migrate(database: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is already there), or to
    `revision`. On PostgreSQL an advisory lock serialises nodes that start at the same moment."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with database.begin() as conn:
        if database.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
