"""Credits and concurrency slots over HTTP on the embedded default (no render workers, so jobs stay
queued): refusals in each dialect's own shape, and deleting a queued job gives back its slot and
its reservation."""

from decimal import Decimal

import httpx
import pytest

from testkit.support import ServerProcess

LEONARDO = (
    "/api/rest/v2/generations",
    {"model": "veo-3.1-lite", "parameters": {"prompt": "x", "duration": 4}},
)
OPENAI = ("/v1/videos", {"prompt": "x", "seconds": "4"})
GEMINI = (
    "/v1beta/models/veo-3.1-lite:predictLongRunning",
    {"instances": [{"prompt": "x"}], "parameters": {"durationSeconds": 4}},
)
PRICE = Decimal("0.2000")  # 4 s of veo-3.1-lite at 720p with audio


@pytest.fixture(scope="module")
def queued_server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("credits") / "data", workers=0).start()
    yield srv
    srv.stop()


def _client(server, **limits) -> httpx.Client:
    with server.accounts() as accounts:
        key = accounts.issue("credits-http", **limits).key
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_the_concurrency_limit_is_a_429_with_retry_after_until_a_slot_frees(queued_server):
    with _client(queued_server, concurrency=1) as http:
        first = http.post(LEONARDO[0], json=LEONARDO[1])
        assert first.status_code == 200, first.text
        refused = http.post(OPENAI[0], json=OPENAI[1])
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"  # OpenAI's own code
        job_id = first.json()["generate"]["generationId"]
        assert http.delete(f"/api/rest/v1/generations/{job_id}").status_code == 200
        assert http.post(OPENAI[0], json=OPENAI[1]).status_code == 200


def test_an_empty_balance_is_refused_in_each_dialects_shape_and_a_delete_refunds(queued_server):
    with _client(queued_server, credits=PRICE) as http:
        accepted = http.post(OPENAI[0], json=OPENAI[1])
        assert accepted.status_code == 200, accepted.text
        leonardo = http.post(LEONARDO[0], json=LEONARDO[1])
        assert leonardo.status_code == 402 and leonardo.json()["extensions"]["code"] == "insufficient_credits"
        gemini = http.post(GEMINI[0], json=GEMINI[1])
        assert gemini.status_code == 402 and gemini.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        openai = http.post(OPENAI[0], json=OPENAI[1])
        assert openai.status_code == 429 and openai.json()["error"]["code"] == "insufficient_quota"
        me = http.get("/api/rest/v1/me").json()["user_details"][0]
        assert Decimal(me["apiBalance"]["amount"]) == 0
        assert http.delete(f"/v1/videos/{accepted.json()['id']}").status_code == 200
        assert Decimal(http.get("/api/rest/v1/me").json()["user_details"][0]["apiBalance"]["amount"]) == PRICE
        assert http.post(LEONARDO[0], json=LEONARDO[1]).status_code == 200
