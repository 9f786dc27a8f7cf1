"""Cancel as a first-class operation (issue 10, finding 5), over real HTTP on `reelforge serve`.

Before: `JobService.cancel` had no route, so no client could ever see `canceled`; Gemini and
Vertex AI had no `:cancel`. Now each documented cancel route (reelforge's native
`POST /v1/videos/{id}/cancel`, Google's `.../operations/{id}:cancel` for the Gemini API and
Vertex AI) cancels a queued job at once and a running one within a step; the dialect then reads
canceled, the reserved credits come back and no file is left (blob storage and scratch). DELETE
of a running job stops the render first. A finished job: native 409 `video_already_finished`,
Google `{}` with the operation unchanged (best effort, as Google documents CancelOperation).
"""

import threading
import time
import uuid
from decimal import Decimal

import httpx
import pytest

from testkit.cluster import wait_until
from testkit.support import UNKNOWN_ID, ServerProcess

CREDITS = Decimal("100.0000")
PROJECT = "/v1/projects/p/locations/us-central1/publishers/google/models"
LONG = {"model": "VEO3_1", "seconds": 8, "resolution": "1080p"}  # several seconds of rendering
SHORT = {"model": "veo-3.1-lite", "seconds": 4, "resolution": "720p"}
DIALECTS = ["native", "gemini", "vertex"]


@pytest.fixture(scope="module")
def queued_server(tmp_path_factory):
    """No render workers: every job stays queued."""
    srv = ServerProcess(tmp_path_factory.mktemp("cancel-queued") / "data", workers=0).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def render_server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("cancel-running") / "data", workers=1).start()
    yield srv
    srv.stop()


def _client(server: ServerProcess) -> httpx.Client:
    """A client of a new account holding CREDITS."""
    with server.accounts() as accounts:
        key = accounts.issue(f"cancel-{uuid.uuid4()}", credits=CREDITS).key
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _balance(http: httpx.Client) -> Decimal:
    return Decimal(http.get("/api/rest/v1/me").json()["user_details"][0]["apiBalance"]["amount"])


# each dialect's create, cancel and "does it read canceled" ----------------------------------------


