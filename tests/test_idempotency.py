"""`Idempotency-Key` on every create route of every dialect (api/idempotency.py), over real HTTP:
a retry with the same key and body gets the first answer back and creates nothing, another body
gets a 409 in the dialect's own shape, keys are per account, racing duplicates make one job, a
refused or oversized request keeps no claim. The store's claims (takeover of an abandoned claim,
fencing, expiry) and the service's rule of what is kept run on real SQLite and PostgreSQL.

The server runs in `open` auth mode (each distinct key is its own account) without workers, so
the jobs stay queued and cost nothing.
"""

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from reelforge.api.app import create_app
from reelforge.core.clock import now
from reelforge.db.idempotency import Claim, IdempotencyStore, Stored
from reelforge.db.tables import IdempotencyRow
from reelforge.service.idempotency import Answer, Idempotency, KeyReused
from testkit.databases import migrated_database
from testkit.google import assert_google_error
from testkit.leonardo import assert_leonardo_error
from testkit.support import ServerProcess, make_image, upload_init_image

MB = 1024 * 1024
REUSED = "idempotency_key_reused"
V1 = "/api/rest/v1"
AIML = "/v2/video/generations"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {
        "REELFORGE_AUTH": "open",
        "REELFORGE_IMAGE_FETCH_ALLOWLIST": "127.0.0.1",
        "REELFORGE_MAX_BODY_BYTES": str(MB),
    }
    srv = ServerProcess(tmp_path_factory.mktemp("idempotency") / "data", workers=0, env=env).start()
    yield srv
    srv.stop()


@pytest.fixture
def account(server):
    """A client of an account of the test's own (open mode: a fresh key is a fresh account)."""
    with _client(server) as c:
        yield c


def _client(server: ServerProcess, key: str | None = None) -> httpx.Client:
    key = key or f"idem-{uuid.uuid4()}"
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def job_count(c: httpx.Client) -> int:
    """The account's jobs, of every dialect, as the native list shows them."""
    resp = c.get("/v1/videos", params={"limit": 100})
    assert resp.status_code == 200, resp.text
    return len(resp.json()["data"])


# each dialect's 409 ---------------------------------------------------------------------------------


def leonardo_409(resp: httpx.Response) -> None:
    assert assert_leonardo_error(resp, 409)["extensions"]["code"] == REUSED


def openai_409(resp: httpx.Response) -> None:
    assert resp.status_code == 409, resp.text
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["type"] == "invalid_request_error" and error["code"] == REUSED, error


def google_409(resp: httpx.Response) -> None:
    assert "different request" in assert_google_error(resp, 409, "FAILED_PRECONDITION")["message"]


def aiml_409(resp: httpx.Response) -> None:
    assert resp.status_code == 409, resp.text
    body = resp.json()
    assert set(body) == {"message", "path", "requestId", "statusCode", "timestamp"}, body
    assert body["statusCode"] == 409 and body["path"] == AIML and "different request" in body["message"]


def highway_409(resp: httpx.Response) -> None:
    assert resp.status_code == 409, resp.text
    body = resp.json()
    assert set(body) == {"code", "reason", "message", "metadata"}, body
    assert body["code"] == 409 and body["reason"] == "CONFLICT" and "different request" in body["message"]


# every create route ---------------------------------------------------------------------------------


@dataclass
class Create:
    path: str
    bodies: Callable[[httpx.Client], tuple[dict, dict]]  # a body and a different one, for an account
    conflict: Callable[[httpx.Response], None]  # asserts the dialect's 409
    makes_job: bool = True


def _prompts(base: dict, field: str = "prompt") -> Callable[[httpx.Client], tuple[dict, dict]]:
    return lambda c: ({**base, field: "a koala"}, {**base, field: "a cat"})


def _with_image(make: Callable[[str], dict]) -> Callable[[httpx.Client], tuple[dict, dict]]:
    def bodies(c: httpx.Client) -> tuple[dict, dict]:
        image_id = upload_init_image(c, make_image(1280, 720))
        return make(image_id), {**make(image_id), "seed": 7}

    return bodies


