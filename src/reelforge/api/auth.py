"""Who is calling. Every dialect resolves its caller through `get_caller`, so API keys and per-key
isolation change here only. For now any bearer key is accepted; each distinct key is its own
user (a stable id derived from the key), so jobs are already scoped per key.
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
    return None


def get_caller(request: Request) -> Caller:
    key = _key_from(request)
    if key is None:
        raise Unauthorized("missing or malformed API key: send 'Authorization: Bearer <key>'")
    user_id = str(uuid.uuid5(_KEY_NAMESPACE, key))
    return Caller(id=user_id, name=f"user-{user_id[:8]}")


CallerDep = Annotated[Caller, Depends(get_caller)]
