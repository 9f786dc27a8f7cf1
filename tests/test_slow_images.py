"""Slow image hosts cannot starve the server (issue 10, finding 2). Image URLs are fetched on the
event loop, not on the request threads that also serve polls, media and /healthz; each fetch has a
total deadline; an account has at most `image_fetches_per_account` (4) fetches in flight.

Against a real `reelforge serve` trusting loopback image URLs and testkit's ImageServer, whose
`/hang` accepts and never answers and whose `/trickle` sends one byte every 2 s. Before the fix, 60
such URLs held the 40 request threads: a status poll waited 7.8 s (19 ms at rest)."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from testkit.support import ServerProcess

FETCH_TIMEOUT = 4  # the server's image_fetch_timeout here (30 s by default)
SLOW = 60  # creates with a slow image URL in flight at once: more than AnyIO's 40 request threads
CAP = 4  # image_fetches_per_account, the default
OPENAI = "/v1/videos"
GEMINI = "/v1beta/models/veo-3.1-lite:predictLongRunning"
AIML = "/v2/video/generations"
HIGHWAY = "/v3/async/veo-3.1-lite-i2v"


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    env = {
        "REELFORGE_IMAGE_FETCH_ALLOWLIST": "127.0.0.1",
        "REELFORGE_IMAGE_FETCH_TIMEOUT": str(FETCH_TIMEOUT),
    }
    srv = ServerProcess(tmp_path_factory.mktemp("slow-images") / "data", workers=1, env=env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(slow_server):
    """One client for every request: a client per create would spend ~30 ms of CPU each on TLS set-up
    and slow this side down, not the server."""
    with httpx.Client(
        base_url=slow_server.url, timeout=60, limits=httpx.Limits(max_connections=2 * SLOW)
    ) as c:
        yield c


def auth(server: ServerProcess, name: str) -> dict:
    """The headers of the account named `name` (server.key)."""
    return {"Authorization": f"Bearer {server.key(name)}"}


def create(http: httpx.Client, headers: dict, dialect: str, image_url: str) -> httpx.Response:
    """A 4-second image-to-video create through `dialect` with its first frame at `image_url`."""
    path, body = {
        "openai": (OPENAI, {"prompt": "slow", "seconds": "4", "input_reference": image_url}),
        "gemini": (
            GEMINI,
            {
                "instances": [{"prompt": "slow", "image": {"uri": image_url}}],
                "parameters": {"durationSeconds": 4},
            },
        ),
        "aimlapi": (AIML, {"model": "veo-3.1-lite-generate-001", "prompt": "slow", "image_url": image_url}),
        "highway": (HIGHWAY, {"prompt": "slow", "image": image_url, "duration": 4}),
    }[dialect]
    return http.post(path, json=body, headers=headers)


def timed_out_message(dialect: str, resp: httpx.Response) -> str:
    """The message of a 400 in the dialect's own error shape."""
    assert resp.status_code == 400, (dialect, resp.status_code, resp.text)
    body = resp.json()
    if dialect == "openai":
        assert (
            body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == "input_reference"
        )
        return body["error"]["message"]
    if dialect == "gemini":
        assert body["error"]["status"] == "INVALID_ARGUMENT" and body["error"]["code"] == 400
        return body["error"]["message"]
    if dialect == "aimlapi":
        assert body["statusCode"] == 400 and body["path"] == AIML
        return body["message"]
    assert body["code"] == 400 and body["metadata"] == {"field": "image"}  # HighwayAPI
    return body["message"]


def wait_for_hits(image_host, tag: str, count: int, timeout: float) -> None:
    """Until the image host has received `count` requests whose path contains `tag`."""
    deadline = time.monotonic() + timeout
    while sum(tag in path for path, _ in image_host.hits) < count:
        assert time.monotonic() < deadline, (
            f"only {sum(tag in p for p, _ in image_host.hits)} fetches started"
        )
        time.sleep(0.05)


def elapsed(call) -> float:
    started = time.monotonic()
    resp = call()
    assert resp.status_code == 200, resp.text
    return time.monotonic() - started


