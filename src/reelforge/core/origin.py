"""The origin (`scheme://host[:port]`) the HTTP request being handled was addressed to.

Without a configured public base URL, the absolute URLs reelforge hands out (signed media URLs,
upload targets, Gemini file URIs) follow the request that asked for them, so a server listening
on 0.0.0.0 answers `http://<the Host the client used>/media/...` rather than `http://0.0.0.0/...`.
The API's middleware (api/origin.py) sets it per request; blobs and the service read it here, below
the API, and fall back to the configured base outside a request (workers, webhook deliveries).
"""

from contextvars import ContextVar, Token

_origin: ContextVar[str | None] = ContextVar("reelforge_request_origin", default=None)


def base_url(configured: str) -> str:
    """The current request's origin, or `configured` outside a request (or when the origin is
    not to be followed: REELFORGE_PUBLIC_BASE_URL set)."""
    return _origin.get() or configured


def enter(origin: str) -> Token:
    return _origin.set(origin)


def leave(token: Token) -> None:
    _origin.reset(token)
