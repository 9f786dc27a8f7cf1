"""Who is calling. Every dialect resolves its caller through `get_caller`, so API keys and
isolation change here only. With `REELFORGE_AUTH=keys` (the default) only issued, unrevoked keys
work and the caller is the key's account (service/accounts.py); with `open` (local development on
loopback only) any key is accepted and each distinct key is its own user (a stable id derived
from the key).

The key is read, in this order, from `Authorization: Bearer <key>` (Leonardo, AI/ML API,
HighwayAPI, OpenAI, Vertex AI's OAuth token), the `x-goog-api-key` header (Gemini API, Vertex AI
express mode) or the `key` query parameter (Google's `?key=`). Every place is accepted on every
route, so one key names the same user whichever dialect it arrives through.
"""

import uuid
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from reelforge.core.accounts import Caller
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
    return Caller(id=user_id, key_id=f"open-{user_id}", name=f"user-{user_id[:8]}")


def resolve_caller(request: Request) -> Caller:
    """The caller of a request (this may query the database: call it off the event loop)."""
    key = _key(request)
    if _open_mode(request):
        return _open_caller(key)
    return request.app.state.runtime.service.accounts.authenticate(key)


async def get_caller(request: Request) -> Caller:
    """The dependency. In open mode it never blocks, so it costs no threadpool hop; with keys it
    looks the key up in a worker thread."""
    if _open_mode(request):
        caller = _open_caller(_key(request))
    else:
        caller = await run_in_threadpool(resolve_caller, request)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