GOOGLE = {"instances": [{"prompt": "a koala"}]}
CREATES = {
    "leonardo-t2v": Create(
        f"{V1}/generations-text-to-video", _prompts({"model": "VEO3_1", "duration": 4}), leonardo_409
    ),
    "leonardo-i2v": Create(
        f"{V1}/generations-image-to-video",
        _with_image(
            lambda i: {
                "prompt": "a koala",
                "model": "VEO3_1",
                "duration": 4,
                "imageId": i,
                "imageType": "UPLOADED",
            }
        ),
        leonardo_409,
    ),
    "leonardo-svd": Create(
        f"{V1}/generations-motion-svd",
        _with_image(lambda i: {"imageId": i, "isInitImage": True}),
        leonardo_409,
    ),
    "leonardo-init-image": Create(
        f"{V1}/init-image",
        lambda c: ({"extension": "png"}, {"extension": "jpg"}),
        leonardo_409,
        makes_job=False,
    ),
    "leonardo-v2": Create(
        "/api/rest/v2/generations",
        lambda c: tuple(
            {"model": "veo-3.1-lite", "parameters": {"prompt": p, "duration": 4}}
            for p in ("a koala", "a cat")
        ),
        leonardo_409,
    ),
    "aimlapi": Create(AIML, _prompts({"model": "veo-3.1-lite-generate-001"}), aiml_409),
    "highway": Create("/v3/async/veo-3.1-lite-t2v", _prompts({"duration": 4}), highway_409),
    "gemini": Create(
        "/v1beta/models/veo-3.1-lite-generate-preview:predictLongRunning",
        lambda c: (GOOGLE, {**GOOGLE, "parameters": {"durationSeconds": 4}}),
        google_409,
    ),
    "vertex": Create(
        "/v1/projects/p/locations/us-central1/publishers/google/models/veo-3.1-lite-generate-001:predictLongRunning",
        lambda c: (GOOGLE, {**GOOGLE, "parameters": {"durationSeconds": 4}}),
        google_409,
    ),
    "vertex-express": Create(
        "/v1beta1/publishers/google/models/veo-3.1-lite-generate-001:predictLongRunning",
        lambda c: (GOOGLE, {**GOOGLE, "parameters": {"durationSeconds": 4}}),
        google_409,
    ),
    "openai": Create("/v1/videos", _prompts({"seconds": "4"}), openai_409),
}


def test_every_create_operation_documents_the_header_and_its_409():
    document = create_app().openapi()
    documented = {
        path
        for path, operations in document["paths"].items()
        if any(p["name"] == "Idempotency-Key" for p in operations.get("post", {}).get("parameters", []))
    }
    vertex = "publishers/google/models/{model}:predictLongRunning"
    assert documented == {
        f"{V1}/generations-text-to-video",
        f"{V1}/generations-image-to-video",
        f"{V1}/generations-motion-svd",
        f"{V1}/init-image",
        "/api/rest/v2/generations",
        AIML,
        "/v3/async/veo-3.1-lite-t2v",
        "/v3/async/veo-3.1-lite-i2v",
        "/v3/async/veo-3.1-lite-firstlastframe",
        "/v1beta/models/{model}:predictLongRunning",
        f"/v1/projects/{{project}}/locations/{{location}}/{vertex}",
        f"/v1beta1/projects/{{project}}/locations/{{location}}/{vertex}",
        f"/v1/{vertex}",
        f"/v1beta1/{vertex}",
        "/v1/videos",
        "/v1/videos/{video_id}/remix",
        "/v1/videos/extensions",
        "/v1/videos/edits",
    }
    for path in documented:
        responses = document["paths"][path]["post"]["responses"]
        assert responses["409"]["content"] == responses["400"]["content"], path


@pytest.mark.parametrize("name", CREATES)
def test_a_retry_gets_the_first_answer_and_creates_nothing(account, name):
    create = CREATES[name]
    body, _ = create.bodies(account)
    key = _key()
    before = job_count(account)
    first = account.post(create.path, json=body, headers=key)
    assert 200 <= first.status_code < 300, first.text
    assert "idempotent-replayed" not in first.headers
    for _ in range(2):
        again = account.post(create.path, json=body, headers=key)
        assert (again.status_code, again.content) == (first.status_code, first.content)
        assert again.headers["idempotent-replayed"] == "true"
        for header in ("content-type", "content-length", "openai-poll-after-ms"):
            assert again.headers.get(header) == first.headers.get(header), header
    assert job_count(account) == before + create.makes_job


