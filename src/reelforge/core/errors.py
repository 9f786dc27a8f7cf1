"""Errors the core raises; each dialect renders them in its own wire shape.

ReelforgeError
 ├── InvalidRequest   the request breaks a documented rule (HTTP 400 in every dialect)
 ├── NotFound         an id that does not exist for this caller (HTTP 404 or the dialect's null)
 ├── Conflict         the action does not fit the object's state (e.g. an upload used twice)
 └── Unauthorized     no usable API key (HTTP 401)
"""


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
