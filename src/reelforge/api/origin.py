"""Which origin the request was addressed to, for the absolute URLs its answer carries
(core/origin.py), when no REELFORGE_PUBLIC_BASE_URL says it.

The Host header and the connection's scheme, unless the peer is a trusted proxy
(REELFORGE_TRUSTED_PROXIES): then the proxy's `Forwarded` (RFC 7239) or `X-Forwarded-Proto` /
`X-Forwarded-Host`, the last value of each, which that proxy wrote. Any other client's forwarding
headers are ignored. A host that is not a plain `name[:port]` or `[IPv6][:port]` is not followed.
"""

import ipaddress
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from reelforge.core import origin

_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
_SCHEMES = ("http", "https")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RequestOrigin:
    """ASGI middleware: the request's origin in core.origin for the time of the request."""

    def __init__(self, app: ASGIApp, proxies: list[Network]):
        self.app, self.proxies = app, proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = request_origin(scope, self.proxies) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        token = origin.enter(found)
        try:
            await self.app(scope, receive, send)
        finally:
            origin.leave(token)


def request_origin(scope: Scope, proxies: list[Network]) -> str | None:
    """`scheme://host[:port]` of the request, or None when it names no usable host."""
    headers = Headers(scope=scope)
    scheme, host = scope.get("scheme", "http"), headers.get("host")
    peer = scope.get("client")
    if peer and _trusted(peer[0], proxies):
        forwarded = _forwarded(headers)
        scheme = forwarded.get("proto") or _last(headers, "x-forwarded-proto") or scheme
        host = forwarded.get("host") or _last(headers, "x-forwarded-host") or host
    scheme = scheme.lower()
    if scheme not in _SCHEMES or not host or not _HOST.fullmatch(host):
        return None
    return f"{scheme}://{host}"


def _trusted(peer: str, proxies: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False  # a Unix socket path, or nothing
    return any(address in network for network in proxies)


def _last(headers: Headers, name: str) -> str | None:
    """The last entry of a comma-separated header (over all its lines): the one the proxy next to
    us added."""
    lines = headers.getlist(name)
    if not lines:
        return None
    return lines[-1].rsplit(",", 1)[-1].strip() or None


def _forwarded(headers: Headers) -> dict[str, str]:
    """The parameters of the last element of the `Forwarded` header (`for=...;proto=https;host=x`)."""
    element = _last(headers, "forwarded")
    pairs = {}
    for pair in (element or "").split(";"):
        name, _, value = pair.partition("=")
        if value:
            pairs[name.strip().lower()] = value.strip().strip('"')
    return pairs
