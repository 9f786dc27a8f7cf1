"""Schema-driven fuzzing: schemathesis reads reelforge's own OpenAPI document (`app.openapi()`, the
document a live server serves at `/openapi.json`) and throws generated requests, valid and
invalid, at every operation of every dialect over real HTTP. Whatever it sends, the answer is
never a 5xx or a stack trace, its status code is one the operation documents, its content type is
a documented one, and its body validates against the documented schema for that status.

The server runs without workers, so the jobs the valid examples create stay queued and cost
nothing. The run is bounded and derandomized (a fixed seed), so it is quick and repeatable; the
operations that create jobs get more examples than the reads.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")
import httpx  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from reelforge.api.app import create_app  # noqa: E402
from testkit.support import ServerProcess  # noqa: E402

CREATE_EXAMPLES = 25
READ_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data", workers=0).start()
    yield srv
    srv.stop()


DOCUMENT = create_app().openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def test_the_fuzzed_document_is_the_served_one(fuzz_server):
    assert httpx.get(f"{fuzz_server.url}/openapi.json").json() == DOCUMENT


def test_every_create_endpoint_is_in_the_schema():
    paths = {operation.path for operation in OPERATIONS if operation.method.upper() == "POST"}
    expected = {
        "/api/rest/v1/generations-text-to-video",
        "/api/rest/v1/generations-image-to-video",
        "/api/rest/v2/generations",
        "/v1beta/models/{model}:predictLongRunning",
        "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:predictLongRunning",
        "/v1/videos",
    }
    assert expected <= paths, expected - paths


def test_no_operation_documents_a_status_reelforge_never_sends():
    """FastAPI's 422 is never sent (validation errors are each dialect's 400)."""
    statuses = {s for path in DOCUMENT["paths"].values() for op in path.values() for s in op["responses"]}
    assert "422" not in statuses
    assert "HTTPValidationError" not in DOCUMENT["components"]["schemas"]


def _call(case, fuzz_server):
    headers = {"Authorization": f"Bearer {fuzz_server.key('fuzz')}"}
    response = case.call(base_url=fuzz_server.url, headers=headers, timeout=30)
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
    assert "Traceback" not in response.text, response.text[:500]
    case.validate_response(response, checks=CHECKS)


FUZZ = dict(derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_operation_conforms(operation, fuzz_server):
    """A plain parametrized test driving Hypothesis itself, so it runs the same under pytest-xdist."""
    examples = CREATE_EXAMPLES if operation.method.upper() == "POST" else READ_EXAMPLES

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, **FUZZ)
    def conforms(case):
        _call(case, fuzz_server)

    conforms()
