"""Schema-driven fuzzing: schemathesis reads reelforge's own OpenAPI document (`app.openapi()`, the
document a live server serves at `/openapi.json`) and throws generated bodies, valid and invalid,
at every POST operation of every dialect over real HTTP. Whatever it sends, the answer is never a
5xx and never a stack trace.

The server runs without workers, so the jobs the valid examples create stay queued and cost
nothing. The run is bounded and derandomized (a fixed seed), so it is quick and repeatable.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")
import httpx  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from reelforge.api.app import create_app  # noqa: E402
from tests.support import ServerProcess  # noqa: E402

MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data", workers=0).start()
    yield srv
    srv.stop()


DOCUMENT = create_app().openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT).include(method="POST")


def test_the_fuzzed_document_is_the_served_one(fuzz_server):
    assert httpx.get(f"{fuzz_server.url}/openapi.json").json() == DOCUMENT


def test_every_create_endpoint_is_in_the_schema():
    paths = {operation.path for operation in (r.ok() for r in schema.get_all_operations())}
    expected = {
        "/api/rest/v1/generations-text-to-video",
        "/api/rest/v1/generations-image-to-video",
        "/api/rest/v2/generations",
        "/v1beta/models/{model}:predictLongRunning",
        "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:predictLongRunning",
        "/v1/videos",
    }
    assert expected <= paths, expected - paths


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case, fuzz_server):
    response = case.call(base_url=fuzz_server.url, headers={"Authorization": "Bearer fuzz"}, timeout=30)
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
    assert "Traceback" not in response.text, response.text[:500]
