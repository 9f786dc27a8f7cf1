"""The `Idempotency-Key` header on every create route of every dialect (Stripe's semantics), as
one ASGI middleware in front of the routes, so no dialect handles it.

A POST to a create route (CREATE_ROUTES) with the header, from a caller with a usable key:
- the first request claims (account, key) and runs; a 2xx answer (status, headers such as
  `openai-poll-after-ms`, body) is stored for 24 hours, anything else releases the claim (what is
  stored and why: service/idempotency.py);
- a retry with the same key and the same request gets the stored answer back, with
  `Idempotent-Replayed: true`, and creates nothing; one that arrives while the first request is
  still running waits for its answer (at most WAIT seconds, then 409 `idempotency_key_in_use`),
  or runs afresh if the first one released its claim;
- the same key with a different request: 409 `idempotency_key_reused`; a key that is empty or
  longer than 255 characters: 400. Both in the dialect's error shape (api/errors.py).

"The same request" is the path, the media type and the body bytes (fingerprint); a
multipart body's boundary is random per send, so it is left out. The query string (where Google's
`?key=` travels) is not part of it. Keys are per account: another account's identical key is
another key.

Requests without a usable API key, and bodies over the server's size cap, pass through untouched:
the route answers them (401, the dialect's 400). Replays answer without running the route, so
they count against no rate limit (they create nothing).
"""

import hashlib
import re
import time

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge.api.auth import resolve_caller
from reelforge.api.errors import ErrorRenderers
from reelforge.core.errors import ReelforgeError
from reelforge.service.idempotency import MAX_KEY, Answer, Claim, Idempotency, KeyInUse

# The create routes of every dialect, as paths (OpenAPI path templates match them too).
CREATE_ROUTES = re.compile(
    r"/api/rest/v1/(generations-text-to-video|generations-image-to-video|generations-motion-svd|init-image)"
    r"|/api/rest/v2/generations"
    r"|/v2/video/generations"
    r"|/v3/async/veo-3\.1-lite-[^/]+"
    r"|/v1beta/models/[^/]+:predictLongRunning"
    r"|/v1(beta1)?/(projects/[^/]+/locations/[^/]+/)?publishers/google/models/[^/]+:predictLongRunning"
    r"|/v1/videos(/extensions|/edits|/[^/]+/remix)?"
)
HEADER = "idempotency-key"
WAIT = 60.0  # seconds a retry waits for the answer of the first request with its key
POLL = 0.1  # seconds between looks at the first request's answer
KEY_CONFLICT = "The Idempotency-Key was used with a different request, or its first request is still running"
_BOUNDARY = re.compile(r';\s*boundary="?([^";]+)"?', re.IGNORECASE)


def fingerprint(path: str, content_type: str, body: bytes) -> str:
    """What makes two requests "the same request" (see the module docstring)."""
    boundary = _BOUNDARY.search(content_type)
    if boundary:
        content_type = content_type[: boundary.start()] + content_type[boundary.end() :]
        body = body.replace(boundary.group(1).encode("latin-1"), b"")
    digest = hashlib.sha256()
    for part in (path, content_type.strip().lower()):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyKeys:
    """ASGI middleware. `renderers` are the app's error renderers; `limit` is its body cap
    (Settings.max_body_bytes, which api/bodies.BodyLimit enforces behind this middleware)."""

    def __init__(self, app: ASGIApp, renderers: ErrorRenderers, limit: int):
        self.app, self.renderers, self.limit = app, renderers, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not CREATE_ROUTES.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            caller = await run_in_threadpool(resolve_caller, request)
        except ReelforgeError:  # no usable key: the route answers
            await self.app(scope, receive, send)
            return
        body, whole = await self._buffer(headers, receive)
        again = _replaying(body, whole, receive)
        if not whole:  # over the cap, or the client left: the route answers
            await self.app(scope, again, send)
            return
        service: Idempotency = request.app.state.runtime.service.idempotency
        digest = fingerprint(scope["path"], headers.get("content-type", ""), body)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                found = await run_in_threadpool(service.begin, caller.id, key, digest)
            except ReelforgeError as exc:
                await self._error(request, exc, send)
                return
            if isinstance(found, Claim):
                await self._run(service, found, scope, again, send)
                return
            if found is not None:
                await _replay(found, send)
                return
            if time.monotonic() > deadline:
                await self._error(
                    request,
                    KeyInUse("a request with this Idempotency-Key is still running; retry later"),
                    send,
                )
                return
            await anyio.sleep(POLL)

    async def _buffer(self, headers: Headers, receive: Receive) -> tuple[bytes, bool]:
        """The request body, and whether it is all there: not when it is over the cap (then
        reading stops there) or the client disconnected."""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            return b"", False
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            chunks.append(chunk)
            seen += len(chunk)
            if seen > self.limit:
                return b"".join(chunks), False
            if not message.get("more_body", False):
                return b"".join(chunks), True

    async def _run(
        self, service: Idempotency, claim: Claim, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run the route, answer the client as it goes, and keep the answer for the key."""
        start: Message = {}
        chunks: list[bytes] = []
        finished = False

        async def capture(message: Message) -> None:
            nonlocal start, finished
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.get("headers", [])}
                    answer = Answer(start["status"], headers, b"".join(chunks))
                    await run_in_threadpool(service.finish, claim, answer)
                    finished = True
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not finished:  # an error escaped the route (answered 500 outside): no answer to keep
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(service.release, claim)

    async def _error(self, request: Request, exc: ReelforgeError, send: Send) -> None:
        await self.renderers.render(request, exc)(request.scope, request.receive, send)


def _replaying(body: bytes, whole: bool, receive: Receive) -> Receive:
    """A `receive` that hands the route the body already read, then continues with the client's."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": not whole}
        return await receive()

    return replay


async def _replay(answer: Answer, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def with_idempotency_keys(openapi: dict) -> dict:
    """The OpenAPI document with the header on every create operation, and its 409 in the
    operation's own error body (the one its 400 uses)."""
    for path, operations in openapi.get("paths", {}).items():
        operation = operations.get("post")
        if operation is None or not CREATE_ROUTES.fullmatch(path):
            continue
        operation.setdefault("parameters", []).append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Retries with the same key and request within 24 hours get the first "
                "answer back (with `Idempotent-Replayed: true`) and create nothing; the key is "
                "per account.",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
            }
        )
        conflict = operation["responses"].setdefault(
            "409", {"description": "", "content": dict(operation["responses"]["400"]["content"])}
        )
        conflict["description"] = "; ".join(filter(None, (conflict["description"], KEY_CONFLICT)))
    return openapi