@pytest.fixture(scope="module")
def watcher(slow_server, http) -> tuple[dict, str]:
    """An account of its own and its completed video, to poll and download during the attack."""
    headers = auth(slow_server, "watcher")
    video_id = http.post(OPENAI, json={"prompt": "at rest", "seconds": "4"}, headers=headers).json()["id"]
    deadline = time.monotonic() + 120
    while http.get(f"{OPENAI}/{video_id}", headers=headers).json()["status"] != "completed":
        assert time.monotonic() < deadline, "the video did not complete"
        time.sleep(0.5)
    return headers, video_id


def test_polls_health_and_media_answer_while_60_slow_image_hosts_are_fetched(
    slow_server, http, image_host, watcher
):
    headers, video_id = watcher
    tag = f"starve-{uuid.uuid4().hex[:8]}"
    dialects = ("openai", "gemini", "aimlapi", "highway")
    accounts = [auth(slow_server, f"slow-{tag}-{n}") for n in range(SLOW // CAP)]  # 15 x 4: none over its cap
    calls = [
        (
            accounts[i % len(accounts)],
            dialects[i % 4],
            f"{image_host.base}/{('hang', 'trickle')[i % 2]}?{tag}-{i}",
        )
        for i in range(SLOW)
    ]

    def timed_create(account, dialect, url):
        started = time.monotonic()
        resp = create(http, account, dialect, url)
        return dialect, resp, time.monotonic() - started

    with ThreadPoolExecutor(SLOW) as pool:
        futures = [pool.submit(timed_create, *call) for call in calls]
        wait_for_hits(image_host, tag, SLOW, timeout=FETCH_TIMEOUT - 1)
        for _ in range(3):
            assert elapsed(lambda: http.get(f"{OPENAI}/{video_id}", headers=headers)) < 1
            assert elapsed(lambda: http.get("/healthz")) < 1
            assert elapsed(lambda: http.get(f"{OPENAI}/{video_id}/content", headers=headers)) < 1
        answers = [future.result() for future in futures]

    for dialect, resp, took in answers:
        assert "image URL timed out" in timed_out_message(dialect, resp)
        assert took < FETCH_TIMEOUT + 3, (dialect, took)  # the total deadline, not a read timeout per byte


def test_the_fifth_fetch_of_one_account_is_refused_with_429_before_it_starts(slow_server, http, image_host):
    tag = f"cap-{uuid.uuid4().hex[:8]}"
    capped = auth(slow_server, f"capped-{tag}")
    with ThreadPoolExecutor(CAP) as pool:
        hanging = [
            pool.submit(create, http, capped, "openai", f"{image_host.base}/hang?{tag}-{i}")
            for i in range(CAP)
        ]
        wait_for_hits(image_host, tag, CAP, timeout=FETCH_TIMEOUT - 1)

        openai = create(http, capped, "openai", f"{image_host.base}/img.png?{tag}-fifth")
        assert openai.status_code == 429 and int(openai.headers["Retry-After"]) >= 1, openai.text
        assert openai.json()["error"]["code"] == "rate_limit_exceeded"
        gemini = create(http, capped, "gemini", f"{image_host.base}/img.png?{tag}-fifth")
        assert gemini.status_code == 429 and int(gemini.headers["Retry-After"]) >= 1, gemini.text
        assert gemini.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert f"{CAP} image URLs at once" in gemini.json()["error"]["message"]
        assert not any(f"{tag}-fifth" in path for path, _ in image_host.hits)  # never fetched

        other = create(http, auth(slow_server, f"other-{tag}"), "openai", f"{image_host.base}/img.png")
        assert other.status_code == 200, other.text  # the cap is per account
        for future in hanging:
            assert "timed out" in timed_out_message("openai", future.result())

    again = create(http, capped, "openai", f"{image_host.base}/img.png")
    assert again.status_code == 200, again.text  # the slots are given back


def test_a_refused_create_fetches_nothing(slow_server, http, image_host):
    """The draft is checked before its image is fetched: a bad duration answers at once."""
    tag = f"refused-{uuid.uuid4().hex[:8]}"
    body = {"prompt": "x", "seconds": "5", "input_reference": f"{image_host.base}/hang?{tag}"}
    started = time.monotonic()
    resp = http.post(OPENAI, json=body, headers=auth(slow_server, f"refused-{tag}"))
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "seconds", resp.text
    assert time.monotonic() - started < FETCH_TIMEOUT
    assert not any(tag in path for path, _ in image_host.hits)
