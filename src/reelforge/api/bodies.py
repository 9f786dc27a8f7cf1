"""Reading request bodies with a size cap that holds even without a Content-Length header, so an
oversized or endless upload is refused with 400 before it fills memory or disk; JSON bodies read
strictly (`parse_json`), so no malformed document reaches a route: nesting deeper than
MAX_JSON_DEPTH (Python's parser would recurse into a RecursionError), more than MAX_JSON_VALUES
values, NaN, Infinity, numbers too large for a float, and strings that are not Unicode (lone
surrogates) are each a 400. `JsonBodies` applies it to every body FastAPI reads as JSON.

Forms are parsed here, not by `Request.form()`: Starlette decodes a text part that is not valid in
its charset (UTF-8 unless the body says otherwise) as latin-1, and urlencoded bytes as latin-1
always, so a client's broken text would be stored as mojibake. Here it is a 400 naming the field.
"""

import json
import math
from contextlib import aclosing
from typing import Any
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


MAX_JSON_DEPTH = 32  # arrays and objects within each other; reelforge's deepest body needs 4
MAX_JSON_VALUES = 100_000  # values in one document; a body needs dozens
_NOT_JSON = "request body is not valid JSON"


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _check_scalar(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest("request body has a number too large for a float")
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise InvalidRequest("request body has a string that is not valid Unicode") from None


def _check_values(document: Any) -> None:
    """InvalidRequest if the parsed document nests too deep, holds too many values, a number that
    is not finite or a string with lone surrogates (which no UTF-8 writer, database or response,
    can encode). Its work is bounded by MAX_JSON_VALUES, whatever the document."""
    _check_scalar(document)
    containers, count = [(document, 1)] if isinstance(document, dict | list) else [], 0
    while containers:
        container, depth = containers.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidRequest(f"request body is nested more than {MAX_JSON_DEPTH} levels deep")
        count += len(container)
        if count > MAX_JSON_VALUES:
            raise InvalidRequest(f"request body has more than {MAX_JSON_VALUES} values")
        if isinstance(container, dict):
            for key in container:
                _check_scalar(key)
            container = container.values()
        for value in container:
            if isinstance(value, dict | list):
                containers.append((value, depth + 1))
            else:
                _check_scalar(value)


def parse_json(body: bytes) -> Any:
    """The JSON document of a body, strictly (see the module docstring); InvalidRequest if it is
    not one."""
    try:
        document = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidRequest(f"request body is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError:  # malformed, not UTF-8, an integer of more than 4300 digits
        raise InvalidRequest(_NOT_JSON) from None
    _check_values(document)
    return document


def _read_as_json(scope: Scope) -> bool:
    """Whether FastAPI parses this request's body as JSON: no content type, or a JSON one."""
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type in ("", "application/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class JsonBodies:
    """ASGI middleware: a body FastAPI will parse as JSON is parsed by `parse_json` first, as its
    last part arrives; a bad one raises InvalidRequest from `receive`, inside the route, so each
    dialect renders it as its own 400 (like BodyLimit, which sits outside it and caps the size)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _read_as_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checked() -> Message:
            event = await receive()
            if event["type"] == "http.request":
                chunks.append(event.get("body", b""))
                if not event.get("more_body", False) and any(chunks):
                    parse_json(b"".join(chunks))
            return event

        await self.app(scope, checked, send)