def test_the_openai_replay_keeps_the_poll_hint(account):
    body, key = {"prompt": "a koala", "seconds": "4"}, _key()
    first = account.post("/v1/videos", json=body, headers=key)
    again = account.post("/v1/videos", json=body, headers=key)
    assert first.headers["openai-poll-after-ms"] == again.headers["openai-poll-after-ms"] == "1000"


@pytest.mark.parametrize("name", CREATES)
def test_the_same_key_with_another_body_is_a_409_in_the_dialects_shape(account, name):
    create = CREATES[name]
    body, other = create.bodies(account)
    key = _key()
    assert account.post(create.path, json=body, headers=key).status_code < 300
    before = job_count(account)
    create.conflict(account.post(create.path, json=other, headers=key))
    assert job_count(account) == before


def test_the_same_key_on_another_create_route_is_a_409(account):
    key = _key()
    assert account.post("/v1/videos", json={"prompt": "a koala"}, headers=key).status_code == 200
    highway_409(account.post("/v3/async/veo-3.1-lite-t2v", json={"prompt": "a koala"}, headers=key))
    assert job_count(account) == 1


def test_keys_are_per_account(server):
    key, body = _key(), {"prompt": "a koala", "seconds": "4"}
    with _client(server) as alice, _client(server) as bob:
        a = alice.post("/v1/videos", json=body, headers=key)
        b = bob.post("/v1/videos", json=body, headers=key)
        assert a.status_code == b.status_code == 200
        assert "idempotent-replayed" not in b.headers and a.json()["id"] != b.json()["id"]
        assert job_count(alice) == job_count(bob) == 1


def test_without_the_header_every_request_creates(account):
    for _ in range(2):
        assert account.post("/v1/videos", json={"prompt": "a koala"}).status_code == 200
    assert job_count(account) == 2


def _race(server: ServerProcess, path: str, body: dict, n: int = 8) -> list[httpx.Response]:
    """`n` threads of one account POST the same body with the same key at once."""
    account, key = f"idem-{uuid.uuid4()}", _key()
    start = threading.Barrier(n)
    answers: list[httpx.Response] = []

    def post() -> None:
        with _client(server, account) as c:
            start.wait()
            answers.append(c.post(path, json=body, headers=key))

    threads = [threading.Thread(target=post) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(answers) == n
    with _client(server, account) as c:
        assert job_count(c) == 1
    assert len({(a.status_code, a.content) for a in answers}) == 1, [a.text for a in answers]
    replayed = [a.headers.get("idempotent-replayed") for a in answers]
    assert replayed.count("true") == n - 1 and replayed.count(None) == 1, replayed
    return answers


def test_racing_duplicates_make_one_job(server):
    [answer, *_] = _race(server, "/v1/videos", {"prompt": "a koala", "seconds": "4"})
    assert answer.status_code == 200


def test_racing_duplicates_wait_for_a_slow_first_request(server, image_host):
    """The first request fetches its image for about 2 s; the others wait for its answer, and the
    image is fetched once."""
    body = {"model": "veo-3.1-lite-generate-001", "prompt": "a koala", "image_url": f"{image_host.base}/slow"}
    [answer, *_] = _race(server, AIML, body)
    assert answer.status_code == 200, answer.text
    assert [path for path, _ in image_host.hits].count("/slow") == 1


def test_a_refused_request_keeps_no_claim(account):
    """A 400 created nothing: the corrected body may use the same key, and is then kept."""
    key, path = _key(), f"{V1}/generations-text-to-video"
    assert_leonardo_error(account.post(path, json={"prompt": "", "model": "VEO3_1"}, headers=key), 400)
    first = account.post(path, json={"prompt": "a koala", "model": "VEO3_1"}, headers=key)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    again = account.post(path, json={"prompt": "a koala", "model": "VEO3_1"}, headers=key)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert job_count(account) == 1


@pytest.mark.parametrize("length, status", [(255, 200), (256, 400)])
def test_a_key_is_1_to_255_characters(account, length, status):
    resp = account.post("/v1/videos", json={"prompt": "a koala"}, headers={"Idempotency-Key": "k" * length})
    assert resp.status_code == status, resp.text
    if status == 400:
        assert "Idempotency-Key" in resp.json()["error"]["message"]
    assert job_count(account) == (status == 200)


def test_without_an_api_key_the_route_answers_401(server):
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        resp = anonymous.post(f"{V1}/generations-text-to-video", json={"prompt": "a"}, headers=_key())
    assert_leonardo_error(resp, 401)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_the_cap_is_the_dialects_400_and_keeps_no_claim(account, declared):
    key, path = _key(), "/api/rest/v2/generations"
    oversized = b'{"prompt": "' + b"x" * (2 * MB) + b'"}'
    chunks = iter([oversized[i : i + 65536] for i in range(0, len(oversized), 65536)])
    content = oversized if declared else chunks
    resp = account.post(path, content=content, headers={**key, "content-type": "application/json"})
    assert_leonardo_error(resp, 400, says="larger than 1 MB")
    body = {"model": "veo-3.1-lite", "parameters": {"prompt": "a koala", "duration": 4}}
    assert account.post(path, json=body, headers=key).status_code == 200
    assert job_count(account) == 1


def _multipart(boundary: str) -> tuple[bytes, str]:
    parts = [("prompt", "a koala"), ("seconds", "4")]
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in parts
    )
    return f"{body}--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_multipart_retry_with_a_new_boundary_is_the_same_request(account):
    key = _key()
    body, content_type = _multipart("first-boundary-1234")
    first = account.post("/v1/videos", content=body, headers={**key, "content-type": content_type})
    assert first.status_code == 200, first.text
    body, content_type = _multipart("second-boundary-98765")
    again = account.post("/v1/videos", content=body, headers={**key, "content-type": content_type})
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert job_count(account) == 1


