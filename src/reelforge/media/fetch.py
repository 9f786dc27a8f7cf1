"""Image intake for every dialect: an image value as a client sends it (an http(s) URL, raw
base64, or a data URI) becomes image bytes, or an `InvalidRequest`. Fetching and decoding only:
storing the bytes is the service's (service/submissions.py).

Two entry points, because a URL is network I/O and inline data is not: `fetch_image_url(url,
allowlist)` is async (httpx.AsyncClient on the event loop, so a slow host holds no request thread;
the service awaits it before submitting) and `decode_image_source(value)` decodes a data URI or raw
base64. `is_image_url` says which one a value needs. Whatever the source, the bytes must be JPEG,
PNG or WebP, at most `MAX_IMAGE_BYTES` (20 MB), and pass `validate_image_bytes` (pixel and
decompression-bomb limits, corrupt files).

Fetching a URL is SSRF-safe:
- only `http` and `https`, no credentials in the URL;
- the host is resolved here, once (asynchronously: `system_resolver`; tests inject their own), and
  every address it resolves to must be public: loopback, private, shared (CGNAT), link-local,
  multicast, reserved, unspecified, documentation and cloud metadata addresses (169.254.169.254,
  fd00:ec2::254, 100.100.100.200) are refused, also when embedded in IPv6 (v4-mapped, 6to4,
  Teredo, NAT64);
- the connection goes to the vetted address (the URL's host is kept for `Host` and TLS SNI and
  certificate checks), so a DNS answer that changes between check and connect (rebinding) cannot
  redirect it; no proxy from the environment is used;
- redirects are followed by hand, at most `MAX_REDIRECTS` (3), each hop vetted the same way;
- `CONNECT_TIMEOUT` (5 s) per connection, `READ_TIMEOUT` (10 s) per read, and `TOTAL_TIMEOUT`
  (30 s, Settings.image_fetch_timeout) for the whole fetch, DNS and redirects included, enforced
  by a cancel scope (a host trickling a byte at a time cannot stretch it);
- `Accept-Encoding: identity` and the size cap enforced on the raw bytes while they stream (a
  `Content-Length` over the cap is refused unread).

An allowlist (Settings.image_fetch_allowlist, comma-separated hosts and/or CIDRs) lets tests and
trusted networks through: a URL whose host name is listed (exact, or `.example.com` for a domain
and its subdomains) or whose resolved addresses all fall in a listed network (`10.0.0.0/8`,
`127.0.0.1`) is fetched even though its addresses are not public. Everything else still applies.
"""

import base64
import binascii
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from reelforge.core.errors import InvalidRequest
from reelforge.media.images import MAX_IMAGE_BYTES, decode_image

MAX_REDIRECTS = 3
CONNECT_TIMEOUT = 5.0  # seconds to open a connection
READ_TIMEOUT = 10.0  # seconds without a byte before a read gives up
TOTAL_TIMEOUT = 30.0  # seconds for a whole fetch: DNS, every redirect and the body
IMAGE_MEDIA_TYPES = {"image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp"}
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_BASE64_CHARS = re.compile(rb"^[A-Za-z0-9+/_-]*={0,2}$")
# base64 text of MAX_IMAGE_BYTES, plus slack for line breaks
_MAX_BASE64_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 64 * 1024
_USER_AGENT = "reelforge-image-fetch/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class Allowlist:
    """Host names and networks whose non-public addresses may still be fetched."""

    hosts: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()  # ".example.com": the domain and every subdomain
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())

    @classmethod
    def parse(cls, entries: "str | Iterable[str] | Allowlist | None") -> "Allowlist":
        if isinstance(entries, Allowlist):
            return entries
        if entries is None:
            return cls()
        items = entries.split(",") if isinstance(entries, str) else list(entries)
        hosts, domains, networks = set(), [], []
        for raw in items:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                entry = entry[1:]
            if entry.startswith("."):
                domains.append(entry)
            else:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(domains), tuple(networks))

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or any(host.endswith(d) or host == d[1:] for d in self.domains)

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if address.version != 6:
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses that are not a cloud metadata endpoint."""
    if address in METADATA_ADDRESSES:
        return False
    if (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
        or getattr(address, "is_site_local", False)
    ):
        return False
    return all(is_public_address(inner) for inner in _embedded_ipv4(address))


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses, looked up in the event loop's executor (not a request thread)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every fetch: building one costs ~30 ms of CPU on the event loop."""
    return httpx.create_ssl_context(trust_env=False)


