"""The one image intake (media/fetch.py): URL, raw base64 and data URI to validated bytes, and the
SSRF guards and deadlines of URL fetching, against a real HTTP server on 127.0.0.1.

Only loopback ever receives traffic: private, link-local and metadata addresses are exercised
through an injected resolver, and the tests assert that no connection is attempted for them.
"""

import base64
import ipaddress
import time
from functools import partial
from urllib.parse import urlsplit

import anyio
import httpx
import pytest

from reelforge.config import Settings
from reelforge.core.errors import InvalidRequest
from reelforge.media.fetch import (
    Allowlist,
    decode_image_source,
    fetch_image_url,
    is_image_url,
    is_public_address,
    validate_image_bytes,
    vet_url,
)
from testkit.images import compressible_png, forged_png, gif_bytes
from testkit.imageserver import MB, PNG, WEBP
from testkit.support import free_port, make_image

JPEG = make_image(64, 48, "JPEG")

# `image_host` (testkit's ImageServer on 127.0.0.1, serving PNG at /img.png and WEBP at /img.webp)
# is a conftest.py fixture.


@pytest.fixture
def no_connections(monkeypatch):
    """Fail the test if the intake tries to open any HTTP connection."""

    def refuse(*args, **kwargs):
        raise AssertionError("the intake tried to connect")

    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


def fetch(url: str, allowlist=None, **options) -> bytes:
    """`fetch_image_url` run to completion from this (synchronous) test."""
    return anyio.run(partial(fetch_image_url, url, allowlist, **options))


def fake_resolver(table: dict[str, list[str]]):
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host in table:
            return table[host]
        ipaddress.ip_address(host)  # IP literals resolve to themselves; anything else fails
        return [host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def refused(says: str, fn, *args, **kwargs) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        fn(*args, **kwargs)
    assert says.lower() in info.value.message.lower(), info.value.message
    assert "Traceback" not in info.value.message
    return info.value


# address classification ----------------------------------------------------------------------------

BLOCKED = [
    "127.0.0.1",
    "127.255.255.254",
    "::1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (CGNAT)
    "100.100.100.200",  # Alibaba Cloud metadata
    "169.254.169.254",  # AWS/GCP/Azure metadata
    "169.254.1.1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fc00::1",
    "fe80::1",
    "0.0.0.0",
    "::",
    "224.0.0.1",  # multicast
    "ff02::1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
    "::ffff:127.0.0.1",  # v4-mapped loopback
    "::ffff:169.254.169.254",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2001:4860:4860::8888", "2606:4700:4700::1111"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "answer",
    [["10.0.0.1"], ["169.254.169.254"], ["fd00:ec2::254"], ["::ffff:10.0.0.1"], ["8.8.8.8", "10.0.0.1"]],
    ids=["private", "metadata", "metadata-v6", "v4-mapped", "one-of-two"],
)
def test_a_host_name_resolving_to_a_private_address_is_refused_without_connecting(answer, no_connections):
    resolver = fake_resolver({"images.example.com": answer})
    refused(
        "private or reserved",
        fetch,
        "https://images.example.com/cat.png",
        "",
        field_name="image_url",
        resolver=resolver,
    )
    assert resolver.calls == ["images.example.com"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://localhost/x.png",
        "http://[::1]/x.png",
        "http://2130706433/x.png",  # 127.0.0.1 as one decimal number
        "http://0x7f.1/x.png",
        "http://0177.0.0.1/x.png",
        "http://127.1/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1/x.png",
        "http://0.0.0.0:8000/x.png",
    ],
)
def test_loopback_private_and_metadata_urls_are_refused_by_default(url, no_connections):
    refused("private or reserved", fetch, url, "", field_name="image")


