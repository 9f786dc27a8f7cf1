"""The one clock: every timestamp reelforge records is timezone-aware UTC."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A timestamp read back from a database that drops the zone (SQLite): they are all UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
