"""Rendering jobs: lease one (`Worker.work_next`), render it start to finish (`Worker.run_job`).

A run re-reads the job by id, loads its input images (frames fitted to the output size, reference
images as stored), renders every sample with the engine the catalog names, encodes into a scratch
folder through the shared media code, moves the files into blob storage under
`outputs/<job>/<attempt>/`, then records the `Outcome`. A run that does not succeed removes what
it wrote, and a new attempt first clears what a dead one left: no orphan files.

Shutting down (`stop`) is not a cancel: the running renders stop within one step, and each job
goes back to the queue with its attempt given back (`Repository.hand_back`) and is published again
(`requeue`), so restarts never use up a job's attempts. Only a run that went silent counts.
Scratch folders of dead runs (a killed process) are removed by `remove_dead_scratch`.

Each run logs its start and its end (status, seconds, failure code) on the `reelforge.jobs` logger
with the fields as structured extras, never the prompt, and records the queue wait, step, render
and finished-job metrics (core/metrics.py).
"""

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from reelforge.blobs import BlobStore
from reelforge.core.catalog import Catalog, ModelSpec
from reelforge.core.errors import InvalidRequest, storage_failure
from reelforge.core.job import FailureCode, Job, JobStatus, Outcome, Output
from reelforge.core.logs import Repeats
from reelforge.core.metrics import JOBS_FINISHED, NO_FAILURE, QUEUE_WAIT, RENDER, STEP
from reelforge.db.repository import Repository
from reelforge.engines.base import (
    BatchEngine,
    Canceled,
    EngineUnavailable,
    RenderContext,
    RenderFailed,
    UpstreamRejected,
    UpstreamUnavailable,
)
from reelforge.engines.registry import Engines, upstream_options
from reelforge.media.adopt import adopt_mp4
from reelforge.media.clip import Clip, EncodedVideo
from reelforge.media.encode import EncodedMedia, encode_mp4
from reelforge.media.images import decode_image, fit_to_size
from reelforge.worker.lease import Lease, run_token

