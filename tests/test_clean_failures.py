"""Bad bodies get the dialect's own 400 on every create route, never a 500, and the client's
connection stays usable; where a 500 does happen the answer says `Connection: close`, so a pooled
client's next request does not run into a reset (issue 10, finding 3)."""

import httpx
import pytest

from reelforge.api.app import create_app
from reelforge.api.bodies import MAX_JSON_DEPTH, MAX_JSON_VALUES
from reelforge.config import Settings
from testkit.bodies import CREATE_PATHS, dialect_error
from testkit.support import ServerProcess, serve_in_thread


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    env = {"REELFORGE_AUTH": "open"}
    server = ServerProcess(tmp_path_factory.mktemp("clean") / "data", workers=0, env=env).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pooled(srv):
    """One keep-alive connection, reused by every request of the module."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(
        base_url=srv.url, headers={"Authorization": "Bearer k"}, limits=limits, timeout=30
    ) as c:
        yield c


def _nested(depth: int, inner: bytes = b"") -> bytes:
    return b"[" * depth + inner + b"]" * depth


BAD_JSON = {
    "unclosed, 200k deep": b"[" * 200_000,
    "closed, 900 deep": _nested(900),
    "a field 900 deep": b'{"prompt": ' + _nested(900) + b"}",
    "one level too deep": b'{"prompt": ' + _nested(MAX_JSON_DEPTH) + b"}",
    "too many values": b'{"prompt": "p", "seed": [' + b"0," * MAX_JSON_VALUES + b"0]}",
    "NaN": b'{"prompt": "p", "seed": NaN}',
    "Infinity": b'{"prompt": "p", "seed": -Infinity}',
    "a float over the range": b'{"prompt": "p", "seed": 1e999}',
    "an integer of 5000 digits": b'{"prompt": "p", "seed": ' + b"9" * 5000 + b"}",
    "a lone surrogate": b'{"prompt": "\\ud800"}',
    "invalid UTF-8": b'{"prompt": "\xff\xfe"}',
    "a surrogate in UTF-8 bytes": b'{"prompt": "\xed\xa0\x80"}',
    "truncated": b'{"prompt": "p"',
}


@pytest.mark.parametrize("path", CREATE_PATHS)
@pytest.mark.parametrize("case", list(BAD_JSON))
def test_a_malformed_json_body_is_the_dialects_400_and_the_connection_stays(pooled, path, case):
    resp = pooled.post(path, content=BAD_JSON[case], headers={"content-type": "application/json"})
    assert resp.status_code == 400, (resp.status_code, resp.text[:300])
    assert "connection" not in resp.headers  # kept alive
    message = dialect_error(path, 400, resp.json())
    assert any(word in message for word in ("JSON", "nested", "values", "number", "Unicode")), message
    assert pooled.get("/healthz").status_code == 200  # the same connection answers the next request


def test_the_nesting_limit_is_not_below_what_a_body_needs(pooled):
    """Depth MAX_JSON_DEPTH itself is fine: the refusal is the dialect's validation, not the parser's."""
    body = b'{"prompt": ' + _nested(MAX_JSON_DEPTH - 1) + b"}"
    resp = pooled.post("/v1/videos", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "prompt", resp.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", None])
def test_openai_parses_any_other_content_type_as_strict_json_too(pooled, content_type):
    headers = {"content-type": content_type} if content_type else {}
    resp = pooled.post("/v1/videos", content=b"[" * 200_000, headers=headers)
    assert resp.status_code == 400, resp.text
    assert "nested" in resp.json()["error"]["message"]


# a 500 closes the connection properly ------------------------------------------------------------


@pytest.fixture
def faulty_app_url(tmp_path):
    """create_app() served by uvicorn in a thread, with a test-only route that raises."""
    app = create_app(Settings(data_dir=tmp_path / "data", workers=0, auth="open"))

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("a bug")

    with serve_in_thread(app) as url:
        yield url


def test_after_a_500_the_pooled_clients_next_request_succeeds(faulty_app_url):
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=faulty_app_url, limits=limits, timeout=10) as pool:
        for _ in range(20):
            resp = pool.get("/boom")
            assert resp.status_code == 500
            assert resp.headers["connection"] == "close"
            assert resp.json() == {
                "error": {"code": "internal_error", "message": "internal server error", "param": None}
            }
            assert pool.get("/healthz").status_code == 200  # no reset: the pool opened a new connection
