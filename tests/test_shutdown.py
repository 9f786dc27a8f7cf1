"""Graceful shutdown (issue 10, finding 5): a restart is not a failure of the job.

Before: SIGTERM left the running job `running`; the next start-up took it back as a lost run and
counted an attempt, so a healthy job failed with `worker_lost` after three restarts, and its
scratch folder stayed behind. Now SIGTERM (`reelforge serve`: uvicorn's lifespan shutdown;
`reelforge worker`: Celery's warm shutdown) stops the render within a step and hands the job back
to the queue with its attempt given back. Only a run that went silent (kill -9) counts, and the
scratch folders of dead runs are removed at start-up and by the reconciler.
"""

import signal
import time

import pytest

from reelforge.runtime import build_runtime
from testkit.cluster import cluster, wait_until
from testkit.support import ServerProcess, client, wait_for_generation

LONG = {"model": "VEO3_1", "parameters": {"prompt": "survive restarts", "mode": "RESOLUTION_1080"}}


def _submit(http, body=LONG) -> str:
    resp = http.post("/api/rest/v2/generations", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["generate"]["generationId"]


def _row(srv: ServerProcess, job_id: str):
    """The job as the database holds it, read by an operator's process beside the server."""
    runtime = build_runtime(srv.settings())
    try:
        return runtime.repo.get_job(job_id)
    finally:
        runtime.stop()


def _wait_rendering(srv: ServerProcess, job_id: str, progress: int = 3) -> str:
    """Wait until the job renders with some progress; returns its lease token."""
    row = wait_until(
        lambda: (job := _row(srv, job_id)).status.value == "running" and job.progress >= progress and job,
        60,
        "the job never rendered",
        interval=0.05,
    )
    return row.lease_token


def _scratch(data) -> list[str]:
    folder = data / "scratch"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _media(data) -> list[str]:
    return sorted(str(p.relative_to(data / "media")) for p in (data / "media").rglob("*") if p.is_file())


def test_sigterm_three_times_hands_the_job_back_each_time_without_counting(tmp_path):
    data = tmp_path / "data"
    srv = ServerProcess(data, workers=1).start()
    try:
        with client(srv) as http:
            gen_id = _submit(http)
        for _ in range(3):
            _wait_rendering(srv, gen_id)
            assert _scratch(data), "mid-render: the encoder writes into scratch"
            started = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            # uvicorn ends a graceful shutdown by re-raising the signal it caught: not a SIGKILL
            assert srv.proc.wait(30) in (0, -signal.SIGTERM)
            assert time.monotonic() - started < 10, "shutdown waited for the render instead of stopping it"
            job = _row(srv, gen_id)
            assert (job.status.value, job.attempts, job.lease_token, job.progress) == ("queued", 0, None, 0)
            assert _scratch(data) == [] and _media(data) == []
            srv = ServerProcess(data, workers=1, port=srv.port).start()
        with client(srv) as http:
            assert wait_for_generation(http, gen_id)["status"] == "COMPLETE"
        job = _row(srv, gen_id)
        assert job.attempts == 1  # three restarts used up no attempt (max_attempts is 3)
        assert _media(data) == [f"outputs/{gen_id}/1/0.jpg", f"outputs/{gen_id}/1/0.mp4"]
        assert _scratch(data) == []
    finally:
        srv.stop()


def test_kill_9_still_counts_an_attempt(tmp_path):
    data = tmp_path / "data"
    srv = ServerProcess(data, workers=1).start()
    try:
        with client(srv) as http:
            gen_id = _submit(http)
        _wait_rendering(srv, gen_id)
        srv.kill()
        assert _row(srv, gen_id).attempts == 1  # left running: nobody handed it back
        srv = ServerProcess(data, workers=1, port=srv.port).start()
        with client(srv) as http:
            assert wait_for_generation(http, gen_id)["status"] == "COMPLETE"
        assert _row(srv, gen_id).attempts == 2
        assert _media(data) == [f"outputs/{gen_id}/2/0.jpg", f"outputs/{gen_id}/2/0.mp4"]
        assert _scratch(data) == []
    finally:
        srv.stop()


def test_start_up_removes_the_scratch_folder_of_a_killed_run(tmp_path):
    """The killed run's job is deleted while the server is down, so no new attempt of it clears
    its folder: only the start-up sweep can."""
    data = tmp_path / "data"
    srv = ServerProcess(data, workers=1).start()
    try:
        with client(srv) as http:
            gen_id = _submit(http)
        token = _wait_rendering(srv, gen_id)
        srv.kill()
        assert _scratch(data) == [f"{gen_id}-{token}"]
        runtime = build_runtime(srv.settings())
        runtime.service.delete(gen_id)
        runtime.stop()
        srv = ServerProcess(data, workers=1, port=srv.port).start()
        assert _scratch(data) == []
    finally:
        srv.stop()


def test_the_reconciler_pass_removes_scratch_folders_of_runs_that_are_over(tmp_path):
    from reelforge.config import Settings
    from reelforge.core.request import Draft

    runtime = build_runtime(Settings(data_dir=tmp_path / "data", workers=0))
    try:
        live = runtime.service.submit(Draft(model="veo-3.1-lite", prompt="live", duration=4), "me")
        assert runtime.repo.claim("host-1-live", only=live.id) == live.id
        scratch = runtime.worker.scratch_dir
        kept = scratch / f"{live.id}-host-1-live"  # the run holding the job: kept
        dead = [
            scratch / f"{live.id}-host-2-dead",  # an earlier run of the same job
            scratch / "0badc0de-0000-4000-8000-000000000000-host-3-gone",  # a job that no longer exists
        ]
        for folder in (kept, *dead):
            folder.mkdir(parents=True)
            (folder / "0.mp4").write_bytes(b"partial")
        runtime.reconcile()
        assert sorted(p.name for p in scratch.iterdir()) == [kept.name]
    finally:
        runtime.stop()


# scale-out: `reelforge worker` (Celery) -----------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.delenv("HTTP_PROXY", raising=False)


def test_sigterm_of_a_celery_worker_hands_its_job_to_another_worker(tmp_path):
    with cluster(tmp_path) as c:
        api = c.api()
        first = c.worker()
        with client(api) as http:
            gen_id = _submit(http)
            token = _wait_rendering(api, gen_id, progress=5)
            assert int(token.split("-")[-2]) == first.proc.pid
            second = c.worker()  # started now, so the job can only reach it through the queue
            started = time.monotonic()
            first.proc.send_signal(signal.SIGTERM)
            assert first.proc.wait(60) == 0  # a warm shutdown, not a kill
            assert time.monotonic() - started < 30, "the worker waited for the render to finish"
            gen = wait_for_generation(http, gen_id, timeout=180)
        assert gen["status"] == "COMPLETE"
        job = _row(api, gen_id)
        assert job.attempts == 1  # the handed-back run counted nothing
        assert int(job.lease_token.split("-")[-2]) == second.proc.pid
        listed = c.s3.list_objects_v2(Bucket=c.bucket, Prefix=f"media/outputs/{gen_id}/")
        assert sorted(o["Key"] for o in listed.get("Contents", [])) == [
            f"media/outputs/{gen_id}/1/0.jpg",
            f"media/outputs/{gen_id}/1/0.mp4",
        ]
        assert _scratch(tmp_path / "worker0" / "data") == []
