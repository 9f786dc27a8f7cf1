"""Who is calling. Every dialect resolves its caller through `get_caller`, so API keys and
isolation change here only. With `REELFORGE_AUTH=keys` (the default) only issued, unrevoked keys
work and the caller is the key's account (service/accounts.py); with `open` (local development on
loopback only) any key is accepted and each distinct key is its own user (a stable id derived
from the key).

The key is read, in this order, from `Authorization: Bearer <key>` (Leonardo, AI/ML API,
HighwayAPI, OpenAI, Vertex AI's OAuth token), the `x-goog-api-key` header (Gemini API, Vertex AI
express mode) or the `key` query parameter (Google's `?key=`). Every place is accepted on every
route, so one key names the same user whichever dialect it arrives through.

Every authenticated request is counted against its key's rate limits (service/ratelimits.py), in
keys and open mode alike: routes that create something (a job, an init-image slot) take
`CreatorDep` and count against the create limit, every other route takes `CallerDep` and counts
against the read limit. A request counts once, against one of the two.
"""

import uuid
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from reelforge.core.accounts import Caller, display_prefix
from reelforge.core.errors import Unauthorized

_KEY_NAMESPACE = uuid.UUID("6f1c1b1e-7d4e-4c55-9a0e-2f1f3c5a9e10")


def _key_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    for key in (request.headers.get("x-goog-api-key"), request.query_params.get("key")):
        if key and key.strip():
            return key.strip()
    return None


def _open_mode(request: Request) -> bool:
    return request.app.state.runtime.settings.auth == "open"


def _key(request: Request) -> str:
    key = _key_from(request)
    if key is None:
        raise Unauthorized(
            "missing or malformed API key: send 'Authorization: Bearer <key>' or 'x-goog-api-key: <key>'"
        )
    return key


def _open_caller(key: str) -> Caller:
    user_id = str(uuid.uuid5(_KEY_NAMESPACE, key))
    name = f"user-{user_id[:8]}"
    return Caller(id=user_id, key_id=f"open-{user_id}", name=name, prefix=display_prefix(key))


def resolve_caller(request: Request) -> Caller:
    """The caller of a request (this may query the database: call it off the event loop)."""
    key = _key(request)
    if _open_mode(request):
        return _open_caller(key)
    return request.app.state.runtime.service.accounts.authenticate(key)


def _admitted(request: Request, create: bool) -> Caller:
    """The caller, counted against its key's create or read limit (TooManyRequests over it). This
    may query the database and Redis: call it off the event loop unless nothing can block."""
    caller = resolve_caller(request)
    limits = request.app.state.runtime.limits
    if create:
        limits.create(caller)
    else:
        limits.read(caller)
    request.state.caller = caller
    return caller


async def _caller(request: Request, create: bool) -> Caller:
    """In open mode with in-memory counts nothing blocks, so it costs no threadpool hop; otherwise
    the key is looked up (and counted, in Redis) in a worker thread."""
    if _open_mode(request) and request.app.state.runtime.limits.in_memory:
        return _admitted(request, create)
    return await run_in_threadpool(_admitted, request, create)


async def get_caller(request: Request) -> Caller:
    """The dependency of every authenticated route that creates nothing: the caller, counted
    against its key's read limit."""
    return await _caller(request, create=False)


async def get_creator(request: Request) -> Caller:
    """The dependency of every route that creates a job or an upload: the caller, counted against
    its key's create limit instead of the read limit."""
    return await _caller(request, create=True)


CallerDep = Annotated[Caller, Depends(get_caller)]
CreatorDep = Annotated[Caller, Depends(get_creator)]