@pytest.mark.parametrize(
    "url, says",
    [
        ("ftp://example.com/x.png", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://127.0.0.1:6379/_INFO", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("http://user:pass@example.com/x.png", "credentials"),
        ("http:///x.png", "no host"),
        ("http://example.com:99999/x.png", "malformed"),
        ("http://exa mple.com/x.png", "resolved"),
    ],
)
def test_other_schemes_and_malformed_urls_are_refused(url, says, no_connections):
    refused(says, fetch, url, "", resolver=fake_resolver({}))
    if not is_image_url(url):  # what a create does with a value that is no http(s) URL
        refused(says, decode_image_source, url)


# fetching from a real local server ------------------------------------------------------------------


def test_local_server_is_refused_by_default_and_receives_nothing(image_host):
    before = len(image_host.hits)
    refused("private or reserved", fetch, f"{image_host.base}/img.png", "")
    refused(
        "private or reserved",
        fetch,
        f"{image_host.base}/img.png",
        Settings().image_fetch_allowlist,
    )
    assert len(image_host.hits) == before


@pytest.mark.parametrize(
    "allowlist", ["127.0.0.1", "127.0.0.0/8", " 10.0.0.0/8 , 127.0.0.1/32 ", ["127.0.0.1"]]
)
def test_allowlisted_address_is_fetched(image_host, allowlist):
    assert fetch(f"{image_host.base}/img.png", allowlist) == PNG


def test_allowlisted_host_name_is_fetched(image_host):
    assert fetch(f"http://localhost:{image_host.port}/img.webp", "localhost") == WEBP
    assert fetch(f"http://LOCALHOST:{image_host.port}/img.webp", ".localhost") == WEBP


def test_allowlist_from_settings_and_environment(monkeypatch):
    monkeypatch.setenv("REELFORGE_IMAGE_FETCH_ALLOWLIST", "127.0.0.1,.corp.example, images.internal")
    policy = Allowlist.parse(Settings().image_fetch_allowlist)
    assert policy.allows_address(ipaddress.ip_address("127.0.0.1"))
    assert not policy.allows_address(ipaddress.ip_address("127.0.0.2"))
    assert policy.allows_host("a.b.corp.example") and policy.allows_host("corp.example")
    assert policy.allows_host("images.internal") and not policy.allows_host("evil-images.internal")
    assert Allowlist.parse(Settings(image_fetch_allowlist="").image_fetch_allowlist) == Allowlist()


def test_connection_goes_to_the_vetted_address_without_resolving_again(image_host):
    """A name is resolved once, by the intake; the connection goes to that address with the URL's
    host in the Host header. A DNS answer that changes after the check (rebinding) is never used:
    `rebind.test` does not exist in any real DNS, so the fetch can only work this way."""
    resolver = fake_resolver({"rebind.test": ["127.0.0.1"]})
    data = fetch(f"http://rebind.test:{image_host.port}/img.png?v=1", "127.0.0.1", resolver=resolver)
    assert data == PNG
    assert resolver.calls == ["rebind.test"]
    assert image_host.hits[-1] == ("/img.png?v=1", f"rebind.test:{image_host.port}")


def test_redirect_to_loopback_is_refused(image_host):
    """`trusted.test` is allowlisted by name (it resolves to loopback here); its redirect to
    127.0.0.1, which is not allowlisted, is vetted like any URL and refused before it is followed."""
    resolver = fake_resolver({"trusted.test": ["127.0.0.1"]})
    before = len(image_host.hits)
    url = f"http://trusted.test:{image_host.port}/redirect/1/abs:127.0.0.1:{image_host.port}/img.png"
    refused("private or reserved", fetch, url, "trusted.test", resolver=resolver)
    assert [path for path, _ in image_host.hits[before:]] == [
        urlsplit(url).path
    ]  # the target never got a request


def test_redirect_to_metadata_address_is_refused(image_host, monkeypatch):
    resolver = fake_resolver({"trusted.test": ["127.0.0.1"]})
    url = f"http://trusted.test:{image_host.port}/redirect/1/abs:169.254.169.254/latest/meta-data/"
    refused("private or reserved", fetch, url, "trusted.test", resolver=resolver)


def test_redirects_within_the_allowlist_are_followed_up_to_three(image_host):
    assert fetch(f"{image_host.base}/redirect/3/img.png", "127.0.0.1") == PNG
    before = len(image_host.hits)
    refused("more than 3", fetch, f"{image_host.base}/redirect/4/img.png", "127.0.0.1")
    assert len(image_host.hits) - before == 4  # the fourth redirect is never followed
    refused("without a location", fetch, f"{image_host.base}/redirect-no-location", "127.0.0.1")


def test_http_errors_and_non_images_are_refused(image_host):
    refused("HTTP 404", fetch, f"{image_host.base}/missing", "127.0.0.1")
    refused("JPEG, PNG or WebP", validate_image_bytes, fetch(f"{image_host.base}/gif", "127.0.0.1"))
    refused("JPEG, PNG or WebP", validate_image_bytes, fetch(f"{image_host.base}/html", "127.0.0.1"))


def test_content_encoding_is_not_decoded(image_host):
    """The intake asks for identity encoding and reads raw bytes, so a gzip answer cannot expand
    past the cap; here the bytes are a PNG mislabelled gzip and arrive as they were sent."""
    assert fetch(f"{image_host.base}/gzip", "127.0.0.1") == PNG


def test_declared_oversize_is_refused_without_reading(image_host):
    started = time.monotonic()
    refused("larger than 20 MB", fetch, f"{image_host.base}/big-declared", "127.0.0.1")
    assert time.monotonic() - started < 5


def test_oversize_stream_is_cut_at_the_cap(image_host):
    """40 MB sent chunked, without a Content-Length: the read stops just past 20 MB."""
    refused("larger than 20 MB", fetch, f"{image_host.base}/big-chunked", "127.0.0.1")
    refused("larger than 1 MB", fetch, f"{image_host.base}/big-chunked", "127.0.0.1", max_bytes=MB)


def test_read_timeout(image_host):
    started = time.monotonic()
    refused("timed out", fetch, f"{image_host.base}/slow", "127.0.0.1", read_timeout=0.3)
    assert time.monotonic() - started < 1.9


@pytest.mark.parametrize("path", ["hang", "trickle"])
def test_the_total_deadline_cuts_a_host_that_never_finishes(image_host, path):
    """`/hang` never answers (only the 10 s read timeout would end it); `/trickle` sends a byte every
    2 s (no read timeout ever fires): the whole fetch is cut at `total_timeout`."""
    started = time.monotonic()
    refused(
        "timed out: no image within 0.5 s", fetch, f"{image_host.base}/{path}", "127.0.0.1", total_timeout=0.5
    )
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_a_clean_error():
    refused("could not be fetched", fetch, f"http://127.0.0.1:{free_port()}/x.png", "127.0.0.1")


def test_vet_url_reports_the_address_to_connect_to():
    target = anyio.run(
        vet_url,
        "https://cdn.example.com:8443/a/b.png?x=1#frag",
        Allowlist(),
        fake_resolver({"cdn.example.com": ["93.184.216.34"]}),
    )
    assert (target.scheme, target.host, target.port, str(target.address), target.target) == (
        "https",
        "cdn.example.com",
        8443,
        "93.184.216.34",
        "/a/b.png?x=1",
    )


# base64 and data URIs -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [PNG, JPEG, WEBP], ids=["png", "jpeg", "webp"])
def test_raw_base64_and_data_uris(data):
    text = base64.b64encode(data).decode()
    assert decode_image_source(text) == data
    assert decode_image_source(text.rstrip("=")) == data  # padding optional
    assert decode_image_source(base64.urlsafe_b64encode(data).decode()) == data
    assert decode_image_source("\n".join(text[i : i + 76] for i in range(0, len(text), 76))) == data
    for media_type in ("image/png", "image/jpeg", "image/webp", "IMAGE/PNG"):
        # the declared type must be an image type we take; the bytes decide which
        assert decode_image_source(f"data:{media_type};base64,{text}") == data


BAD_INLINE = [
    pytest.param("!!!!", "base64 data or a data uri", id="not-base64"),
    pytest.param("aGVsbG8gd29ybGQ=", "JPEG, PNG or WebP", id="base64-of-text"),
    pytest.param("abcde", "not valid base64", id="truncated-base64"),
    pytest.param("", "empty", id="empty"),
    pytest.param("   ", "empty", id="blank"),
    pytest.param(
        "data:image/gif;base64," + base64.b64encode(gif_bytes()).decode(), "JPEG, PNG", id="gif-uri"
    ),
    pytest.param(base64.b64encode(gif_bytes()).decode(), "JPEG, PNG or WebP", id="gif-base64"),
    pytest.param("data:image/png," + "%89PNG", "base64", id="uri-not-base64"),
    pytest.param("data:image/png;base64", "no data", id="uri-without-data"),
    pytest.param("data:text/plain;base64,aGVsbG8=", "JPEG, PNG or WebP", id="uri-text"),
    pytest.param("data:image/png;base64,!!!!", "base64 data or a data uri", id="uri-bad-base64"),
    pytest.param(
        "data:image/png;base64," + base64.b64encode(forged_png(100_000, 100_000)).decode(),
        "pixels",
        id="header-claims-10-gigapixels",
    ),
    pytest.param(
        base64.b64encode(compressible_png(7000, 6000)).decode(), "pixels", id="real-42-megapixel-png"
    ),
    pytest.param(base64.b64encode(PNG[: len(PNG) // 2]).decode(), "corrupt", id="truncated-png"),
    pytest.param(base64.b64encode(make_image(8, 8)).decode(), "at least", id="too-small"),
]


@pytest.mark.parametrize("value, says", BAD_INLINE)
def test_bad_inline_images_are_refused(value, says, no_connections):
    error = refused(says, decode_image_source, value, field_name="image")
    assert error.field == "image" and error.message.startswith("image: ")


def test_base64_over_20_mb_is_refused_before_decoding():
    text = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * MB)).decode()
    refused("larger than 20 MB", decode_image_source, text)
    refused("larger than 20 MB", decode_image_source, "data:image/png;base64," + text)
    refused("larger than 20 MB", decode_image_source, "A" * (40 * MB))


# storing -------------------------------------------------------------------------------------------
