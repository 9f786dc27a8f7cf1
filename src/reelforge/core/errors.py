"""Errors the core raises; each dialect renders them in its own wire shape.

ReelforgeError
 ├── InvalidRequest   the request breaks a documented rule (HTTP 400 in every dialect)
 ├── NotFound         an id that does not exist for this caller (HTTP 404 or the dialect's null)
 ├── Conflict         the action does not fit the object's state (e.g. an upload used twice)
 ├── Unauthorized     no usable API key (HTTP 401)
 ├── Forbidden        a valid key that may not do this (HTTP 403: admin routes, expired media URLs)
 ├── InsufficientCredits  the account's balance does not cover the job (status per dialect)
 └── TooManyRequests  over a rate or concurrency limit (HTTP 429 with Retry-After)

`first_error` is the one place a pydantic ValidationError becomes a field and a message.
"""

from collections.abc import Collection
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
