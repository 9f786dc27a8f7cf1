"""Error rendering per dialect. Every error leaves the server in the shape of the API the client
called, chosen by URL prefix; no stack trace ever reaches a client.

A dialect registers `render(status, message, field, code) -> dict` for its prefix; requests
outside every prefix get reelforge's own shape `{"error": {"code", "message", "param"}}`. Each core
error has one HTTP status (STATUS) unless the dialect registers its own for it: an insufficient
balance is answered with the status each provider documents for it (402, 403 or 429), a full disk
or database with 507 or, in the vendors' dialects, 503. A TooManyRequests and a StorageFull always
carry `Retry-After` (seconds).

Any other exception is a 500 without details (the traceback goes to the log) that says
`Connection: close`: uvicorn drops the connection after an exception escapes the app, and a pooled
client that was not told so would send its next request into a reset.

A missing API key wins over a bad body: FastAPI parses the JSON body before it resolves the
caller, so a body error on a route that needs a key is answered as a missing key (401, or the
dialect's own status for it: 403 on the Gemini API) when the key is missing.
"""

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from reelforge.api.auth import get_caller, get_creator, resolve_caller
from reelforge.core.errors import (
    Conflict,
    Forbidden,
    InsufficientCredits,
    InvalidRequest,
    NotFound,
    ReelforgeError,
    StorageFull,
    TooManyRequests,
    Unauthorized,
    first_error,
    storage_failure,
)

log = logging.getLogger(__name__)

Renderer = Callable[[int, str, str | None, str], dict]
Statuses = dict[type[ReelforgeError], int]

STATUS: Statuses = {
    InvalidRequest: 400,
    Unauthorized: 401,
    InsufficientCredits: 402,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
    StorageFull: 507,
}


class NativeErrorDetail(BaseModel):
    code: str = Field(description="machine-readable error code, e.g. `invalid_request`, `not_found`")
    message: str
    param: str | None = Field(description="the request field the error is about, if any")


class NativeError(BaseModel):
    """reelforge's own error body, for routes outside every dialect (media, uploads, health)."""

    error: NativeErrorDetail


def native_error(status: int, message: str, field: str | None, code: str) -> dict:
    return {"error": {"code": code, "message": message, "param": field}}


class ErrorRenderers:
    def __init__(self) -> None:
        self._by_prefix: list[tuple[str, Renderer, Statuses]] = []

    def register(self, prefix: str, renderer: Renderer, statuses: Statuses | None = None) -> None:
        """The renderer of the routes under `prefix`, and the statuses (by core error) where the
        dialect answers differently from STATUS."""
        self._by_prefix.append((prefix, renderer, statuses or {}))
        self._by_prefix.sort(key=lambda item: -len(item[0]))

    def _dialect(self, request: Request) -> tuple[Renderer, Statuses]:
        path = request.url.path
        found = ((render, own) for prefix, render, own in self._by_prefix if path.startswith(prefix))
        return next(found, (native_error, {}))

    def status(self, request: Request, exc: ReelforgeError) -> int:
        """The HTTP status of a core error in the dialect of the request."""
        own = self._dialect(request)[1]
        return next((s for table in (own, STATUS) for cls, s in table.items() if isinstance(exc, cls)), 400)

    def respond(
        self,
        request: Request,
        status: int,
        message: str,
        field: str | None,
        code: str,
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        render = self._dialect(request)[0]
        headers = dict(headers or {})
        if status == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        return JSONResponse(render(status, message, field, code), status_code=status, headers=headers or None)

    def render(
        self, request: Request, exc: ReelforgeError, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        """A core error in the dialect of the request, with `Retry-After` when it has one."""
        headers = dict(headers or {})
        if (retry_after := getattr(exc, "retry_after", None)) is not None:
            headers["Retry-After"] = str(retry_after)
        return self.respond(request, self.status(request, exc), exc.message, exc.field, exc.code, headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """FastAPI's first validation error as (message, field), the field named within the body,
    query or path (FastAPI puts `body`, `query`, ... first in the location)."""
    field, message, kind = first_error(exc, skip=("body", "query", "path", "header"))
    if kind == "json_invalid":
        return "request body is not valid JSON", None
    return (f"{field}: {message}" if field else message), field


def _missing_key(request: Request) -> Unauthorized | None:
    """The Unauthorized error if the matched route needs a caller and the request has no key."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    stack = [dependant] if dependant is not None else []
    while stack:
        current = stack.pop()
        if current.call in (get_caller, get_creator):
            try:
                resolve_caller(request)
            except Unauthorized as exc:
                return exc
            return None
        stack.extend(current.dependencies)
    return None


def install_error_handlers(app: FastAPI, renderers: ErrorRenderers) -> None:
    @app.exception_handler(ReelforgeError)
    async def _reelforge(request: Request, exc: ReelforgeError):
        if isinstance(exc, StorageFull):
            log.error("storage full on %s %s: %r", request.method, request.url.path, exc.__cause__)
        return renderers.render(request, exc)

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError):
        if storage_failure(exc) != "full":
            raise exc  # answered 500 by _unexpected
        log.error("storage full on %s %s: %r", request.method, request.url.path, exc)
        return renderers.render(request, StorageFull())

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        if unauthorized := _missing_key(request):
            return renderers.render(request, unauthorized)
        message, field = _validation_message(exc)
        return renderers.respond(request, 400, message, field, InvalidRequest.code)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        if exc.status_code == 400 and (unauthorized := _missing_key(request)):  # unparseable body
            return renderers.render(request, unauthorized)
        if isinstance(exc.__cause__, ReelforgeError):  # FastAPI wraps errors raised while reading the body
            return await _reelforge(request, exc.__cause__)
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "error")
        # keep the headers an HTTP error carries (e.g. `Allow` on 405)
        return renderers.respond(request, exc.status_code, str(exc.detail), None, code, exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        """Errors that escaped every other handler (and the middlewares): uvicorn closes the
        connection after them, so the answer says so."""
        close = {"Connection": "close"}
        if storage_failure(exc) == "full":
            log.error("storage full on %s %s: %r", request.method, request.url.path, exc)
            return renderers.render(request, StorageFull(), close)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return renderers.respond(request, 500, "internal server error", None, "internal_error", close)
