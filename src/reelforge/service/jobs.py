"""JobService: the one entry point dialects, the CLI and tests use to submit, read, cancel and
delete jobs, follow one live (`progress`), take uploads (`uploads`), reach stored media (`media`),
manage keys (`accounts`) and webhooks (`webhooks`) and keep the answers of creates sent with an
Idempotency-Key (`idempotency`).
Every lookup is scoped to the calling owner; None as owner means the operator, who sees every job.
"""

import dataclasses
from collections.abc import Callable
from typing import NoReturn

from reelforge.blobs import BlobStore
from reelforge.core import origin
from reelforge.core.catalog import Catalog
from reelforge.core.errors import NotFound
from reelforge.core.job import Job, JobExtras, JobStatus
from reelforge.core.metrics import JOBS_FINISHED, NO_FAILURE
from reelforge.core.request import Draft
from reelforge.db.repository import Repository
from reelforge.media.fetch import TOTAL_TIMEOUT
from reelforge.service import derived
from reelforge.service.accounts import Accounts
from reelforge.service.idempotency import Idempotency
from reelforge.service.media import Media
from reelforge.service.progress import Progress
from reelforge.service.submissions import Submissions
from reelforge.service.uploads import Uploads
from reelforge.service.webhooks import Webhooks


class JobService:
    def __init__(
        self,
        repo: Repository,
        blobs: BlobStore,
        catalog: Catalog,
        enqueue: Callable[[str], None],
        base_url: str,
        secret: bytes,
        accounts: Accounts,
        idempotency: Idempotency,
        webhooks: Webhooks,
        image_fetch_allowlist: str = "",
        image_fetches_per_account: int = 4,
        image_fetch_timeout: float = TOTAL_TIMEOUT,
    ):
        self._repo = repo
        self._blobs = blobs
        self.catalog = catalog  # read-only: dialects list models and map their names onto it
        self._base_url = base_url
        self.accounts = accounts
        self.idempotency = idempotency
        self.webhooks = webhooks
        self.uploads = Uploads(repo, blobs, base_url, secret)
        self.media = Media(blobs)
        self.progress = Progress(self.get)
        self._submissions = Submissions(
            repo,
            self.uploads,
            catalog,
            enqueue,
            image_fetch_allowlist,
            image_fetches_per_account,
            image_fetch_timeout,
        )

    @property
    def base_url(self) -> str:
        """Where this server is reached: the origin of the request being answered, or the
        configured base (core/origin.py)."""
        return origin.base_url(self._base_url)

    def submit(self, draft: Draft, owner: str, extras: JobExtras | None = None) -> Job:
        """Validate, price, store the inputs and queue the job (service/submissions.py). Frames
        must be in hand: image URLs take `submit_async`."""
        return self._submissions.submit(draft, owner, extras)

    async def submit_async(self, draft: Draft, owner: str, extras: JobExtras | None = None) -> Job:
        """`submit`, fetching image URLs first on the event loop; the blocking steps run in worker
        threads. TooManyRequests when the owner already has `image_fetches_per_account` fetches in
        flight."""
        return await self._submissions.submit_async(draft, owner, extras)

    async def remix(self, job_id: str, owner: str, prompt: str, extras: JobExtras) -> Job:
        """A new job like the owner's finished job `job_id` with a new prompt (service/derived.py);
        it records the job it remixes."""
        source = self.get(job_id, owner)
        extras = dataclasses.replace(extras, remixed_from=source.id)
        return await self.submit_async(derived.remix(source, prompt), owner, extras)

    async def extend(
        self, job_id: str, owner: str, prompt: str, duration: int | None, extras: JobExtras, field: str
    ) -> Job:
        """A new clip going on from the last frame of the owner's finished job `job_id`
        (service/derived.py); `Unsupported` where its model takes no start frame."""
        source = self.get(job_id, owner)
        return await self.submit_async(
            derived.extend(source, prompt, duration, self.catalog, field), owner, extras
        )

    def edit(self, job_id: str, owner: str) -> NoReturn:
        """Editing a video: `Unsupported` for every model (service/derived.py), after the lookup."""
        derived.edit(self.get(job_id, owner))

    def get(self, job_id: str, owner: str | None = None) -> Job:
        job = self._repo.get_job(job_id)
        if job is None or (owner is not None and job.owner != owner):
            raise NotFound(f"generation {job_id} not found")
        return job

    def list(
        self,
        owner: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: str | None = None,
        ascending: bool = False,
    ) -> list[Job]:
        """The owner's jobs, newest first unless `ascending`; `after` is a job id cursor."""
        cursor = self.get(after, owner) if after is not None else None
        return self._repo.list_jobs(owner, limit=limit, offset=offset, after=cursor, ascending=ascending)

    def cancel(self, job_id: str, owner: str | None = None) -> Job:
        """Cancel a queued job at once (its credits come back); flag a running one, whose render
        stops at its next step and is then recorded canceled (credits back, files removed). A
        finished job is left as it is. Returns the job as it is now; dialects decide how to
        answer a cancel of a finished one."""
        before = self.get(job_id, owner)
        _count_cancel(before, self._repo.request_cancel(job_id))
        return self.get(job_id, owner)

    def delete(self, job_id: str, owner: str | None = None) -> None:
        """Delete a job, its outputs and its input images (frames and reference images), except
        inputs another job still uses (an init image used twice goes with the last job using it).
        A running render notices at its next progress step and stops; the worker then finds the
        row gone and removes anything it wrote. A create racing this delete for the same upload can
        lose its image: that job then fails with `invalid_input`."""
        job = self.get(job_id, owner)
        _count_cancel(job, self._repo.request_cancel(job_id))
        self._repo.delete_job(job_id)
        self._blobs.delete_prefix(f"outputs/{job_id}")
        frames = (job.request.start_image, job.request.end_image)
        inputs = [a for a in (*frames, *job.request.reference_images) if a is not None]
        for asset in self._repo.delete_unused_assets(inputs):
            self._blobs.delete(asset.key)

    def stats(self) -> dict[str, int]:
        return {status.value: self._repo.count_jobs(status) for status in JobStatus}

    def ping(self) -> None:
        """Raises unless the database answers."""
        self._repo.ping()


def _count_cancel(before: Job, after: JobStatus | None) -> None:
    """A queued job this cancel ended is a finished job (a running one is counted by its worker)."""
    if before.status is JobStatus.QUEUED and after is JobStatus.CANCELED:
        JOBS_FINISHED.labels(before.request.model, JobStatus.CANCELED.value, NO_FAILURE).inc()