def _create(http: httpx.Client, dialect: str, job: dict) -> str:
    """Create a job in `dialect`; returns the job id (the operation's last segment for Google)."""
    if dialect == "native":
        resp = http.post("/v1/videos", json={"prompt": "cancel me", **job, "seconds": str(job["seconds"])})
        assert resp.status_code == 200, resp.text
        return resp.json()["id"].removeprefix("video_")  # the job id, which every dialect shows
    body = {
        "instances": [{"prompt": "cancel me"}],
        "parameters": {"durationSeconds": job["seconds"], "resolution": job["resolution"]},
    }
    path = f"/v1beta/models/{job['model']}" if dialect == "gemini" else f"{PROJECT}/{job['model']}"
    resp = http.post(f"{path}:predictLongRunning", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["name"].rsplit("/", 1)[1]


def _operation(dialect: str, job_id: str, model: str) -> str:
    if dialect == "gemini":
        return f"/v1beta/models/{model}/operations/{job_id}"
    return f"{PROJECT}/{model}/operations/{job_id}"


def _cancel(http: httpx.Client, dialect: str, job_id: str, model: str) -> httpx.Response:
    if dialect == "native":
        return http.post(f"/v1/videos/{job_id}/cancel")
    return http.post(f"{_operation(dialect, job_id, model)}:cancel")


def _reads_canceled(http: httpx.Client, dialect: str, job_id: str, model: str) -> bool:
    """Whether the dialect's own poll shows the job canceled, in its own words."""
    if dialect == "native":
        video = http.get(f"/v1/videos/{job_id}").json()
        return video["status"] == "failed" and video["error"]["code"] == "canceled"
    op = http.get(_operation(dialect, job_id, model)).json()
    return op["done"] and op["error"]["code"] == 1 and "response" not in op  # 1 CANCELLED


def _native(http: httpx.Client, job_id: str) -> dict:
    return http.get(f"/v1/videos/{job_id}").json()


def _files(server: ServerProcess, job_id: str) -> list[str]:
    """Every file the job has in blob storage and in the scratch folder."""
    outputs = [str(p) for p in (server.data_dir / "media" / "outputs" / job_id).rglob("*") if p.is_file()]
    scratch = [str(p) for p in (server.data_dir / "scratch").glob(f"{job_id}-*")]
    return outputs + scratch


def _wait_rendering(http: httpx.Client, job_id: str) -> None:
    wait_until(
        lambda: (v := _native(http, job_id))["status"] == "in_progress" and v["progress"] >= 3,
        60,
        "the job never started rendering",
        interval=0.05,
    )


# cancel over each route --------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_cancel_of_a_queued_job_is_canceled_at_once_and_refunded(queued_server, dialect):
    with _client(queued_server) as http:
        job_id = _create(http, dialect, SHORT)
        assert _balance(http) < CREDITS  # the price is reserved
        resp = _cancel(http, dialect, job_id, SHORT["model"])
        assert resp.status_code == 200, resp.text
        if dialect == "native":
            assert resp.json()["status"] == "failed" and resp.json()["error"]["code"] == "canceled"
        else:
            assert resp.json() == {}  # google.protobuf.Empty, as Google answers
        assert _reads_canceled(http, dialect, job_id, SHORT["model"])
        assert _balance(http) == CREDITS
        assert _files(queued_server, job_id) == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_cancel_of_a_running_job_stops_the_render_refunds_and_leaves_no_files(render_server, dialect):
    with _client(render_server) as http:
        job_id = _create(http, dialect, LONG)
        _wait_rendering(http, job_id)
        resp = _cancel(http, dialect, job_id, LONG["model"])
        assert resp.status_code == 200, resp.text
        if dialect == "native":  # the render stops at its next step: the answer may still read running
            answer = resp.json()
            assert answer["id"] == f"video_{job_id}" and answer["status"] in ("in_progress", "failed")
        canceled_at = time.monotonic()
        wait_until(lambda: _reads_canceled(http, dialect, job_id, LONG["model"]), 30, "never canceled")
        assert time.monotonic() - canceled_at < 5, "the render went on long after the cancel"
        assert _native(http, job_id)["progress"] < 90  # it stopped mid-render, not at the end
        assert _balance(http) == CREDITS
        wait_until(lambda: _files(render_server, job_id) == [], 5, "files left behind")


def test_canceled_reads_canceled_in_every_dialect_that_has_a_word_for_it(queued_server):
    with _client(queued_server) as http:
        job_id = _create(http, "native", SHORT)
        assert http.post(f"/v1/videos/{job_id}/cancel").status_code == 200
        for dialect in DIALECTS:
            assert _reads_canceled(http, dialect, job_id, SHORT["model"]), dialect
        vertex = http.post(
            f"{PROJECT}/{SHORT['model']}:fetchPredictOperation",
            json={"operationName": _operation("vertex", job_id, SHORT["model"]).removeprefix("/v1/")},
        ).json()
        assert vertex["done"] and vertex["error"]["code"] == 1
        leonardo = http.get(f"/api/rest/v1/generations/{job_id}").json()["generations_by_pk"]
        assert leonardo["status"] == "FAILED"  # Leonardo's only terminal failure word
        aiml = http.get("/v2/video/generations", params={"generation_id": job_id}).json()
        assert aiml["status"] == "error" and aiml["error"]["name"] == "canceled"
        task = http.get("/v3/async/task-result", params={"task_id": job_id}).json()["task"]
        assert (task["status"], task["reason"]) == ("TASK_STATUS_FAILED", "task was canceled")


def test_canceling_a_canceled_video_answers_it_again_and_refunds_once(queued_server):
    with _client(queued_server) as http:
        job_id = _create(http, "native", SHORT)
        first = http.post(f"/v1/videos/{job_id}/cancel")
        again = http.post(f"/v1/videos/{job_id}/cancel")
        assert again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["openai-poll-after-ms"]
        assert _balance(http) == CREDITS


def test_cancel_of_a_finished_job_native_409_google_unchanged(render_server):
    with _client(render_server) as http:
        job_id = _create(http, "native", SHORT)
        wait_until(lambda: _native(http, job_id)["status"] == "completed", 120, "never completed")
        charged = _balance(http)
        assert charged < CREDITS

        refused = http.post(f"/v1/videos/{job_id}/cancel")
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error",
            "video_already_finished",
            None,
        )
        assert "completed" in error["message"]

        for dialect in ("gemini", "vertex"):
            resp = _cancel(http, dialect, job_id, SHORT["model"])
            assert (resp.status_code, resp.json()) == (200, {})
            op = http.get(_operation(dialect, job_id, SHORT["model"])).json()
            assert op["done"] and "error" not in op and op["response"]  # completed despite the cancel
        assert _native(http, job_id)["status"] == "completed"
        assert _balance(http) == charged  # still charged, nothing given back
        assert len(_files(render_server, job_id)) == 2  # the MP4 and its poster stay


