"""Who is calling. Every dialect resolves its caller through `get_caller`, so API keys and per-key
isolation change here only. For now any key is accepted; each distinct key is its own user (a
stable id derived from the key), so jobs are already scoped per key.

The key is read, in this order, from `Authorization: Bearer <key>` (Leonardo, AI/ML API,
HighwayAPI, OpenAI, Vertex AI's OAuth token), the `x-goog-api-key` header (Gemini API, Vertex AI
express mode) or the `key` query parameter (Google's `?key=`). Every place is accepted on every
route, so one key names the same user whichever dialect it arrives through.
"""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from reelforge.core.errors import Unauthorized

_KEY_NAMESPACE = uuid.UUID("6f1c1b1e-7d4e-4c55-9a0e-2f1f3c5a9e10")


@dataclass(frozen=True)
class Caller:
    id: str
    name: str


def _key_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    for key in (request.headers.get("x-goog-api-key"), request.query_params.get("key")):
        if key and key.strip():
            return key.strip()
    return None


def resolve_caller(request: Request) -> Caller:
    key = _key_from(request)
    if key is None:
        raise Unauthorized(
            "missing or malformed API key: send 'Authorization: Bearer <key>' or 'x-goog-api-key: <key>'"
        )
    user_id = str(uuid.uuid5(_KEY_NAMESPACE, key))
    return Caller(id=user_id, name=f"user-{user_id[:8]}")


async def get_caller(request: Request) -> Caller:
    """The dependency: async because it never blocks, so it costs no threadpool hop."""
    return resolve_caller(request)


CallerDep = Annotated[Caller, Depends(get_caller)]
