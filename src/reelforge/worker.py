"""Running jobs: lease one (`work_next`), render it start to finish (`run_job`).

A run leases a job with a random token; only that token may report progress or finish it, so a
run that was given up on (its heartbeat went silent and the job was handed to another worker)
can no longer touch the job. The run re-reads the job by id, renders every sample with the engine
the catalog names, encodes into a scratch folder through the shared media code, moves the files
into storage under `outputs/<job>/<attempt>/`, then records the outcome. Progress goes to the
store a few times a second at most and the same write says whether to stop (cancel, delete, lost
lease); a heartbeat thread renews the lease during long engine steps. A run that does not succeed
removes what it wrote, and a new attempt first clears what a dead one left: no orphan files.
"""

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

from PIL import Image

from reelforge.core.errors import InvalidRequest
from reelforge.core.job import Job, JobStatus, Output
from reelforge.core.service import JobService
from reelforge.engines.base import Canceled, EngineUnavailable, RenderContext
from reelforge.engines.registry import get_engine
from reelforge.media.encode import encode_mp4
from reelforge.media.images import decode_image, fit_to_size

log = logging.getLogger(__name__)


class _Lease:
    """Throttled progress reporting that doubles as the cancel check, plus the heartbeat thread."""

    def __init__(self, service: JobService, job_id: str, token: str, samples: int, heartbeat: float):
        self.service, self.job_id, self.token, self.samples = service, job_id, token, samples
        self.sample = 0
        self.percent = 0
        self.stop = False
        self._last = 0.0
        self._interval = min(0.25, heartbeat)
        self._done = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, args=(heartbeat,), daemon=True)

    def __enter__(self) -> "_Lease":
        self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._beat.join()

    def _heartbeat(self, interval: float) -> None:
        while not self._done.wait(interval):
            try:
                if not self.service.repo.heartbeat(self.job_id, self.token):
                    self.stop = True
            except Exception:  # a database hiccup: the next beat or progress write tries again
                log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)

    def report(self, fraction: float) -> None:
        self.percent = min(99, int((self.sample + max(0.0, min(1.0, fraction))) / self.samples * 100))
        self._sync()

    def is_canceled(self) -> bool:
        self._sync()
        return self.stop

    def _sync(self) -> None:
        if time.monotonic() - self._last >= self._interval:
            self._last = time.monotonic()
            self.stop = self.stop or not self.service.repo.set_progress(self.job_id, self.token, self.percent)


def work_next(service: JobService, heartbeat: float = 5.0, only: str | None = None) -> bool:
    """Lease the next queued job (or `only`) and run it. False if there was nothing to run."""
    token = f"{socket.gethostname()[:32]}-{os.getpid()}-{uuid.uuid4().hex[:16]}"  # who runs it, for operators
    job_id = service.repo.claim(token, only)
    if job_id is None:
        return False
    run_job(service, job_id, token, heartbeat)
    return True


def _load_frame(service: JobService, asset_id: str | None, width: int, height: int) -> Image.Image | None:
    if asset_id is None:
        return None
    asset = service.repo.get_asset(asset_id)
    if asset is None or not service.storage.exists(asset.key):
        raise InvalidRequest(f"input image {asset_id} no longer exists")
    return fit_to_size(decode_image(service.storage.read_bytes(asset.key)), width, height)


def run_job(service: JobService, job_id: str, token: str, heartbeat: float = 5.0) -> JobStatus | None:
    """Render a job leased to `token`. Returns its final status, or None if the run lost the job."""
    job = service.repo.get_job(job_id)
    if job is None or job.status is not JobStatus.RUNNING or job.worker_id != token:
        return None
    # clear what an earlier, dead attempt of this job left behind, here and in storage
    for stale in service.scratch_dir.glob(f"{job.id}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    service.storage.delete_prefix(f"outputs/{job.id}")
    scratch = service.scratch_dir / f"{job.id}-{token}"
    prefix = f"outputs/{job.id}/{job.attempts}"
    try:
        with _Lease(service, job.id, token, job.request.samples, heartbeat) as lease:
            status, outputs, error = _attempt(service, job, lease, scratch, prefix)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    code, message = error or (None, None)
    if service.repo.finish(job.id, token, status, outputs, code, message):
        if status is JobStatus.SUCCEEDED:
            return status
    else:
        status = None  # deleted, or given to another run, while this one finished
    service.storage.delete_prefix(prefix)
    return status


def _attempt(service, job, lease, scratch, prefix) -> tuple[JobStatus, list[Output], tuple | None]:
    try:
        return JobStatus.SUCCEEDED, _render(service, job, lease, scratch, prefix), None
    except Canceled:
        return JobStatus.CANCELED, [], None
    except InvalidRequest as exc:
        return JobStatus.FAILED, [], ("invalid_input", exc.message)
    except EngineUnavailable as exc:  # a deployment problem, reported by `reelforge doctor` too
        log.error("job %s: %s", job.id, exc)
        return JobStatus.FAILED, [], ("engine_unavailable", str(exc)[:500])
    except Exception as exc:
        log.exception("job %s failed", job.id)
        return JobStatus.FAILED, [], ("render_failed", str(exc)[:500])


def _render(service: JobService, job: Job, lease: _Lease, scratch: Path, prefix: str) -> list[Output]:
    req = job.request
    engine = get_engine(service.catalog.get(req.model))
    start = _load_frame(service, req.start_image, req.width, req.height)
    end = _load_frame(service, req.end_image, req.width, req.height)
    scratch.mkdir(parents=True, exist_ok=True)
    outputs = []
    for index in range(req.samples):
        lease.sample = index
        seed = job.sample_seed(index)
        clip = engine.generate(RenderContext(req, seed, start, end, lease.report, lease.is_canceled))
        video, poster = scratch / f"{index}.mp4", scratch / f"{index}.jpg"
        media = encode_mp4(clip, req.width, req.height, video, poster)
        if lease.is_canceled():
            raise Canceled()
        video_key, poster_key = f"{prefix}/{index}.mp4", f"{prefix}/{index}.jpg"
        service.storage.put_file(video_key, video, "video/mp4")
        service.storage.put_file(poster_key, poster, "image/jpeg")
        outputs.append(
            Output(
                index=index,
                seed=seed,
                video_key=video_key,
                poster_key=poster_key,
                width=req.width,
                height=req.height,
                frame_count=media.frame_count,
                fps=clip.fps,
                has_audio=media.has_audio,
                video_bytes=media.video_bytes,
            )
        )
    return outputs
