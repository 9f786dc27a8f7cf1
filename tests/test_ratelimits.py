"""Rate limits per API key, over real HTTP: every create route of every dialect counts against the
create limit (the key's own `rpm` or REELFORGE_CREATE_RPM) and answers 429 in its dialect's shape
with `Retry-After` over it; every other authenticated request counts against the separate, more
generous read limit; another key is unaffected. The counts are shared by API nodes through Redis.

How each dialect renders an insufficient balance, a rate or concurrency limit and a forbidden
request (raised by the repository and the service, whose HTTP paths other suites drive) is checked
here through the app's real exception handlers, without a server.
"""

import uuid
from decimal import Decimal

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from reelforge.api.app import create_app
from reelforge.api.dialects.aimlapi import AimlError
from reelforge.api.dialects.google.wire import GoogleError
from reelforge.api.dialects.highway import HighwayError
from reelforge.api.dialects.leonardo.wire import LeonardoError
from reelforge.api.dialects.openai.wire import OpenAIError
from reelforge.api.errors import NativeError
from reelforge.config import Settings
from reelforge.core.accounts import Caller
from reelforge.core.errors import Forbidden, InsufficientCredits, ReelforgeError, TooManyRequests
from reelforge.service.ratelimits import RateLimits, open_rate_limits
from testkit.support import ServerProcess

CREATE_RPM = 2
READ_RPM = 5  # more generous than creates, as the defaults are (600 and 3000)
LIMITS = {"REELFORGE_CREATE_RPM": str(CREATE_RPM), "REELFORGE_READ_RPM": str(READ_RPM)}
REDIS = "redis://127.0.0.1:6379/0"

VERTEX_MODEL = "veo-3.1-lite-generate-001"
VERTEX_SCOPES = (
    "/v1/projects/p/locations/us-central1/publishers/google/models",
    "/v1beta1/projects/p/locations/us-central1/publishers/google/models",
    "/v1/publishers/google/models",
    "/v1beta1/publishers/google/models",
)
GOOGLE_BODY = {"instances": [{"prompt": "a lighthouse at dusk"}]}
GEMINI_CREATE = "/v1beta/models/veo-3.1-lite-generate-preview:predictLongRunning"

# every create route: (dialect, path, a body; valid where a valid one needs no upload)
CREATES = [
    ("leonardo", "/api/rest/v1/generations-text-to-video", {"prompt": "a lighthouse at dusk"}),
    (
        "leonardo",
        "/api/rest/v1/generations-image-to-video",
        {"prompt": "a lighthouse", "imageId": "no-such-image", "imageType": "UPLOADED"},
    ),
    ("leonardo", "/api/rest/v1/generations-motion-svd", {"imageId": "no-such-image"}),
    ("leonardo", "/api/rest/v1/init-image", {"extension": "png"}),
    ("leonardo", "/api/rest/v2/generations", {"model": "veo-3.1-lite", "parameters": {"prompt": "a cat"}}),
    ("aimlapi", "/v2/video/generations", {"model": "veo-3.1-lite", "prompt": "a lighthouse at dusk"}),
    ("highway", "/v3/async/veo-3.1-lite-t2v", {"prompt": "a lighthouse at dusk"}),
    ("highway", "/v3/async/veo-3.1-lite-i2v", {"prompt": "a lighthouse", "image": "not an image"}),
    (
        "highway",
        "/v3/async/veo-3.1-lite-firstlastframe",
        {"prompt": "a lighthouse", "image": "not an image", "last_frame_image": "not an image"},
    ),
    ("google", GEMINI_CREATE, GOOGLE_BODY),
    *[("google", f"{scope}/{VERTEX_MODEL}:predictLongRunning", GOOGLE_BODY) for scope in VERTEX_SCOPES],
    ("openai", "/v1/videos", {"prompt": "a lighthouse at dusk", "model": "veo-3.1-lite"}),
]
# per dialect: a valid create and a read (an unknown id is a read too: it is answered, and counted)
DIALECTS = {
    "leonardo": ("/api/rest/v1/generations-text-to-video", {"prompt": "a cat"}, "/api/rest/v1/me"),
    "aimlapi": (
        "/v2/video/generations",
        {"model": "veo-3.1-lite", "prompt": "a cat"},
        "/v2/video/generations?generation_id=no-such-id",
    ),
    "highway": (
        "/v3/async/veo-3.1-lite-t2v",
        {"prompt": "a cat"},
        "/v3/async/task-result?task_id=no-such-id",
    ),
    "google": (GEMINI_CREATE, GOOGLE_BODY, "/v1beta/models"),
    "vertex": (
        f"{VERTEX_SCOPES[0]}/{VERTEX_MODEL}:predictLongRunning",
        GOOGLE_BODY,
        f"{VERTEX_SCOPES[0]}/{VERTEX_MODEL}/operations/{uuid.UUID(int=0)}",
    ),
    "openai": ("/v1/videos", {"prompt": "a cat", "model": "veo-3.1-lite"}, "/v1/videos"),
}
ERROR_MODELS: dict[str, type[BaseModel]] = {
    "leonardo": LeonardoError,
    "aimlapi": AimlError,
    "highway": HighwayError,
    "google": GoogleError,
    "vertex": GoogleError,
    "openai": OpenAIError,
    "native": NativeError,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"REELFORGE_AUTH": "open", **LIMITS}
    srv = ServerProcess(tmp_path_factory.mktemp("ratelimits") / "data", workers=0, env=env).start()
    yield srv
    srv.stop()