def test_cancel_of_an_unknown_or_someone_elses_job_is_404(queued_server):
    with _client(queued_server) as owner, _client(queued_server) as other:
        job_id = _create(owner, "native", SHORT)
        for target in (job_id, str(UNKNOWN_ID)):
            native = other.post(f"/v1/videos/{target}/cancel")
            assert native.status_code == 404 and native.json()["error"]["code"] == "not_found"
            for dialect in ("gemini", "vertex"):
                resp = _cancel(other, dialect, target, SHORT["model"])
                assert resp.status_code == 404 and resp.json()["error"]["status"] == "NOT_FOUND"
        assert _cancel(other, "gemini", "not-an-id", SHORT["model"]).status_code == 404
        assert _native(owner, job_id)["status"] == "queued"  # untouched


def test_vertex_express_mode_cancels_too(queued_server):
    with _client(queued_server) as http:
        job_id = _create(http, "vertex", SHORT)
        for version in ("v1", "v1beta1"):
            path = f"/{version}/publishers/google/models/{SHORT['model']}/operations/{job_id}:cancel"
            resp = http.post(path)
            assert (resp.status_code, resp.json()) == (200, {})
        assert _reads_canceled(http, "vertex", job_id, SHORT["model"])


# DELETE of a running job --------------------------------------------------------------------------


def test_delete_of_a_running_job_stops_it_and_leaves_no_files(render_server):
    with _client(render_server) as http:
        job_id = _create(http, "native", LONG)
        _wait_rendering(http, job_id)
        assert any(render_server.data_dir.joinpath("scratch").glob(f"{job_id}-*"))  # it is encoding
        deleted = http.delete(f"/v1/videos/{job_id}")
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True
        assert http.get(f"/v1/videos/{job_id}").status_code == 404
        # the one worker is free again at once: the render stopped rather than ran to its end
        next_id = _create(http, "native", SHORT)
        wait_until(lambda: _native(http, next_id)["status"] == "completed", 60, "the worker stayed busy")
        assert _files(render_server, job_id) == []
        price = CREDITS - _balance(http)  # only the second job was charged
        assert 0 < price < Decimal("1")


# the diffusers engines, in process ----------------------------------------------------------------


def test_a_diffusers_job_canceled_mid_render_stops_refunds_and_leaves_no_files(tmp_path):
    pytest.importorskip("diffusers")
    import json

    from reelforge.config import Settings
    from reelforge.core.job import JobStatus
    from reelforge.core.request import Draft
    from reelforge.runtime import build_runtime
    from testkit import tiny_pipelines

    weights = tiny_pipelines.save_ltx(tmp_path / "ltx")
    entry = {
        "id": "tiny-ltx",
        "engine": "ltx",
        "engine_options": {
            "weights": str(weights),
            "steps": 200,
            "max_sequence_length": 16,
            "render_size": {"1280x720": "64x32"},
        },
        "durations": [4],
        "default_duration": 4,
        "sizes": ["1280x720"],
        "audio": False,
        "price_per_second": {"silent": {"720p": 0.05}},
    }
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": [entry]}))
    runtime = build_runtime(Settings(data_dir=tmp_path / "data", workers=0, catalog_path=catalog))
    try:
        service = runtime.service
        account = service.accounts.issue("diffusers", credits=CREDITS).account
        job = service.submit(Draft(model="tiny-ltx", prompt="fox", duration=4, audio=False), account.id)
        worker = threading.Thread(target=runtime.worker.work_next, kwargs={"only": job.id})
        worker.start()
        wait_until(lambda: service.get(job.id).progress >= 5, 120, "no denoising progress", interval=0.02)
        service.cancel(job.id)
        worker.join(timeout=10)
        assert not worker.is_alive(), "the render kept going after the cancel"
        got = service.get(job.id)
        assert got.status is JobStatus.CANCELED and got.outputs == []
        assert got.progress < 45  # 200 steps: it stopped long before the end
        assert service.accounts.account(account.id).balance_usd == CREDITS
        assert not list((tmp_path / "data" / "media").rglob("*.mp4"))
        assert not list((tmp_path / "data" / "scratch").iterdir())
    finally:
        runtime.stop()
