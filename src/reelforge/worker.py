"""run_job(job_id): render one claimed job start to finish.

The worker re-reads the job by id, renders every sample with the engine the catalog names, encodes
through the shared media code into storage, and records the outcome. Progress goes to the store a
few times a second at most; the same write tells the worker whether to stop (cancel or delete).
A run that does not finish cleanly removes whatever it wrote, so no orphan files remain.
"""

import logging
import time

from PIL import Image

from reelforge.core.errors import InvalidRequest
from reelforge.core.job import Job, JobStatus, Output
from reelforge.core.service import JobService
from reelforge.engines.base import Canceled, RenderContext
from reelforge.engines.registry import get_engine
from reelforge.media.encode import encode_mp4
from reelforge.media.images import decode_image, fit_to_size

log = logging.getLogger(__name__)


class _Progress:
    """Throttled progress reporting that doubles as the cancel check."""

    def __init__(self, service: JobService, job_id: str, samples: int, interval: float = 0.25):
        self.service, self.job_id, self.samples, self.interval = service, job_id, samples, interval
        self.sample = 0
        self.percent = 0
        self.stop = False
        self._last = 0.0

    def report(self, fraction: float) -> None:
        self.percent = min(99, int((self.sample + max(0.0, min(1.0, fraction))) / self.samples * 100))
        self._sync(force=False)

    def is_canceled(self) -> bool:
        self._sync(force=False)
        return self.stop

    def _sync(self, force: bool) -> None:
        if force or time.monotonic() - self._last >= self.interval:
            self._last = time.monotonic()
            self.stop = not self.service.repo.set_progress(self.job_id, self.percent)


def _load_frame(service: JobService, asset_id: str | None, width: int, height: int) -> Image.Image | None:
    if asset_id is None:
        return None
    asset = service.repo.get_asset(asset_id)
    if asset is None or not service.storage.exists(asset.key):
        raise InvalidRequest(f"input image {asset_id} no longer exists")
    return fit_to_size(decode_image(service.storage.path(asset.key).read_bytes()), width, height)


def run_job(service: JobService, job_id: str) -> JobStatus | None:
    """Render a job that has been claimed (status running). Returns its final status."""
    job = service.repo.get_job(job_id)
    if job is None or job.status is not JobStatus.RUNNING:
        return None
    prefix = f"outputs/{job.id}"
    service.storage.delete_prefix(prefix)  # leftovers of an interrupted earlier attempt
    progress = _Progress(service, job.id, job.request.samples)
    try:
        outputs = _render(service, job, progress)
    except Canceled:
        service.storage.delete_prefix(prefix)
        service.repo.finish(job.id, JobStatus.CANCELED)
        return JobStatus.CANCELED
    except InvalidRequest as exc:
        service.storage.delete_prefix(prefix)
        service.repo.finish(job.id, JobStatus.FAILED, error_code="invalid_input", error_message=exc.message)
        return JobStatus.FAILED
    except Exception as exc:
        log.exception("job %s failed", job.id)
        service.storage.delete_prefix(prefix)
        service.repo.finish(
            job.id, JobStatus.FAILED, error_code="render_failed", error_message=str(exc)[:500]
        )
        return JobStatus.FAILED
    if not service.repo.finish(job.id, JobStatus.SUCCEEDED, outputs):
        service.storage.delete_prefix(prefix)  # deleted or canceled while the last frames encoded
        return None
    return JobStatus.SUCCEEDED


def _render(service: JobService, job: Job, progress: _Progress) -> list[Output]:
    req = job.request
    engine = get_engine(service.catalog.get(req.model).engine)
    start = _load_frame(service, req.start_image, req.width, req.height)
    end = _load_frame(service, req.end_image, req.width, req.height)
    outputs = []
    for index in range(req.samples):
        progress.sample = index
        seed = job.sample_seed(index)
        ctx = RenderContext(req, seed, start, end, progress.report, progress.is_canceled)
        clip = engine.generate(ctx)
        video_key, poster_key = f"outputs/{job.id}/{index}.mp4", f"outputs/{job.id}/{index}.jpg"
        media = encode_mp4(
            clip,
            req.width,
            req.height,
            service.storage.writable_path(video_key),
            service.storage.writable_path(poster_key),
        )
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
