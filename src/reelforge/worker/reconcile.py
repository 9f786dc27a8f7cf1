"""Recovering lost runs: one pass hands back jobs whose run went silent (no heartbeat for
`worker_lost_after`) or whose process on this host is gone, fails them after `max_attempts`, and
republishes queued jobs that were never delivered. All of it is conditional updates, so many
reconcilers (Celery workers, embedded servers, on one database) are safe.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from reelforge.core.clock import now
from reelforge.core.job import FailureCode, JobStatus
from reelforge.core.metrics import JOBS_FINISHED
from reelforge.db.repository import Repository
from reelforge.worker.lease import run_is_dead

log = logging.getLogger(__name__)
jobs_log = logging.getLogger("reelforge.jobs")


@dataclass(frozen=True)
class Reconciled:
    requeued: list[str]
    failed: list[str]
    published: list[str]


def reconcile(
    repo: Repository, enqueue: Callable[[str], None], worker_lost_after: float, max_attempts: int
) -> Reconciled:
    silent_since = now() - timedelta(seconds=worker_lost_after)
    requeued, failed = repo.recover_running(max_attempts, silent_since, gone=run_is_dead)
    record_lost(repo, failed, max_attempts)
    published = repo.unpublished(silent_since)
    for job_id in dict.fromkeys(requeued + published):
        enqueue(job_id)
    return Reconciled(requeued, failed, published)


def record_lost(repo: Repository, failed: list[str], max_attempts: int) -> None:
    """Log and count the jobs that failed because their worker went silent `max_attempts` times."""
    for job_id in failed:
        job = repo.get_job(job_id)
        model = job.request.model if job else "unknown"
        JOBS_FINISHED.labels(model, JobStatus.FAILED.value, FailureCode.WORKER_LOST.value).inc()
        fields = {"job_id": job_id, "model": model, "status": "failed", "failure_code": "worker_lost"}
        jobs_log.error(
            "job %s failed (worker_lost): its worker stopped responding %d times",
            job_id,
            max_attempts,
            extra=fields,
        )


def reconcile_forever(one_pass: Callable[[], object], interval: float, stop: threading.Event) -> None:
    """Run `one_pass` every `interval` seconds until `stop` is set; failures are logged and retried."""
    while not stop.wait(interval):
        try:
            one_pass()
        except Exception:
            log.warning("reconciliation failed; retrying", exc_info=True)