log = logging.getLogger(__name__)
log.addFilter(Repeats())  # a job failing like the one before it (a full disk) logs no second traceback
jobs_log = logging.getLogger("reelforge.jobs")  # a line per job start and end, never summarised

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
        upstream_concurrency: int = 8,
    ):
        self.repo, self.blobs, self.catalog, self.engines = repo, blobs, catalog, engines
        self.scratch_dir = scratch_dir  # where runs encode before moving files into blob storage
        self.heartbeat = heartbeat
        self.stopping = threading.Event()  # set by `stop`: running renders hand their jobs back
        self.requeue: Callable[[str], None] = lambda job_id: None  # publishes a handed-back job again
        self.ended: Callable[[], None] = lambda: None  # a job reached its terminal state (webhooks)
        self.upstream_concurrency = upstream_concurrency
        self._waiting: dict[str, threading.BoundedSemaphore] = {}  # per provider: upstream jobs waited on
        self._waiters: set[threading.Thread] = set()
        self._lock = threading.Lock()

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
        job = self._leased_job(job_id, token)
        if job is None:
            return True
        provider = self._upstream_provider(job)
        if provider is not None and self._slot(provider).acquire(blocking=False):
            # waiting on a provider needs no render slot: a thread of its own waits instead
            waiter = threading.Thread(
                target=self._wait_upstream, args=(job, token, provider), daemon=True, name="upstream"
            )
            with self._lock:
                self._waiters.add(waiter)
            waiter.start()
            return True
        self._run(job, token)
        return True

    def join_upstream(self, timeout: float) -> None:
        """Wait (after `stop`) for the threads waiting on providers to hand their jobs back."""
        deadline = time.monotonic() + timeout
        for waiter in list(self._waiters):
            waiter.join(max(0.0, deadline - time.monotonic()))

    def _upstream_provider(self, job: Job) -> str | None:
        """The provider of the entry a job renders on next, if that entry is an upstream one."""
        route = self._route(job) if job.request.model in self.catalog else []
        return upstream_options(route[0]).provider if route and route[0].engine == "upstream" else None

    def _slot(self, provider: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._waiting.setdefault(provider, threading.BoundedSemaphore(self.upstream_concurrency))

    def _wait_upstream(self, job: Job, token: str, provider: str) -> None:
        try:
            self._run(job, token, in_slot=False)
        except Exception:
            log.exception("job %s: the upstream run failed", job.id)
        finally:
            self._slot(provider).release()
            with self._lock:
                self._waiters.discard(threading.current_thread())

    def _route(self, job: Job) -> list[ModelSpec]:
        """The catalog entries the job may still render on: its model, then the fallbacks it has
        not tried yet."""
        tried = {attempt["model"] for attempt in job.upstream.get("tried", [])}
        return [
            spec for spec in self.catalog.route(self.catalog.get(job.request.model)) if spec.id not in tried
        ]

    def run_job(self, job_id: str, token: str) -> JobStatus | None:
        """Render a job leased to `token`. Returns its final status, or None if the run lost the job."""
        job = self._leased_job(job_id, token)
        return None if job is None else self._run(job, token)

    def _leased_job(self, job_id: str, token: str) -> Job | None:
        job = self.repo.get_job(job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.lease_token != token:
            return None
        return job

    def _run(self, job: Job, token: str, in_slot: bool = True) -> JobStatus | None:
        """Render `job`, leased to `token`. Out of a render slot (`in_slot` False: a thread waiting
        on a provider), a fall back to an entry that renders here hands the job back to the queue,
        for a slot to take it."""
        # clear what an earlier, dead attempt of this job left behind, here and in blob storage
        for stale in self.scratch_dir.glob(f"{job.id}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.blobs.delete_prefix(f"outputs/{job.id}")
        scratch = self.scratch_dir / f"{job.id}-{token}"
        prefix = f"outputs/{job.id}/{job.attempts}"
        model = job.request.model
        engine = self.catalog.get(model).engine if model in self.catalog else "unknown"
        fields = {"job_id": job.id, "model": model, "engine": engine, "attempt": job.attempts}
        if job.started_at is not None:
            QUEUE_WAIT.labels(model).observe((job.started_at - job.created_at).total_seconds())
        started_line = "job %s started: model %s, engine %s, attempt %d"
        jobs_log.info(started_line, job.id, model, engine, job.attempts, extra=fields)
        lease = Lease(self.repo, job.id, token, job.request.samples, self.heartbeat, self.stopping)
        started = time.monotonic()
        try:
            with lease:
                outcome = self._attempt(job, lease, scratch, prefix, StepTimer(model, engine), in_slot)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        seconds = round(time.monotonic() - started, 3)
        needs_slot = outcome.status is JobStatus.QUEUED
        if (
            needs_slot or (outcome.status is JobStatus.CANCELED and self.stopping.is_set())
        ) and self.repo.hand_back(job.id, token):
            self.blobs.delete_prefix(prefix)
            why = "its fallback renders in a slot" if needs_slot else "shutting down"
            jobs_log.info("job %s handed back to the queue: %s", job.id, why, extra=fields)
            self.requeue(job.id)
            return JobStatus.QUEUED
        if not self.repo.finish(job.id, token, outcome):
            self.blobs.delete_prefix(prefix)
            return None  # deleted, or given to another run, while this one finished
        self.ended()
        _finished(job, engine, outcome, seconds, fields)
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

    def _attempt(
        self, job: Job, lease: Lease, scratch: Path, prefix: str, steps: "StepTimer", in_slot: bool
    ) -> Outcome:
        try:
            return Outcome(
                JobStatus.SUCCEEDED, tuple(self._fall_back(job, lease, scratch, prefix, steps, in_slot))
            )
        except _NeedsSlot:
            return Outcome(JobStatus.QUEUED)
        except Canceled:
            return Outcome(JobStatus.CANCELED)
        except UpstreamRejected as exc:
            return Outcome(JobStatus.FAILED, failure=FailureCode.UPSTREAM_REJECTED, message=str(exc)[:500])
        except UpstreamUnavailable as exc:
            return Outcome(JobStatus.FAILED, failure=FailureCode.UPSTREAM_UNAVAILABLE, message=str(exc)[:500])
        except InvalidRequest as exc:
            return Outcome(JobStatus.FAILED, failure=FailureCode.INVALID_INPUT, message=exc.message)
        except EngineUnavailable as exc:  # a deployment problem, reported by `reelforge doctor` too
            return Outcome(JobStatus.FAILED, failure=FailureCode.ENGINE_UNAVAILABLE, message=str(exc)[:500])
        except RenderFailed as exc:
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
        return fit_to_size(self._image(asset_id), width, height)

    def _image(self, asset_id: str) -> Image.Image:
        asset = self.repo.get_asset(asset_id)
        if asset is None or not self.blobs.exists(asset.key):
            raise InvalidRequest(f"input image {asset_id} no longer exists")
        return decode_image(self.blobs.read_bytes(asset.key))

    def _fall_back(
        self, job: Job, lease: Lease, scratch: Path, prefix: str, steps: "StepTimer", in_slot: bool
    ) -> list[Output]:
        """Render on the job's model, or on its fallbacks in turn while upstreams are unavailable;
        each entry that could not take the job is recorded on it (`upstream.tried`)."""
        route = self._route(job)
        if not route:
            raise UpstreamUnavailable("the model and every fallback of it were unavailable")
        for position, spec in enumerate(route):
            last = position + 1 == len(route)
            if not in_slot and spec.engine != "upstream":
                raise _NeedsSlot()
            if position:  # a fallback must be able to render the request as it was accepted
                try:
                    spec.check(job.request.model_copy(update={"model": spec.id}))
                except InvalidRequest as exc:
                    self._tried(job, lease, spec, exc.message)
                    if last:
                        raise UpstreamUnavailable(
                            f"no fallback can render this request: {exc.message}"
                        ) from None
                    continue
            try:
                return self._render(spec, job, lease, scratch, prefix, steps)
            except UpstreamUnavailable as exc:
                self._tried(job, lease, spec, str(exc))
                if last:
                    raise
                shutil.rmtree(scratch, ignore_errors=True)
                self.blobs.delete_prefix(prefix)
        raise AssertionError("unreachable: the last entry returns or raises")

    def _tried(self, job: Job, lease: Lease, spec: ModelSpec, problem: str) -> None:
        job.upstream.setdefault("tried", []).append({"model": spec.id, "error": problem[:500]})
        self._save_upstream(job, lease)
        fields = {"job_id": job.id, "model": spec.id}
        log.warning("job %s: %s could not take it: %s", job.id, spec.id, problem, extra=fields)

    def _save_upstream(self, job: Job, lease: Lease) -> None:
        if not self.repo.save_upstream(job.id, lease.token, job.upstream):
            lease.stop = True  # the job is gone, or another run has it
            raise Canceled()

    def _sample_saver(self, job: Job, lease: Lease, index: int) -> Callable[[dict], None]:
        def save(state: dict) -> None:
            job.upstream.setdefault("samples", {})[str(index)] = state
            self._save_upstream(job, lease)

        return save

    def _render(
        self, spec: ModelSpec, job: Job, lease: Lease, scratch: Path, prefix: str, steps: "StepTimer"
    ) -> list[Output]:
        req = job.request
        engine = self.engines.get(spec)
        start = self._frame(req.start_image, req.width, req.height)
        end = self._frame(req.end_image, req.width, req.height)
        references = tuple(self._image(asset_id) for asset_id in req.reference_images)
        scratch.mkdir(parents=True, exist_ok=True)
        saved = job.upstream.get("samples", {})
        contexts = [  # their progress callback is set per batch below
            RenderContext(
                req,
                job.sample_seed(index),
                start,
                end,
                lease.report,
                lease.is_canceled,
                references,
                saved=saved.get(str(index)),
                save=self._sample_saver(job, lease, index),
                shutting_down=self.stopping.is_set,
            )
            for index in range(req.samples)
        ]
        # a BatchEngine renders up to batch_limit samples per call; any other engine one at a time
        batch = engine.batch_limit(contexts[0]) if isinstance(engine, BatchEngine) else 1
        outputs = []
        for first in range(0, req.samples, batch):
            chunk = contexts[first : first + batch]
            progress = steps.timing(_batch_report(lease, first, len(chunk)))
            for ctx in chunk:
                ctx.progress = progress
            clips = engine.generate_batch(chunk) if len(chunk) > 1 else [engine.generate(chunk[0])]
            for index, ctx, clip in zip(range(first, first + len(chunk)), chunk, clips, strict=True):
                if isinstance(clip, EncodedVideo):
                    outputs.append(self._store_encoded(clip, ctx, index, job, lease, scratch, prefix))
                else:
                    outputs.append(self._store(clip, ctx, index, lease, scratch, prefix))
        return outputs

    def _store_encoded(
        self,
        clip: EncodedVideo,
        ctx: RenderContext,
        index: int,
        job: Job,
        lease: Lease,
        scratch: Path,
        prefix: str,
    ) -> Output:
        """Fetch sample `index`'s ready-made MP4, record what it cost, and store it as it is."""
        video, poster = scratch / f"{index}.mp4", scratch / f"{index}.jpg"
        clip.write_to(video)
        try:
            media = adopt_mp4(video, poster)
        except ValueError as exc:
            raise RenderFailed(f"the upstream's video could not be read: {exc}") from None
        if clip.cost_usd is not None:
            job.upstream["samples"][str(index)]["cost_usd"] = str(clip.cost_usd)
            self._save_upstream(job, lease)
        return self._keep(video, poster, media, index, ctx.seed, lease, prefix)

    def _store(
        self, clip: Clip, ctx: RenderContext, index: int, lease: Lease, scratch: Path, prefix: str
    ) -> Output:
        """Encode sample `index` and move its video and poster into blob storage."""
        req = ctx.request
        video, poster = scratch / f"{index}.mp4", scratch / f"{index}.jpg"
        media = encode_mp4(clip, req.width, req.height, video, poster)
        return self._keep(video, poster, media, index, ctx.seed, lease, prefix)

    def _keep(
        self, video: Path, poster: Path, media: EncodedMedia, index: int, seed: int, lease: Lease, prefix: str
    ) -> Output:
        """Move sample `index`'s video and poster into blob storage, unless the job was canceled
        meanwhile; the sample as the job records it."""
        if lease.is_canceled():
            raise Canceled()
        output = Output(
            index=index,
            seed=seed,
            video_key=f"{prefix}/{index}.mp4",
            poster_key=f"{prefix}/{index}.jpg",
            width=media.width,
            height=media.height,
            frame_count=media.frame_count,
            fps=media.fps,
            has_audio=media.has_audio,
            video_bytes=media.video_bytes,
        )
        self.blobs.put_file(output.video_key, video, "video/mp4")
        self.blobs.put_file(output.poster_key, poster, "image/jpeg")
        return output


class _NeedsSlot(Exception):
    """A job waiting on providers out of a render slot falls back to an entry that renders here."""


def _batch_report(lease: Lease, first: int, count: int) -> Callable[[float], None]:
    """The progress callback of samples `first` .. `first + count - 1` rendered together: a fraction
    of the batch becomes the job's progress as if those samples were each that far along."""

    def report(fraction: float) -> None:
        done = count * max(0.0, min(1.0, fraction))  # samples' worth of the batch done
        lease.sample = first + min(int(done), count - 1)
        lease.report(first + done - lease.sample)

    return report


class StepTimer:
    """Records the time between an engine's progress reports (its steps) into reelforge_step_seconds.
    A sample's first report is not a step: its interval holds the model load and set-up."""

    def __init__(self, model: str, engine: str):
        self.histogram = STEP.labels(model, engine)

    def timing(self, report: Callable[[float], None]) -> Callable[[float], None]:
        """`report`, timing the calls of one sample."""
        last: float | None = None

        def progress(fraction: float) -> None:
            nonlocal last
            now = time.monotonic()
            if last is not None:
                self.histogram.observe(now - last)
            last = now
            report(fraction)

        return progress


def _finished(job: Job, engine: str, outcome: Outcome, seconds: float, fields: dict) -> None:
    """Log a run's end and count it: render seconds of a success, the failure code of a failure."""
    failure = outcome.failure.value if outcome.failure else NO_FAILURE
    JOBS_FINISHED.labels(job.request.model, outcome.status.value, failure).inc()
    fields = {**fields, "status": outcome.status.value, "seconds": seconds}
    if outcome.status is JobStatus.SUCCEEDED:
        RENDER.labels(job.request.model, engine).observe(seconds)
        jobs_log.info("job %s succeeded in %.1f s", job.id, seconds, extra=fields)
    elif outcome.status is JobStatus.FAILED:
        fields["failure_code"] = failure
        jobs_log.error(
            "job %s failed (%s) after %.1f s: %s", job.id, failure, seconds, outcome.message, extra=fields
        )
    else:
        jobs_log.info("job %s %s after %.1f s", job.id, outcome.status.value, seconds, extra=fields)
