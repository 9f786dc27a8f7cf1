"""Data retention (worker/retention.py), in process on a real database (SQLite and PostgreSQL) and
a real media directory: a pass deletes jobs that ended more than N days ago with their outputs and
inputs, and old uploads no job uses; it keeps queued jobs however old, recent jobs, and uploads still
in use. The embedded runtime runs passes by itself when `retention_days` is set, and never when it
is not."""

import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
from sqlalchemy import update

from reelforge.config import Settings
from reelforge.core.clock import now
from reelforge.core.job import JobStatus
from reelforge.core.request import Draft, FrameInput, FrameKind
from reelforge.db.tables import AssetRow, JobRow
from reelforge.runtime import build_runtime
from reelforge.worker.retention import Swept
from testkit.databases import postgres_database
from testkit.support import make_image

DAYS = 30


def _runtime(path, retention_days: int | None = DAYS, database_url: str | None = None):
    settings = Settings(data_dir=path, workers=0, retention_days=retention_days, database_url=database_url)
    return build_runtime(settings)


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request, tmp_path):
    """A runtime on a SQLite file, and on the PostgreSQL server on 127.0.0.1:5432."""
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if request.param == "postgresql" else None
        rt = _runtime(tmp_path / "data", database_url=url)
        yield rt
        rt.stop()


def _backdate(runtime, row, row_id: str, days: float, **columns) -> None:
    at = now() - timedelta(days=days)
    with runtime.repo.database.begin() as conn:
        conn.execute(update(row).where(row.id == row_id).values({c: at for c in columns}))


def _age_job(runtime, job_id: str, days: float) -> None:
    _backdate(runtime, JobRow, job_id, days, created_at=True, finished_at=True)


def _age_upload(runtime, asset_id: str, days: float) -> None:
    _backdate(runtime, AssetRow, asset_id, days, created_at=True)


def _frame(data: bytes) -> FrameInput:
    return FrameInput(FrameKind.BYTES, data)


def _rendered(runtime, **draft) -> str:
    """A job rendered to success by the runtime's worker (the CPU preview engine)."""
    job = runtime.service.submit(Draft(prompt="retention", model="MOTION2", audio=False, **draft), "me")
    assert runtime.worker.work_next(job.id)
    assert runtime.service.get(job.id).status is JobStatus.SUCCEEDED
    return job.id


def _exists(runtime, key: str) -> bool:
    return runtime.blobs.local_path(key).exists()


def _job_gone(runtime, job_id: str) -> bool:
    return runtime.repo.get_job(job_id) is None


def test_a_pass_deletes_what_ended_long_ago_and_keeps_the_rest(runtime):
    service = runtime.service
    old = _rendered(runtime, start=_frame(make_image(832, 480)))
    old_input = service.get(old).request.start_image
    recent = _rendered(runtime)
    canceled = service.submit(Draft(prompt="canceled", model="MOTION2"), "me").id
    service.cancel(canceled, "me")
    in_use = service.uploads.add_image("me", make_image(832, 480))
    waiting = service.submit(
        Draft(prompt="queued", model="MOTION2", start=FrameInput(FrameKind.UPLOAD, in_use.id)), "me"
    ).id
    unused_old = service.uploads.add_image("me", make_image(64, 64))
    unused_new = service.uploads.add_image("me", make_image(64, 64))
    for job_id in (old, canceled, waiting):
        _age_job(runtime, job_id, DAYS + 10)
    for asset in (in_use, unused_old):
        _age_upload(runtime, asset.id, DAYS + 10)
    old_outputs = [o.video_key for o in service.get(old).outputs]
    old_input_key = service.uploads.get(old_input).key

    assert runtime.retention() == Swept(jobs=2, uploads=1)

    assert _job_gone(runtime, old) and _job_gone(runtime, canceled)
    assert not _exists(runtime, f"outputs/{old}") and not any(_exists(runtime, k) for k in old_outputs)
    assert runtime.repo.get_asset(old_input) is None and not _exists(runtime, old_input_key)
    assert runtime.repo.get_asset(unused_old.id) is None and not _exists(runtime, unused_old.key)
    # a queued job is never deleted, however old, and neither is the old upload it uses
    assert service.get(waiting).status is JobStatus.QUEUED
    assert runtime.repo.get_asset(in_use.id) is not None and _exists(runtime, in_use.key)
    # recent jobs and uploads stay
    assert service.get(recent).status is JobStatus.SUCCEEDED
    assert all(_exists(runtime, o.video_key) for o in service.get(recent).outputs)
    assert runtime.repo.get_asset(unused_new.id) is not None and _exists(runtime, unused_new.key)
    # the next pass finds nothing more
    assert runtime.retention() == Swept(jobs=0, uploads=0)


def test_a_job_is_kept_for_n_days_after_it_ended_not_after_it_was_created(runtime):
    job_id = _rendered(runtime)
    _backdate(runtime, JobRow, job_id, DAYS + 10, created_at=True)  # created long ago...
    _backdate(runtime, JobRow, job_id, DAYS - 1, finished_at=True)  # ...but ended within N days
    assert runtime.retention() == Swept(jobs=0, uploads=0)
    _age_job(runtime, job_id, DAYS + 1)
    assert runtime.retention() == Swept(jobs=1, uploads=0)


def test_an_old_input_shared_with_a_recent_job_stays_until_that_job_goes(runtime):
    service = runtime.service
    image = service.uploads.add_image("me", make_image(832, 480))
    first = _rendered(runtime, start=FrameInput(FrameKind.UPLOAD, image.id))
    second = _rendered(runtime, start=FrameInput(FrameKind.UPLOAD, image.id))
    _age_job(runtime, first, DAYS + 10)
    _age_upload(runtime, image.id, DAYS + 10)
    assert runtime.retention() == Swept(jobs=1, uploads=0)
    assert runtime.repo.get_asset(image.id) is not None and _exists(runtime, image.key)
    service.delete(second, "me")
    assert runtime.repo.get_asset(image.id) is None and not _exists(runtime, image.key)


def test_the_embedded_runtime_sweeps_only_when_retention_is_set(tmp_path):
    kept, swept = _runtime(tmp_path / "off", retention_days=None), _runtime(tmp_path / "on")
    try:
        jobs = {}
        for name, rt in (("off", kept), ("on", swept)):
            jobs[name] = rt.service.submit(Draft(prompt=name, model="MOTION2"), "me").id
            rt.service.cancel(jobs[name], "me")
            _age_job(rt, jobs[name], DAYS + 10)
            rt.start()
        deadline = time.monotonic() + 20
        while not _job_gone(swept, jobs["on"]):  # a pass runs as the runtime starts
            assert time.monotonic() < deadline, "the embedded runtime ran no retention pass"
            time.sleep(0.05)
        assert not _job_gone(kept, jobs["off"])
    finally:
        kept.stop()
        swept.stop()
