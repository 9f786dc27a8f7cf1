"""Reading request bodies with a size cap that holds even without a Content-Length header, so an
oversized or endless upload is refused with 400 before it fills memory or disk."""

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge.core.errors import InvalidRequest


class _Capped:
    """A `receive` that ends the body with a parse error once more than `limit` bytes arrived;
    the form parser then closes the spooled files it had opened."""

    def __init__(self, receive: Receive, limit: int, message: str):
        self.receive, self.limit, self.message = receive, limit, message
        self.seen = 0

    @property
    def over(self) -> bool:
        return self.seen > self.limit

    async def __call__(self) -> Message:
        event = await self.receive()
        if event["type"] == "http.request":
            self.seen += len(event.get("body", b""))
            if self.over:
                raise MultiPartException(self.message)
        return event


def check_length(request: Request, limit: int, message: str, field: str | None = None) -> None:
    """Refuse at once a body whose declared length is over the cap."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise InvalidRequest(message, field)


async def capped_form(request: Request, limit: int, message: str, **form_limits) -> FormData:
    """The parsed form of a body of at most `limit` bytes; the caller closes it."""
    check_length(request, limit, message)
    capped = _Capped(request.receive, limit, message)
    try:
        return await Request(request.scope, capped).form(**form_limits)
    except HTTPException as exc:  # malformed multipart, too many parts, body over the cap
        raise InvalidRequest(message if capped.over else f"malformed form body: {exc.detail}") from None


async def capped_body(request: Request, limit: int, message: str) -> bytes:
    """The raw body, at most `limit` bytes."""
    check_length(request, limit, message)
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise InvalidRequest(message)
        chunks.append(chunk)
    return b"".join(chunks)


class BodyLimit:
    """ASGI middleware: no request body may exceed `limit` bytes, declared or streamed. The error
    is raised from `receive`, inside the route, so each dialect renders it as its own 400."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body is larger than {self.limit // (1024 * 1024)} MB"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if declared.isdigit() and int(declared) > self.limit:
                raise InvalidRequest(message)
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > self.limit:
                    raise InvalidRequest(message)
            return event

        await self.app(scope, limited, send)