# the store and the service, on real databases ---------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    with migrated_database(request.param, tmp_path) as engine:
        yield IdempotencyStore(engine)


def _age(store: IdempotencyStore, by: timedelta) -> None:
    """Make every row `by` older, as if it had been written that long ago."""
    with store._session.begin() as s:
        s.execute(update(IdempotencyRow).values(created_at=now() - by))


def test_a_claim_is_answered_once_and_then_replayed(store):
    claim = store.claim("a", "k", "h")
    assert isinstance(claim, Claim)
    pending = store.claim("a", "k", "h")
    assert isinstance(pending, Stored) and pending.status_code is None
    assert store.save(claim, 200, b"answer", {"content-type": "application/json"})
    done = store.claim("a", "k", "h")
    assert (done.status_code, done.body) == (200, b"answer")
    assert done.headers == {"content-type": "application/json"}
    assert not store.save(claim, 201, b"again", {})  # an answer is stored once
    assert isinstance(store.claim("b", "k", "h"), Claim)  # another account's key


def test_an_abandoned_claim_is_taken_over_and_its_late_answer_is_fenced_out(store):
    crashed = store.claim("a", "k", "h1")
    _age(store, timedelta(minutes=4))
    assert isinstance(store.claim("a", "k", "h1"), Stored)  # still within ABANDONED: running
    _age(store, timedelta(minutes=6))
    retry = store.claim("a", "k", "h2")
    assert isinstance(retry, Claim)
    store.release(crashed)
    assert not store.save(crashed, 200, b"late", {})
    assert store.save(retry, 200, b"fresh", {})
    assert store.claim("a", "k", "h2").body == b"fresh"


def test_an_answer_is_kept_24_hours(store):
    claim = store.claim("a", "k", "h")
    store.save(claim, 200, b"answer", {})
    _age(store, timedelta(hours=23))
    assert store.claim("a", "k", "other").body == b"answer"
    _age(store, timedelta(hours=24, seconds=1))
    assert isinstance(store.claim("a", "k", "other"), Claim)


@pytest.mark.parametrize("status, kept", [(200, True), (202, True), (400, False), (429, False), (500, False)])
def test_only_answers_that_created_something_are_kept(store, status, kept):
    service = Idempotency(store)
    claim = service.begin("a", "k", "h")
    assert service.begin("a", "k", "h") is None  # running
    with pytest.raises(KeyReused):
        service.begin("a", "k", "other")
    service.finish(claim, Answer(status, {"x": "y"}, b"body"))
    again = service.begin("a", "k", "h")
    if kept:
        assert again == Answer(status, {"x": "y"}, b"body")
    else:
        assert isinstance(again, Claim)


def test_a_claim_released_without_an_answer_runs_afresh(store):
    service = Idempotency(store)
    service.release(service.begin("a", "k", "h"))
    assert isinstance(service.begin("a", "k", "other"), Claim)
