"""Rendering jobs: lease one (`Worker.work_next`), render it start to finish (`Worker.run_job`).

A run re-reads the job by id, renders every sample with the engine the catalog names, encodes
into a scratch folder through the shared media code, moves the files into blob storage under
`outputs/<job>/<attempt>/`, then records the `Outcome`. A run that does not succeed removes what
it wrote, and a new attempt first clears what a dead one left: no orphan files.

Shutting down (`stop`) is not a cancel: the running renders stop within one step, and each job
goes back to the queue with its attempt given back (`Repository.hand_back`) and is published again
(`requeue`), so restarts never use up a job's attempts. Only a run that went silent counts.
Scratch folders of dead runs (a killed process) are removed by `remove_dead_scratch`.
"""

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from reelforge.blobs import BlobStore
from reelforge.core.catalog import Catalog
from reelforge.core.errors import InvalidRequest, storage_failure
from reelforge.core.job import FailureCode, Job, JobStatus, Outcome, Output
from reelforge.core.logs import Repeats
from reelforge.db.repository import Repository
from reelforge.engines.base import Canceled, EngineUnavailable, RenderContext, RenderFailed
from reelforge.engines.registry import Engines
from reelforge.media.encode import encode_mp4
from reelforge.media.images import decode_image, fit_to_size
from reelforge.worker.lease import Lease, run_token

log = logging.getLogger(__name__)
log.addFilter(Repeats())  # a job failing like the one before it (a full disk) logs no second traceback

# what a client reads about a failure whose details are the server's own
FAILURE_MESSAGES = {
    FailureCode.STORAGE_FULL: "the server ran out of storage space while rendering; retry later",
    FailureCode.STORAGE_UNAVAILABLE: "the server could not write the video to its storage",
    FailureCode.RENDER_FAILED: "the render failed on the server",
}


class Worker:
    def __init__(
        self,
        repo: Repository,
        blobs: BlobStore,
        catalog: Catalog,
        engines: Engines,
        scratch_dir: Path,
        heartbeat: float = 5.0,
    ):
        self.repo, self.blobs, self.catalog, self.engines = repo, blobs, catalog, engines
        self.scratch_dir = scratch_dir  # where runs encode before moving files into blob storage
        self.heartbeat = heartbeat
        self.stopping = threading.Event()  # set by `stop`: running renders hand their jobs back
        self.requeue: Callable[[str], None] = lambda job_id: None  # publishes a handed-back job again
        self.ended: Callable[[], None] = lambda: None  # a job reached its terminal state (webhooks)

    def stop(self) -> None:
        """Shut down: lease nothing more, and make running renders hand their jobs back."""
        self.stopping.set()

    def work_next(self, only: str | None = None) -> bool:
        """Lease the next queued job (or `only`) and run it. False if there was nothing to run."""
        if self.stopping.is_set():
            return False
        token = run_token()  # who runs it
        job_id = self.repo.claim(token, only)
        if job_id is None:
            return False
        self.run_job(job_id, token)
        return True

    def run_job(self, job_id: str, token: str) -> JobStatus | None:
        """Render a job leased to `token`. Returns its final status, or None if the run lost the job."""
        job = self.repo.get_job(job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.lease_token != token:
            return None
        # clear what an earlier, dead attempt of this job left behind, here and in blob storage
        for stale in self.scratch_dir.glob(f"{job.id}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.blobs.delete_prefix(f"outputs/{job.id}")
        scratch = self.scratch_dir / f"{job.id}-{token}"
        prefix = f"outputs/{job.id}/{job.attempts}"
        lease = Lease(self.repo, job.id, token, job.request.samples, self.heartbeat, self.stopping)
        try:
            with lease:
                outcome = self._attempt(job, lease, scratch, prefix)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if (
            outcome.status is JobStatus.CANCELED
            and self.stopping.is_set()
            and self.repo.hand_back(job.id, token)
        ):
            self.blobs.delete_prefix(prefix)
            log.info("job %s handed back to the queue: shutting down", job.id)
            self.requeue(job.id)
            return JobStatus.QUEUED
        if not self.repo.finish(job.id, token, outcome):
            self.blobs.delete_prefix(prefix)
            return None  # deleted, or given to another run, while this one finished
        self.ended()
        if outcome.status is not JobStatus.SUCCEEDED:
            self.blobs.delete_prefix(prefix)
        return outcome.status

    def remove_dead_scratch(self) -> list[str]:
        """Remove the scratch folders (`<job>-<token>`) of runs that are over: their job is no
        longer running under that token (a killed process left them). Returns the removed names."""
        removed = []
        for entry in self.scratch_dir.glob("*-*") if self.scratch_dir.is_dir() else ():
            job_id, token = entry.name[:36], entry.name[37:]
            job = self.repo.get_job(job_id)
            if job is None or job.status is not JobStatus.RUNNING or job.lease_token != token:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        if removed:
            log.info("removed %d scratch folders of dead runs", len(removed))
        return removed

    def _attempt(self, job: Job, lease: Lease, scratch: Path, prefix: str) -> Outcome:
        try:
            return Outcome(JobStatus.SUCCEEDED, tuple(self._render(job, lease, scratch, prefix)))
        except Canceled:
            return Outcome(JobStatus.CANCELED)
        except InvalidRequest as exc:
            return Outcome(JobStatus.FAILED, failure=FailureCode.INVALID_INPUT, message=exc.message)
        except EngineUnavailable as exc:  # a deployment problem, reported by `reelforge doctor` too
            log.error("job %s: %s", job.id, exc)
            return Outcome(JobStatus.FAILED, failure=FailureCode.ENGINE_UNAVAILABLE, message=str(exc)[:500])
        except RenderFailed as exc:
            log.error("job %s: %s", job.id, exc)
            return Outcome(JobStatus.FAILED, failure=FailureCode.RENDER_FAILED, message=str(exc)[:500])
        except Exception as exc:  # the details (paths, host, pid) go to the log, never to the client
            log.exception("job %s failed", job.id)
            failure = {"full": FailureCode.STORAGE_FULL, "unavailable": FailureCode.STORAGE_UNAVAILABLE}.get(
                storage_failure(exc), FailureCode.RENDER_FAILED
            )
            return Outcome(JobStatus.FAILED, failure=failure, message=FAILURE_MESSAGES[failure])

    def _frame(self, asset_id: str | None, width: int, height: int) -> Image.Image | None:
        if asset_id is None:
            return None
        asset = self.repo.get_asset(asset_id)
        if asset is None or not self.blobs.exists(asset.key):
            raise InvalidRequest(f"input image {asset_id} no longer exists")
        return fit_to_size(decode_image(self.blobs.read_bytes(asset.key)), width, height)

    def _render(self, job: Job, lease: Lease, scratch: Path, prefix: str) -> list[Output]:
        req = job.request
        engine = self.engines.get(self.catalog.get(req.model))
        start = self._frame(req.start_image, req.width, req.height)
        end = self._frame(req.end_image, req.width, req.height)
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
            self.blobs.put_file(video_key, video, "video/mp4")
            self.blobs.put_file(poster_key, poster, "image/jpeg")
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
