"""The worker through the real service, store and storage (no HTTP): cancel, progress, failure."""

import threading
import time

import pytest

from reelforge.config import Settings
from reelforge.core.job import FailureCode, JobStatus
from reelforge.core.request import Draft, FrameInput, FrameKind
from reelforge.runtime import build_runtime
from testkit.support import make_image


@pytest.fixture
def runtime(tmp_path):
    rt = build_runtime(Settings(data_dir=tmp_path / "data", workers=0))
    yield rt
    rt.stop()


def _start(runtime, **fields):
    service = runtime.service
    job = service.submit(Draft(model="veo-3.1-lite", prompt="worker", **fields), "owner")
    assert runtime.repo.claim("token", job.id) == job.id
    result = {}
    run = runtime.worker.run_job
    thread = threading.Thread(target=lambda: result.setdefault("status", run(job.id, "token")))
    thread.start()
    return job, thread, result


def _wait_progress(service, job_id, at_least=1):
    deadline = time.monotonic() + 30
    while service.get(job_id).progress < at_least:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_cancel_stops_a_render_within_a_progress_step(runtime):
    service = runtime.service
    job, thread, result = _start(runtime, width=1920, height=1080, duration=8)
    _wait_progress(service, job.id)
    service.cancel(job.id)
    thread.join(timeout=2)
    assert not thread.is_alive(), "render kept going after cancel"
    assert result["status"] is JobStatus.CANCELED
    got = service.get(job.id)
    assert got.status is JobStatus.CANCELED and got.outputs == []
    assert not runtime.blobs.local_path(f"outputs/{job.id}").exists()
    assert not list(runtime.worker.scratch_dir.iterdir())


def test_progress_rises_to_100_and_outputs_are_recorded(runtime):
    service = runtime.service
    job, thread, result = _start(runtime, duration=4, samples=2, seed=5)
    seen = []
    while thread.is_alive():
        seen.append(service.get(job.id).progress)
        time.sleep(0.05)
    got = service.get(job.id)
    assert result["status"] is JobStatus.SUCCEEDED and got.progress == 100
    assert seen == sorted(seen) and any(0 < p < 100 for p in seen)
    assert [o.seed for o in got.outputs] == [job.sample_seed(0), job.sample_seed(1)]
    assert len({o.seed for o in got.outputs}) == 2
    assert all(runtime.blobs.exists(o.video_key) and o.frame_count == 96 for o in got.outputs)


def test_missing_input_image_fails_the_job_clearly(runtime):
    service = runtime.service
    asset = service.uploads.add_image("owner", make_image(640, 360))
    start = FrameInput(FrameKind.UPLOAD, asset.id)
    job = service.submit(Draft(model="veo-3.1-lite", prompt="p", duration=4, start=start), "owner")
    service.uploads.delete(asset.id, "owner")
    assert runtime.repo.claim("token", job.id)
    assert runtime.worker.run_job(job.id, "token") is JobStatus.FAILED
    got = service.get(job.id)
    assert got.error_code is FailureCode.INVALID_INPUT and asset.id in got.error_message
