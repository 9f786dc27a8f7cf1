"""Absolute URLs follow the request when no public base URL is configured: a server listening on
0.0.0.0 hands out media, poster, upload and Gemini file URLs under the Host the client used (never
`http://0.0.0.0:...`), and they work. `X-Forwarded-Host/-Proto` and `Forwarded` count only from
REELFORGE_TRUSTED_PROXIES; REELFORGE_PUBLIC_BASE_URL, when set, always wins. `serve` warns on a
wildcard address without a public base URL. Real servers in subprocesses, real MP4s.
"""

import json
import uuid

import httpx
import pytest

from reelforge.api.origin import request_origin
from reelforge.config import Settings
from testkit.google import wait_done
from testkit.support import ServerProcess, make_image, probe_mp4, wait_for_generation

WARNING = "warning: listening on 0.0.0.0 without REELFORGE_PUBLIC_BASE_URL"
PUBLIC = "https://videos.example.org"
FORWARDED = {"X-Forwarded-Host": "proxied.example.com", "X-Forwarded-Proto": "https"}


def _start(tmp_path_factory, name: str, workers: int = 0, **env: str) -> ServerProcess:
    data = tmp_path_factory.mktemp(name) / "data"
    return ServerProcess(data, workers=workers, env={"REELFORGE_HOST": "0.0.0.0", **env}).start()


@pytest.fixture(scope="module")
def wildcard(tmp_path_factory):
    """On 0.0.0.0, trusting only a network the tests do not connect from."""
    srv = _start(tmp_path_factory, "wildcard", workers=1, REELFORGE_TRUSTED_PROXIES="192.0.2.0/24")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory):
    srv = _start(tmp_path_factory, "proxied", REELFORGE_TRUSTED_PROXIES="127.0.0.1")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    srv = _start(tmp_path_factory, "public", REELFORGE_PUBLIC_BASE_URL=PUBLIC)
    yield srv
    srv.stop()


def _client(server: ServerProcess, host: str = "127.0.0.1", **headers: str) -> httpx.Client:
    key = server.key(f"origin-{uuid.uuid4()}")
    headers = {"Authorization": f"Bearer {key}", **headers}
    return httpx.Client(base_url=f"http://{host}:{server.port}", headers=headers, timeout=60)


def _reserve(api: httpx.Client) -> tuple[str, str, str]:
    """Reserve an init image: (the upload URL handed out, its form fields, the image id)."""
    reserved = api.post("/api/rest/v1/init-image", json={"extension": "png"})
    assert reserved.status_code == 200, reserved.text
    target = reserved.json()["uploadInitImage"]
    return target["url"], target["fields"], target["id"]


def _upload_and_read_back(api: httpx.Client, upload_to: str | None = None) -> tuple[str, str]:
    """Reserve an init image, upload it (to `upload_to` if given: where the URL handed out names no
    reachable server; else there), read it back: (the upload URL handed out, the image's media URL)."""
    upload_url, fields, image_id = _reserve(api)
    posted = httpx.post(
        upload_to or upload_url, data=json.loads(fields), files={"file": ("i.png", make_image(64, 64))}
    )
    assert posted.status_code == 204, posted.text
    image = api.get(f"/api/rest/v1/init-image/{image_id}").json()["init_images_by_pk"]
    return upload_url, image["url"]


def _on_server(url: str, server: ServerProcess) -> str:
    """`url` with its origin replaced by the server's loopback address (for URLs naming a proxy)."""
    path = url.split("/", 3)[3]
    return f"{server.url}/{path}"


# a wildcard address without a public base URL --------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_media_and_poster_urls_use_the_host_the_client_sent(wildcard, host):
    origin = f"http://{host}:{wildcard.port}"
    with _client(wildcard, host) as api:
        body = {"model": "veo-3.1-lite", "parameters": {"prompt": "origin", "duration": 4}}
        created = api.post("/api/rest/v2/generations", json=body)
        assert created.status_code == 200, created.text
        generation = wait_for_generation(api, created.json()["generate"]["generationId"])
    assert generation["status"] == "COMPLETE", generation
    [image] = generation["generated_images"]
    video_url, poster_url = image["motionMP4URL"], image["url"]
    assert video_url.startswith(f"{origin}/media/outputs/"), video_url
    assert poster_url.startswith(f"{origin}/media/outputs/"), poster_url
    video = httpx.get(video_url, timeout=60)
    assert video.status_code == 200 and probe_mp4(video.content).frames > 0
    poster = httpx.get(poster_url, timeout=60)
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_upload_urls_use_the_host_the_client_sent(wildcard, host):
    origin = f"http://{host}:{wildcard.port}"
    with _client(wildcard, host) as api:
        upload_url, image_url = _upload_and_read_back(api)
    assert upload_url == f"{origin}/uploads"
    assert image_url.startswith(f"{origin}/media/uploads/"), image_url
    assert httpx.get(image_url).content == make_image(64, 64)