def api(server: ServerProcess, key: str | None = None) -> httpx.Client:
    """A client with a key of its own (open mode: every key is its own user)."""
    key = key or f"key-{uuid.uuid4()}"
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def assert_rate_limited(resp: httpx.Response, dialect: str) -> int:
    """A 429 over a rate limit in the dialect's own error shape; returns its Retry-After."""
    assert resp.status_code == 429, resp.text
    body = resp.json()
    ERROR_MODELS[dialect].model_validate(body)
    if dialect == "leonardo":
        assert body["extensions"] == {"code": "rate_limited", "status": 429}
    elif dialect == "aimlapi":
        assert (body["statusCode"], body["path"]) == (429, "/v2/video/generations")
    elif dialect == "highway":
        assert (body["code"], body["reason"]) == (429, "RATE_LIMIT_EXCEEDED")
    elif dialect in ("google", "vertex"):
        assert (body["error"]["code"], body["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")
    elif dialect == "openai":
        assert (body["error"]["type"], body["error"]["code"]) == ("requests", "rate_limit_exceeded")
    assert "per minute for this API key" in resp.text
    retry_after = int(resp.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


@pytest.mark.parametrize("dialect, path, body", CREATES, ids=[path for _, path, _ in CREATES])
def test_every_create_route_answers_429_over_the_create_rpm(server, dialect, path, body):
    with api(server) as http:
        for _ in range(CREATE_RPM):  # counted whether the body is accepted or refused
            assert http.post(path, json=body).status_code != 429
        assert_rate_limited(http.post(path, json=body), dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reads_are_limited_separately_and_more_generously(server, dialect):
    create_path, body, read_path = DIALECTS[dialect]
    with api(server) as http:
        for _ in range(CREATE_RPM):
            assert http.post(create_path, json=body).status_code == 200
        assert_rate_limited(http.post(create_path, json=body), dialect)
        for _ in range(READ_RPM):  # creates are used up; reads have a window of their own
            assert http.get(read_path).status_code != 429
        assert_rate_limited(http.get(read_path), dialect)


def test_a_read_limit_used_up_leaves_creates_alone(server):
    create_path, body, read_path = DIALECTS["openai"]
    with api(server) as http:
        for _ in range(READ_RPM):
            assert http.get(read_path).status_code == 200
        assert_rate_limited(http.get(read_path), "openai")
        assert http.post(create_path, json=body).status_code == 200


def test_limits_are_per_key(server):
    create_path, body, read_path = DIALECTS["leonardo"]
    with api(server) as first, api(server) as second:
        for _ in range(CREATE_RPM):
            assert first.post(create_path, json=body).status_code == 200
        retry_after = assert_rate_limited(first.post(create_path, json=body), "leonardo")
        assert retry_after >= 45  # the window opened moments ago: most of the minute is left
        assert second.post(create_path, json=body).status_code == 200
        assert second.get(read_path).status_code == 200


def test_open_mode_limits_each_key_however_it_arrives(server):
    """Google's places for a key name the same key, so they share its window."""
    key = f"key-{uuid.uuid4()}"
    path, body, _ = DIALECTS["google"]
    url = f"{server.url}{path}"
    assert httpx.post(url, json=body, headers={"x-goog-api-key": key}).status_code == 200
    assert httpx.post(f"{url}?key={key}", json=body).status_code == 200
    resp = httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"})
    assert_rate_limited(resp, "google")


@pytest.fixture(scope="module")
def keys_server(tmp_path_factory):
    """A server in `keys` mode (the default): only issued keys work."""
    srv = ServerProcess(tmp_path_factory.mktemp("ratelimits-keys") / "data", workers=0, env=LIMITS).start()
    yield srv
    srv.stop()


def test_a_keys_own_rpm_replaces_the_servers_and_each_key_has_its_own_window(keys_server):
    with keys_server.accounts() as accounts:
        slow = accounts.issue("slow", rpm=1)
        rotated = accounts.issue("slow, rotated", account_id=slow.account.id).key
        default = accounts.issue("default").key
    path, body, _ = DIALECTS["openai"]
    with api(keys_server, slow.key) as http:
        assert http.post(path, json=body).status_code == 200
        resp = http.post(path, json=body)
        assert_rate_limited(resp, "openai")
        assert "1 creates per minute" in resp.json()["error"]["message"]
    for key in (rotated, default):  # another key of the same account counts on its own
        with api(keys_server, key) as http:
            for _ in range(CREATE_RPM):
                assert http.post(path, json=body).status_code == 200
            assert_rate_limited(http.post(path, json=body), "openai")


def test_leonardo_me_reports_the_accounts_balance_and_concurrency_slots(keys_server, server):
    with keys_server.accounts() as accounts:
        limited = accounts.issue("limited", credits=Decimal("12.34"), concurrency=3).key
        unlimited = accounts.issue("unlimited").key
    expected = [
        (keys_server, limited, 3, {"amount": "12.3400", "unit": "DOLLARS"}),
        (keys_server, unlimited, 1, None),  # no limits of its own: the server's workers (at least 1)
        (server, "any key", 1, None),  # open mode: a key is a user without an account
    ]
    for srv, key, slots, balance in expected:
        with api(srv, key) as http:
            details = http.get("/api/rest/v1/me").json()["user_details"][0]
        assert (details["apiConcurrencySlots"], details["apiBalance"]) == (slots, balance)


def _caller() -> Caller:
    key_id = f"key-{uuid.uuid4()}"
    return Caller(id=f"account-{key_id}", key_id=key_id, name="node test")


def test_api_nodes_share_their_counts_in_redis():
    """Two API nodes of a Celery deployment: the creates of one key count in one window."""
    scaled_out = Settings(queue="celery", broker_url=REDIS, create_rpm=CREATE_RPM, read_rpm=READ_RPM)
    first, second = open_rate_limits(scaled_out), open_rate_limits(scaled_out)
    assert not first.in_memory
    caller = _caller()
    first.create(caller)
    second.create(caller)
    with pytest.raises(TooManyRequests) as refused:
        first.create(caller)
    assert 50 <= refused.value.retry_after <= 60
    second.read(caller)  # reads count apart


def test_the_embedded_server_counts_in_memory():
    assert open_rate_limits(Settings()).in_memory
    amqp = Settings(queue="celery", broker_url="amqp://guest:guest@127.0.0.1:5672//")
    assert open_rate_limits(amqp).in_memory  # Redis holds shared counts; RabbitMQ cannot
    limits = RateLimits("memory://", create_rpm=1, read_rpm=1)
    caller = _caller()
    limits.create(caller)
    with pytest.raises(TooManyRequests):
        limits.create(caller)


# how each dialect renders the errors of limits and credits (the app's handlers, no server) ---------

# a path in each dialect's prefix that no route claims (GET: no Idempotency-Key handling)
RAISE_AT = {
    "leonardo": "/api/rest/v1/test/raise",
    "aimlapi": "/v2/video/generations/test/raise",
    "highway": "/v3/async/test/raise",
    "google": "/v1beta/test/raise",
    "vertex": "/v1beta1/test/raise",
    "openai": "/v1/videos/test/raise",
    "native": "/test/raise",
}


@pytest.fixture(scope="module")
def app_client():
    app = create_app(Settings())
    raised: dict[str, ReelforgeError] = {}

    async def boom():
        raise raised["error"]

    for path in RAISE_AT.values():
        app.add_api_route(path, boom)
    client = TestClient(app)  # no lifespan: nothing is started, only routing and error handling

    def call(dialect: str, error: ReelforgeError) -> httpx.Response:
        raised["error"] = error
        resp = client.get(RAISE_AT[dialect])
        ERROR_MODELS[dialect].model_validate(resp.json())
        return resp

    return call


NO_CREDITS = InsufficientCredits("the balance ($0.1000) does not cover this job ($0.4000)")


@pytest.mark.parametrize(
    "dialect, status, fields",
    [
        ("leonardo", 402, {"extensions": {"code": "insufficient_credits", "status": 402}}),
        ("aimlapi", 403, {"statusCode": 403}),
        ("highway", 403, {"code": 403, "reason": "NOT_ENOUGH_BALANCE"}),
        (
            "google",
            402,
            {"error": {"code": 402, "status": "RESOURCE_EXHAUSTED", "message": NO_CREDITS.message}},
        ),
        (
            "vertex",
            402,
            {"error": {"code": 402, "status": "RESOURCE_EXHAUSTED", "message": NO_CREDITS.message}},
        ),
        (
            "openai",
            429,
            {
                "error": {
                    "message": NO_CREDITS.message,
                    "type": "insufficient_quota",
                    "param": None,
                    "code": "insufficient_quota",
                }
            },
        ),
        (
            "native",
            402,
            {"error": {"code": "insufficient_credits", "message": NO_CREDITS.message, "param": None}},
        ),
    ],
)
def test_an_insufficient_balance_has_the_status_its_provider_documents(app_client, dialect, status, fields):
    resp = app_client(dialect, NO_CREDITS)
    assert resp.status_code == status
    assert fields.items() <= resp.json().items()
    assert "Retry-After" not in resp.headers  # waiting does not help; adding credits does
    assert "does not cover this job" in resp.text


@pytest.mark.parametrize("dialect", RAISE_AT)
def test_a_concurrency_limit_is_a_429_with_retry_after(app_client, dialect):
    busy = TooManyRequests("this account may have 2 jobs queued or running at once", 5)
    resp = app_client(dialect, busy)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "5"
    assert "2 jobs queued or running" in resp.text


@pytest.mark.parametrize(
    "dialect, reason",
    [
        ("leonardo", {"extensions": {"code": "forbidden", "status": 403}}),
        ("aimlapi", {"statusCode": 403}),
        ("highway", {"code": 403, "reason": "FORBIDDEN"}),
        ("google", {"error": {"code": 403, "message": "not yours", "status": "PERMISSION_DENIED"}}),
        (
            "openai",
            {
                "error": {
                    "message": "not yours",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "forbidden",
                }
            },
        ),
        ("native", {"error": {"code": "forbidden", "message": "not yours", "param": None}}),
    ],
)
def test_forbidden_is_403_in_every_dialect(app_client, dialect, reason):
    resp = app_client(dialect, Forbidden("not yours"))
    assert resp.status_code == 403
    assert reason.items() <= resp.json().items()