def _fail(field_name: str | None, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field_name}: {message}" if field_name else message, field_name)


@dataclass(frozen=True)
class _Target:
    url: str  # the URL as given (for Host, SNI and relative redirects)
    scheme: str
    host: str  # IDNA-encoded host name or IP literal, without brackets
    port: int
    address: IPAddress  # the vetted address the connection goes to
    target: str  # path + query


async def vet_url(
    url: str,
    allowlist: Allowlist,
    resolver: Resolver = system_resolver,
    field_name: str | None = None,
    what: str = "image URL",
) -> _Target:
    """Check a URL and resolve its host; the address to connect to, or InvalidRequest. `what` names
    the URL in messages."""
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError:
        raise _fail(field_name, f"{what} is malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _fail(field_name, f"{what} must use http or https")
    if not hostname:
        raise _fail(field_name, f"{what} has no host")
    if parts.username is not None or parts.password is not None:
        raise _fail(field_name, f"{what} must not contain credentials")
    try:
        host = hostname.encode("idna").decode("ascii") if not _is_ip_literal(hostname) else hostname
    except UnicodeError:
        raise _fail(field_name, f"{what} host is not a valid name") from None
    port = port or (443 if scheme == "https" else 80)
    try:
        resolved = [ipaddress.ip_address(a.split("%", 1)[0]) for a in await resolver(host, port)]
    except (OSError, UnicodeError, ValueError):
        raise _fail(field_name, f"{what} host {host!r} could not be resolved") from None
    if not resolved:
        raise _fail(field_name, f"{what} host {host!r} could not be resolved")
    if not allowlist.allows_host(host):
        for address in resolved:
            if not is_public_address(address) and not allowlist.allows_address(address):
                raise _fail(field_name, f"{what} points to a private or reserved address")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return _Target(url, scheme, host, port, resolved[0], target)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def fetch_image_url(
    url: str,
    allowlist: "str | Iterable[str] | Allowlist | None" = None,
    *,
    field_name: str | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    resolver: Resolver = system_resolver,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    max_redirects: int = MAX_REDIRECTS,
) -> bytes:
    """GET an image over http(s) with every SSRF guard in the module docstring; its raw bytes
    (not validated yet). InvalidRequest when it cannot, or not within `total_timeout` seconds."""
    policy = Allowlist.parse(allowlist)
    timeout = httpx.Timeout(
        connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
    )
    try:
        with anyio.fail_after(total_timeout):
            async with httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, trust_env=False, verify=tls_context()
            ) as client:
                for _hop in range(max_redirects + 1):
                    target = await vet_url(url, policy, resolver, field_name)
                    status, location, data = await _get(client, target, max_bytes, field_name)
                    if status in (301, 302, 303, 307, 308):
                        if not location:
                            raise _fail(field_name, f"image URL answered HTTP {status} without a Location")
                        url = urljoin(url, location)
                        continue
                    if status != 200:
                        raise _fail(field_name, f"image URL answered HTTP {status}")
                    return data
    except TimeoutError:
        raise _fail(field_name, f"image URL timed out: no image within {total_timeout:g} s") from None
    raise _fail(field_name, f"image URL redirected more than {max_redirects} times")


def pinned_request(target: _Target) -> tuple[str, dict[str, str], dict]:
    """The URL, `Host` header and TLS extensions of a request that connects to the vetted address
    (not to whatever the name resolves to later) and still names the host for Host, SNI and the
    certificate check."""
    literal = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    host_header = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    if target.port != default_port:
        host_header += f":{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return f"{target.scheme}://{literal}:{target.port}{target.target}", {"Host": host_header}, extensions