def test_gemini_file_uris_use_the_host_the_client_sent(wildcard):
    key = wildcard.key(f"origin-gemini-{uuid.uuid4()}")
    origin = f"http://localhost:{wildcard.port}"
    with httpx.Client(base_url=origin, headers={"x-goog-api-key": key}, timeout=60) as api:
        body = {"instances": [{"prompt": "origin"}], "parameters": {"durationSeconds": 4}}
        created = api.post("/v1beta/models/veo-3.1-lite-generate-preview:predictLongRunning", json=body)
        assert created.status_code == 200, created.text
        name = created.json()["name"]
        op = wait_done(lambda: api.get(f"/v1beta/{name}").json())
        uri = op["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        assert uri.startswith(f"{origin}/v1beta/files/"), uri
        assert api.get(uri).status_code == 200


def test_forwarded_headers_of_an_untrusted_peer_are_ignored(wildcard):
    with _client(wildcard, **FORWARDED, Forwarded="proto=https;host=other.example.com") as api:
        upload_url, image_url = _upload_and_read_back(api)
    origin = f"http://127.0.0.1:{wildcard.port}"
    assert upload_url == f"{origin}/uploads"
    assert image_url.startswith(f"{origin}/media/"), image_url


def test_serve_warns_on_a_wildcard_address_without_a_public_base_url(wildcard):
    assert WARNING in _log(wildcard)
    assert "set REELFORGE_PUBLIC_BASE_URL" in _log(wildcard)


# behind a trusted proxy ------------------------------------------------------------------------


def test_forwarded_headers_of_a_trusted_proxy_are_honoured(behind_proxy):
    with _client(behind_proxy, **FORWARDED) as api:
        upload_url, image_url = _upload_and_read_back(api, f"{behind_proxy.url}/uploads")
    assert upload_url == "https://proxied.example.com/uploads"
    assert image_url.startswith("https://proxied.example.com/media/uploads/"), image_url
    # the signature covers key and expiry, not the host: the URL works whichever name reaches us
    assert httpx.get(_on_server(image_url, behind_proxy)).content == make_image(64, 64)


def test_the_rfc_7239_forwarded_header_of_a_trusted_proxy_is_honoured(behind_proxy):
    with _client(behind_proxy, Forwarded='for=203.0.113.7;proto=https;host="docs.example.net:8443"') as api:
        upload_url, _, _ = _reserve(api)
    assert upload_url == "https://docs.example.net:8443/uploads"


# a public base URL -----------------------------------------------------------------------------


def test_a_public_base_url_always_wins(public):
    with _client(public, "localhost", **FORWARDED) as api:
        upload_url, _, _ = _reserve(api)
    assert upload_url == f"{PUBLIC}/uploads"
    with _client(public, "localhost") as api:
        upload_url, image_url = _upload_and_read_back(api, f"{public.url}/uploads")
    assert upload_url == f"{PUBLIC}/uploads"
    assert image_url.startswith(f"{PUBLIC}/media/uploads/"), image_url
    assert WARNING not in _log(public)


def _log(server: ServerProcess) -> str:
    """What the server printed, with Rich's line wrapping undone."""
    return " ".join((server.data_dir.parent / f"server-{server.port}.log").read_text().split())


# the origin of a request, header by header (no server) -----------------------------------------


def _scope(peer: str, *headers: tuple[str, str], scheme: str = "http") -> dict:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers]
    return {"type": "http", "scheme": scheme, "client": (peer, 5000), "headers": raw}


PROXIES = Settings(trusted_proxies="10.0.0.0/8, ::1").proxy_networks


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (_scope("192.0.2.1", ("host", "a.example:8000")), "http://a.example:8000"),
        (_scope("192.0.2.1", ("host", "[::1]:8000")), "http://[::1]:8000"),
        (_scope("192.0.2.1", ("host", "a.example"), scheme="https"), "https://a.example"),
        (_scope("192.0.2.1", ("host", "a.example"), ("x-forwarded-host", "b.example")), "http://a.example"),
        (_scope("10.1.2.3", ("host", "a.example"), ("x-forwarded-host", "b.example")), "http://b.example"),
        # the last value is the one the proxy next to us wrote
        (_scope("::1", ("host", "a"), ("x-forwarded-host", "evil.example, b.example")), "http://b.example"),
        (
            _scope("::1", ("host", "a"), ("x-forwarded-proto", "https"), ("x-forwarded-host", "b")),
            "https://b",
        ),
        (
            _scope("::1", ("host", "a"), ("forwarded", 'for=x;host="c.example";proto=https')),
            "https://c.example",
        ),
        (
            _scope("::1", ("host", "a"), ("forwarded", "host=evil, host=c"), ("x-forwarded-host", "b")),
            "http://c",
        ),
        # what is not a host or a web scheme is not followed
        (_scope("192.0.2.1", ("host", "a.example/x?y")), None),
        (_scope("192.0.2.1", ("host", "a.example@b")), None),
        (_scope("192.0.2.1"), None),
        (_scope("10.1.2.3", ("host", "a"), ("x-forwarded-proto", "javascript")), None),
        (_scope("10.1.2.3", ("host", "a"), ("x-forwarded-host", "b/c")), None),
    ],
)
def test_request_origin(scope, expected):
    assert request_origin(scope, PROXIES) == expected


def test_a_bad_trusted_proxy_setting_is_refused():
    with pytest.raises(ValueError, match="not-an-ip"):
        Settings(trusted_proxies="127.0.0.1, not-an-ip")
