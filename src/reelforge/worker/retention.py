"""Data retention (`REELFORGE_RETENTION_DAYS`, off by default): a periodic pass deletes jobs that
ended more than N days ago, with their outputs and their input images (as a client's delete does),
and uploads created more than N days ago that no job uses.

Queued and running jobs are never deleted, however old: a job still waiting or rendering is work a
client is owed. Its N days start when it ends. The embedded server runs the pass in a thread;
in scale-out mode every `reelforge worker` runs it beside the reconciler. Passes on several
processes at once are safe: each deletion is a conditional database write, and a job another pass
deleted first is skipped.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from reelforge.blobs import BlobStore
from reelforge.core.clock import now
from reelforge.core.errors import NotFound
from reelforge.db.repository import Repository

log = logging.getLogger(__name__)

RETENTION_INTERVAL = 3600.0  # seconds between passes: retention is counted in days
BATCH = 500


@dataclass(frozen=True)
class Swept:
    jobs: int  # jobs deleted (with their outputs and the inputs no other job uses)
    uploads: int  # old uploads no job used, deleted


def sweep(repo: Repository, blobs: BlobStore, delete_job: Callable[[str], None], days: int) -> Swept:
    """One pass. `delete_job` is the service's delete (outputs, unused inputs, the row)."""
    cutoff = now() - timedelta(days=days)
    jobs = uploads = 0
    while batch := repo.expired_jobs(cutoff, BATCH):
        for job_id in batch:
            try:
                delete_job(job_id)
                jobs += 1
            except NotFound:  # another pass got there first
                pass
        if len(batch) < BATCH:
            break
    while batch := repo.expired_assets(cutoff, BATCH):
        deleted = repo.delete_unused_assets(batch)
        for asset in deleted:
            blobs.delete(asset.key)
        uploads += len(deleted)
        if len(batch) < BATCH or not deleted:  # nothing deleted: racing creates use them all
            break
    if jobs or uploads:
        log.info("retention (%d days): deleted %d jobs and %d unused uploads", days, jobs, uploads)
    return Swept(jobs, uploads)


def sweep_forever(one_pass: Callable[[], object], interval: float, stop: threading.Event) -> None:
    """Run `one_pass` now and then every `interval` seconds until `stop` is set; failures are
    logged and retried at the next pass."""
    while True:
        try:
            one_pass()
        except Exception:
            log.warning("retention pass failed; retrying in %.0f s", interval, exc_info=True)
        if stop.wait(interval):
            return
