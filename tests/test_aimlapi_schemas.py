"""Every AI/ML API 200 body is valid under AI/ML's published schemas (tests/specs/aimlapi/): the
create answer of each model that has a spec, built from that spec's own required fields, and every
`GET /v2/video/generations` answer while it is queued, generating, completed, and an error
(a generation canceled while queued, on a server without workers). A failed render cannot be
provoked over HTTP, so the mapping's answer for every status and failure code is validated too.
"""

import json
import time
from decimal import Decimal
from functools import cache

import httpx
import pytest

from reelforge.api.dialects import aimlapi as dialect
from reelforge.core.job import FailureCode, JobStatus
from testkit.jobs import make_job, make_output
from testkit.specs import SPECS, violations
from testkit.support import ServerProcess, b64, client, make_image

PATH = "/v2/video/generations"
IMAGE = "data:image/png;base64," + b64(make_image(1280, 720))
# a value for each request field a spec may require, cheap to render (4 s where the spec allows it)
VALUES = {"prompt": "schema check", "image_url": IMAGE, "last_image_url": IMAGE, "image_urls": [IMAGE]}


@cache
def create_bodies() -> dict[str, dict]:
    """Spec file name -> a create body with exactly the fields that spec requires (and a short,
    720p render where it allows one)."""
    bodies = {}
    for path in sorted((SPECS / "aimlapi").glob("*.json")):
        post = json.loads(path.read_text())["paths"][PATH].get("post")
        if post is None:
            continue
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        fields = schema["properties"]
        body = {name: VALUES.get(name) for name in schema["required"] if name != "model"}
        body["model"] = fields["model"]["enum"][0]
        body["duration"] = min(fields["duration"]["enum"])
        body["resolution"] = next(r for r in fields["resolution"]["enum"] if r.lower() == "720p")
        body["generate_audio"] = False
        bodies[path.name] = body
    return bodies


def test_every_create_spec_is_covered():
    bodies = create_bodies()
    assert len(bodies) == 8 and all(None not in body.values() for body in bodies.values()), bodies
    assert bodies["veo-3.1-reference-to-video.openapi.json"]["duration"] == 8


def test_spec_violations_are_found():
    """The check can fail: a body off the schema is reported."""
    assert violations("aimlapi", PATH, "get", 200, {"id": "x", "status": "done"})
    assert violations("aimlapi", PATH, "post", 200, {"status": "queued"})
    assert violations("aimlapi", PATH, "get", 200, {"id": "x", "status": "error", "error": {"name": "x"}})


def assert_valid(method: str, body: dict) -> None:
    assert violations("aimlapi", PATH, method, 200, body) == [], body


def test_create_and_every_poll_answer_match_the_schemas(api):
    """All eight creates first, then every generation polled until it ends: the server's one
    worker renders them in turn, so later ones are seen queued and each is seen generating."""
    created = {}
    for spec, body in create_bodies().items():
        resp = api.post(PATH, json=body)
        assert resp.status_code == 200, (spec, resp.text)
        created[spec] = resp.json()
        assert created[spec]["status"] == "queued"
        assert_valid("post", created[spec])
    seen: dict[str, list[str]] = {spec: [] for spec in created}
    deadline = time.monotonic() + 300
    while any(not words or words[-1] not in ("completed", "error") for words in seen.values()):
        assert time.monotonic() < deadline, seen
        for spec, words in seen.items():
            if words and words[-1] in ("completed", "error"):
                continue
            resp = api.get(PATH, params={"generation_id": created[spec]["id"]})
            assert resp.status_code == 200, (spec, resp.text)
            assert_valid("get", resp.json())
            words.append(resp.json()["status"])
        time.sleep(0.05)
    assert all(words[-1] == "completed" for words in seen.values()), seen
    assert {"queued", "generating"} <= {word for words in seen.values() for word in words}, seen


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory):
    """A server without workers: its generations stay queued."""
    srv = ServerProcess(tmp_path_factory.mktemp("aiml-idle") / "data", workers=0).start()
    yield srv
    srv.stop()


def test_queued_and_canceled_answers_match_the_schemas(idle_server):
    with client(idle_server, key="aiml-schemas") as api:
        created = api.post(PATH, json=create_bodies()["veo-3.1-lite-generate-001.openapi.json"]).json()
        assert_valid("post", created)
        queued = api.get(PATH, params={"generation_id": created["id"]}).json()
        assert queued["status"] == "queued"
        assert_valid("get", queued)
        cancel = f"/v1beta/models/veo-3.1-lite/operations/{created['id']}:cancel"
        key = api.headers["Authorization"].removeprefix("Bearer ")
        assert httpx.post(idle_server.url + cancel, headers={"x-goog-api-key": key}).status_code == 200
        canceled = api.get(PATH, params={"generation_id": created["id"]}).json()
        assert canceled["status"] == "error" and canceled["error"]["name"] == "canceled"
        assert_valid("get", canceled)


@pytest.mark.parametrize("status", list(JobStatus))
@pytest.mark.parametrize("code", [None, *FailureCode])
def test_the_answer_for_every_status_and_failure_code_matches_the_schemas(media, status, code):
    job = make_job(status, id="j1", seed=1, cost_usd=Decimal("0.4000"))
    if status is JobStatus.SUCCEEDED:
        job.outputs = [make_output(job, 0, prefix="outputs/j1")]
    if status is JobStatus.FAILED:
        job.error_code, job.error_message = code, "it broke"
    body = dialect.generation(media, job)
    assert_valid("get", body)
    assert_valid("post", body)
