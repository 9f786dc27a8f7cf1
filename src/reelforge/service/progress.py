"""Following one job until it ends, for live progress streams (the native API's events route).

The job is read from the database at a short interval, never from in-process state, so a stream
opened on any API node follows a job that any worker renders (scale-out needs no node affinity).
A snapshot is yielded when the status or the progress changed, with an estimate of the time left.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import anyio
from anyio import to_thread

from reelforge.core.clock import aware, now
from reelforge.core.errors import NotFound
from reelforge.core.job import Job, JobStatus

INTERVAL = 0.5  # seconds between two reads of the job


@dataclass(frozen=True)
class Snapshot:
    job: Job
    eta_seconds: float | None  # None when unknown: not running yet, or no progress to go by


def eta_seconds(job: Job, at: datetime) -> float | None:
    """Seconds left at the rate progress has moved since the render started."""
    started = aware(job.started_at)
    if job.status is not JobStatus.RUNNING or started is None or not 0 < job.progress < 100:
        return None
    elapsed = max((at - started).total_seconds(), 0.0)
    return round(elapsed * (100 - job.progress) / job.progress, 1)


class Progress:
    def __init__(self, get: Callable[[str, str | None], Job], interval: float = INTERVAL):
        self._get = get  # JobService.get: owner-scoped, NotFound for an unknown id
        self._interval = interval

    async def watch(self, job_id: str, owner: str | None = None) -> AsyncIterator[Snapshot]:
        """The job now, then each change until it ends (the last snapshot is terminal). Stops
        without a terminal snapshot if the job is deleted meanwhile."""
        seen = None
        while True:
            try:
                job = await to_thread.run_sync(self._get, job_id, owner)
            except NotFound:
                return
            if (job.status, job.progress) != seen:
                seen = (job.status, job.progress)
                yield Snapshot(job, eta_seconds(job, now()))
            if job.status.is_terminal:
                return
            await anyio.sleep(self._interval)
