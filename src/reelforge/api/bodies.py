"""Reading request bodies with a size cap that holds even without a Content-Length header, so an
oversized or endless upload is refused with 400 before it fills memory or disk."""

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message, Receive

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
