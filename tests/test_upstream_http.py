"""The upstream HTTP layer on its own: Retry-After in both spellings, the providers' error shapes
read for their message, retries that honour Retry-After, the SSRF vetting of the base URL, and a
credential that never leaves the provider's origin (a redirect or a CDN URL gets no key)."""

from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from reelforge.core.clock import now
from reelforge.engines.base import UpstreamRejected, UpstreamUnavailable
from reelforge.engines.upstream.http import Reply, UpstreamHttp, message_of, retry_after
from reelforge.media.fetch import Allowlist
from testkit.support import serve_in_thread

LOOPBACK = Allowlist.parse("127.0.0.1")


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after(httpx.Headers({"Retry-After": "7"})) == 7
    later = format_datetime(now() + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after(httpx.Headers({"Retry-After": later})) <= 30
    assert retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after(httpx.Headers()) is None
    assert Reply(200, httpx.Headers({"openai-poll-after-ms": "1500"}), b"{}").poll_after() == 1.5


@pytest.mark.parametrize(
    "body, message",
    [
        (
            b'{"error": {"code": 400, "message": "bad duration", "status": "INVALID_ARGUMENT"}}',
            "bad duration",
        ),
        (b'{"error": {"message": "no such model", "type": "invalid_request_error"}}', "no such model"),
        (b'{"message": "prompt is required", "statusCode": 400}', "prompt is required"),
        (b'{"detail": "unauthorized"}', "unauthorized"),
        (b'{"error": "Invalid token"}', "Invalid token"),
        (b"<html>teapot</html>", "HTTP 418"),
    ],
)
def test_the_providers_words_whatever_the_error_shape(body, message):
    assert message_of(Reply(418, httpx.Headers(), body)) == message


def http_to(url: str, secret: str = "sk-secret", **kwargs) -> UpstreamHttp:
    return UpstreamHttp("testprov", url, {"Authorization": f"Bearer {secret}"}, secret, LOOPBACK, 5, **kwargs)


def test_retries_follow_retry_after_then_give_up():
    calls, waits = [], []
    app = FastAPI()

    @app.get("/busy")
    def busy():
        calls.append(1)
        if len(calls) < 3:
            return JSONResponse({"message": "slow down"}, 429, headers={"Retry-After": "2"})
        return {"ok": True}

    @app.get("/down")
    def down():
        return JSONResponse({"message": "maintenance"}, 503)

    with serve_in_thread(app) as url:
        http = http_to(url, retries=3, wait=waits.append)
        assert http.call("GET", "/busy").json() == {"ok": True}
        assert waits == [2, 2]
        waits.clear()
        with pytest.raises(UpstreamUnavailable, match="testprov answered HTTP 503: maintenance"):
            http.call("GET", "/down")
        assert waits == [1, 2, 4]  # no Retry-After: a doubling backoff


def test_a_refusal_is_not_retried_and_never_carries_the_key():
    waits = []
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request):
        return JSONResponse({"message": f"bad key {request.headers['authorization']}"}, 401)

    with serve_in_thread(app) as url, pytest.raises(UpstreamRejected) as refused:
        http_to(url, wait=waits.append).call("POST", "/echo")
    assert str(refused.value) == "testprov: bad key Bearer [credential]"
    assert waits == []


def test_the_key_stays_with_the_providers_origin(tmp_path):
    seen: dict[str, str | None] = {}
    cdn, api = FastAPI(), FastAPI()

    @cdn.get("/video.mp4")
    async def video(request: Request):
        seen["cdn"] = request.headers.get("authorization")
        return Response(b"mp4 bytes", media_type="video/mp4")

    with serve_in_thread(cdn) as cdn_url:

        @api.get("/files/v")
        async def redirect(request: Request):
            seen["api"] = request.headers.get("authorization")
            return RedirectResponse(f"{cdn_url}/video.mp4", 302)

        with serve_in_thread(api) as api_url:
            http = http_to(api_url)
            http.download("/files/v", dest := tmp_path / "video.mp4", authed=True)
    assert dest.read_bytes() == b"mp4 bytes"
    assert seen == {"api": "Bearer sk-secret", "cdn": None}


def test_a_private_base_url_needs_the_allowlist():
    http = UpstreamHttp("testprov", "http://127.0.0.1:9", {}, "", Allowlist(), 5, retries=0)
    with pytest.raises(UpstreamUnavailable, match="private or reserved address"):
        http.call("GET", "/anything")
    metadata = UpstreamHttp("testprov", "http://169.254.169.254", {}, "", LOOPBACK, 5, retries=0)
    with pytest.raises(UpstreamUnavailable, match="private or reserved address"):
        metadata.call("GET", "/latest/meta-data")
