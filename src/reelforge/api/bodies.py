"""Reading request bodies with a size cap that holds even without a Content-Length header, so an
oversized or endless upload is refused with 400 before it fills memory or disk.

Forms are parsed here, not by `Request.form()`: Starlette decodes a text part that is not valid in
its charset (UTF-8 unless the body says otherwise) as latin-1, and urlencoded bytes as latin-1
always, so a client's broken text would be stored as mojibake. Here it is a 400 naming the field.
"""

from contextlib import aclosing
from urllib.parse import unquote_plus

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser, parse_options_header
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


class _StrictMultiPartParser(MultiPartParser):
    """Starlette's multipart parser, refusing a part whose name, filename or text is not valid in the
    body's charset instead of decoding it as latin-1."""

    def on_part_end(self) -> None:
        part = self._current_part
        _, options = parse_options_header(part.content_disposition)
        texts = [options.get(b"name", b""), options.get(b"filename", b"")]
        if part.file is None:
            texts.append(bytes(part.data))
        for text in texts:
            _decode(text, self._charset, part.field_name)
        super().on_part_end()


def _decode(data: bytes, charset: str, field: str | None) -> str:
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        raise InvalidRequest(f"{field or 'form body'}: is not valid {charset}", field) from None


async def capped_form(
    request: Request, limit: int, message: str, *, max_files: int, max_fields: int
) -> FormData:
    """The parsed form (multipart or urlencoded) of a body of at most `limit` bytes; the caller
    closes it. Any other media type reads as an empty form."""
    check_length(request, limit, message)
    capped = _Capped(request.receive, limit, message)
    media_type, _ = parse_options_header(request.headers.get("content-type", ""))
    try:
        async with aclosing(Request(request.scope, capped).stream()) as stream:
            if media_type == b"multipart/form-data":
                parser = _StrictMultiPartParser(
                    request.headers, stream, max_files=max_files, max_fields=max_fields
                )
                return await parser.parse()
            if media_type == b"application/x-www-form-urlencoded":
                return FormData(_urlencoded(b"".join([chunk async for chunk in stream]), max_fields))
    except MultiPartException as exc:  # malformed multipart, too many parts, body over the cap
        raise InvalidRequest(message if capped.over else f"malformed form body: {exc.message}") from None
    return FormData()


def _urlencoded(body: bytes, max_fields: int) -> list[tuple[str, str]]:
    """`a=1&b=%C3%A9+x`: the body and every percent-escape in it must be UTF-8."""
    pairs = [pair for pair in _decode(body, "utf-8", None).split("&") if pair]
    if len(pairs) > max_fields:
        raise InvalidRequest(f"malformed form body: more than {max_fields} fields")
    fields = []
    for pair in pairs:
        name, _, value = pair.partition("=")
        label = unquote_plus(name, errors="replace")
        fields.append((_unquoted(name, label), _unquoted(value, label)))
    return fields


def _unquoted(text: str, field: str) -> str:
    try:
        return unquote_plus(text, errors="strict")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{field}: is not valid utf-8", field) from None


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
