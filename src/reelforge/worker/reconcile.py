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
from reelforge.db.repository import Repository
from reelforge.worker.lease import run_is_dead

log = logging.getLogger(__name__)


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
    for job_id in failed:
        log.error("job %s failed: its worker stopped responding %d times", job_id, max_attempts)
    published = repo.unpublished(silent_since)
    for job_id in dict.fromkeys(requeued + published):
        enqueue(job_id)
    return Reconciled(requeued, failed, published)


def reconcile_forever(one_pass: Callable[[], object], interval: float, stop: threading.Event) -> None:
    """Run `one_pass` every `interval` seconds until `stop` is set; failures are logged and retried."""
    while not stop.wait(interval):
        try:
            one_pass()
        except Exception:
            log.warning("reconciliation failed; retrying", exc_info=True)
