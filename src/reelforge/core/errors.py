"""Errors the core raises; each dialect renders them in its own wire shape.

ReelforgeError
 ├── InvalidRequest   the request breaks a documented rule (HTTP 400 in every dialect)
 ├── NotFound         an id that does not exist for this caller (HTTP 404 or the dialect's null)
 ├── Conflict         the action does not fit the object's state (e.g. an upload used twice)
 ├── Unauthorized     no usable API key (HTTP 401)
 ├── Forbidden        a valid key that may not do this (HTTP 403: admin routes, expired media URLs)
 ├── InsufficientCredits  the account's balance does not cover the job (status per dialect)
 ├── TooManyRequests  over a rate or concurrency limit (HTTP 429 with Retry-After)
 └── StorageFull      the disk or database is full (HTTP 507 or 503 per dialect, with Retry-After)

`first_error` is the one place a pydantic ValidationError becomes a field and a message.
`storage_failure` tells a full or failing store apart from any other exception, whichever layer
raised it (an OSError from the file system, SQLite's or PostgreSQL's "disk full" wrapped by
SQLAlchemy), so neither the API nor the worker hands a raw OS error to a client.
"""

import errno
from collections.abc import Collection, Iterator
from typing import Protocol

from pydantic import ValidationError


class ReelforgeError(Exception):
    code = "error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidRequest(ReelforgeError):
    code = "invalid_request"


class NotFound(ReelforgeError):
    code = "not_found"


class Conflict(ReelforgeError):
    code = "conflict"


class Unauthorized(ReelforgeError):
    code = "unauthorized"


class Forbidden(ReelforgeError):
    code = "forbidden"


class InsufficientCredits(ReelforgeError):
    code = "insufficient_credits"


class TooManyRequests(ReelforgeError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, field: str | None = None):
        super().__init__(message, field)
        self.retry_after = retry_after  # seconds until a retry can succeed


class StorageFull(ReelforgeError):
    code = "storage_full"

    def __init__(
        self, message: str = "the server is out of storage space; retry later", retry_after: int = 60
    ):
        super().__init__(message)
        self.retry_after = retry_after  # seconds: time for an operator or the retention pass to free space


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_POSTGRES_FULL = "53100"  # SQLSTATE disk_full


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (SQLAlchemy's `orig`) and its causes (`raise ... from`), each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [getattr(current, "orig", None), current.__cause__]


def storage_failure(exc: BaseException) -> str | None:
    """ "full" if the exception comes from a full disk or database, "unavailable" if from another
    file-system error, None if from anything else."""
    chain = list(_chain(exc))
    for e in chain:
        if isinstance(e, StorageFull) or (isinstance(e, OSError) and e.errno in _FULL_ERRNOS):
            return "full"
        if getattr(e, "sqlite_errorcode", None) == _SQLITE_FULL:
            return "full"
        if getattr(e, "sqlstate", None) == _POSTGRES_FULL:
            return "full"
    return "unavailable" if any(isinstance(e, OSError) for e in chain) else None


class _Errors(Protocol):
    def errors(self) -> list: ...


def first_error(
    exc: _Errors, depth: int | None = None, skip: Collection[str] = ()
) -> tuple[str | None, str, str]:
    """(field, message, error type) of the first error of a pydantic ValidationError (or FastAPI's
    RequestValidationError). The field is its location without the parts in `skip`, cut to
    `depth` parts (1: the top-level field only)."""
    err = exc.errors()[0]
    loc = [str(part) for part in err.get("loc", ()) if part not in skip][:depth]
    field = ".".join(loc) or None
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return field, message, str(err.get("type", ""))


def invalid(exc: ValidationError, prefix: str | None = None) -> InvalidRequest:
    """The first pydantic error as one concise InvalidRequest (`field: message`)."""
    field, message, _ = first_error(exc)
    if prefix and field:
        field = f"{prefix}.{field}"
    return InvalidRequest(f"{field}: {message}" if field else message, field)