async def _get(
    client: httpx.AsyncClient, target: _Target, max_bytes: int, field_name: str | None
) -> tuple[int, str | None, bytes]:
    request_url, headers, extensions = pinned_request(target)
    headers.update({"Accept": "image/*", "Accept-Encoding": "identity", "User-Agent": _USER_AGENT})
    try:
        request = client.build_request("GET", request_url, headers=headers, extensions=extensions)
        response = await client.send(request, stream=True)
    except httpx.TimeoutException:
        raise _fail(field_name, "image URL timed out") from None
    except (httpx.HTTPError, OSError, ValueError):
        raise _fail(field_name, "image URL could not be fetched") from None
    try:
        if response.status_code != 200:
            return response.status_code, response.headers.get("location"), b""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(field_name, max_bytes)
        chunks, size = [], 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(field_name, max_bytes)
            chunks.append(chunk)
        return 200, None, b"".join(chunks)
    except httpx.TimeoutException:
        raise _fail(field_name, "image URL timed out") from None
    except httpx.HTTPError:
        raise _fail(field_name, "image URL could not be fetched") from None
    finally:
        await response.aclose()


def _too_large(field_name: str | None, max_bytes: int) -> InvalidRequest:
    return _fail(field_name, f"image is larger than {max_bytes // (1024 * 1024)} MB")


def decode_base64_image(text: str, field_name: str | None = None, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """Raw base64 (standard or URL-safe alphabet, padding optional, line breaks ignored) to bytes."""
    if len(text) > _MAX_BASE64_CHARS:
        raise _too_large(field_name, max_bytes)
    compact = re.sub(r"\s+", "", text).encode("ascii", "replace")
    if not compact or not _BASE64_CHARS.match(compact):
        raise _fail(field_name, "image must be an http(s) URL, base64 data or a data URI")
    compact = compact.replace(b"-", b"+").replace(b"_", b"/")
    compact += b"=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(field_name, "image is not valid base64") from None
    if len(data) > max_bytes:
        raise _too_large(field_name, max_bytes)
    return data


def decode_data_uri(value: str, field_name: str | None = None, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """`data:image/png;base64,...` to bytes; only base64 data URIs of JPEG, PNG or WebP."""
    header, comma, payload = value.partition(",")
    if not comma:
        raise _fail(field_name, "data URI has no data")
    params = [p.strip().lower() for p in header[len("data:") :].split(";")]
    media_type, options = params[0], params[1:]
    if "base64" not in options:
        raise _fail(field_name, "data URI must be base64-encoded")
    if media_type not in IMAGE_MEDIA_TYPES:
        raise _fail(field_name, "image must be JPEG, PNG or WebP")
    return decode_base64_image(payload, field_name, max_bytes)


def validate_image_bytes(data: bytes, field_name: str | None = None) -> bytes:
    """The bytes if they are a usable JPEG, PNG or WebP within every limit; InvalidRequest if not."""
    try:
        decode_image(data)
    except InvalidRequest as exc:
        raise _fail(field_name, exc.message) from None
    return data


def is_image_url(value: str) -> bool:
    """True for an http(s) URL (`fetch_image_url`), False for anything `decode_image_source` takes."""
    return value.strip()[:8].lower().startswith(("http://", "https://"))


def decode_image_source(value: str, field_name: str | None = None) -> bytes:
    """An inline image value as a dialect receives it, a data URI (`data:image/png;base64,...`) or
    raw base64, -> validated image bytes. `field_name` is the client's field, used to prefix
    messages and set `InvalidRequest.field`. An http(s) URL is refused: it is fetched (async) and
    handed over as bytes before a submission gets here."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(field_name, "image is empty")
    text = value.strip()
    lowered = text[:16].lower()
    if is_image_url(text):
        raise _fail(field_name, "an image URL must be fetched first (fetch_image_url)")
    if lowered.startswith("data:"):
        data = decode_data_uri(text, field_name)
    elif re.match(r"^[a-z][a-z0-9+.-]*:", lowered):
        raise _fail(field_name, "image URL must use http or https")
    else:
        data = decode_base64_image(text, field_name)
    return validate_image_bytes(data, field_name)
