"""Dispatch through Celery on a Redis (or RabbitMQ) broker, for API nodes plus worker machines.

Delivery rules:
- The job row is committed before its id is published; a failed publish is logged, not raised,
  because the job is safely queued and the reconciler publishes it again.
- Messages carry only the job id and are acknowledged late (`acks_late`), so a message is not
  lost when a worker dies before it leases the job.
- A delivery runs a job only if it can lease it (queued -> running with a fresh token). Duplicate
  or late deliveries of a running or finished job do nothing, so a job runs to completion at most
  once in effect.
- The reconciler (a thread in every worker process) hands back jobs whose run went silent
  (no heartbeat for `worker_lost_after`), fails them after `max_attempts`, and republishes queued
  jobs that were never delivered. All of it is conditional updates: many reconcilers are safe.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from celery import Celery

from reelforge.config import Settings
from reelforge.core.job import JobStatus
from reelforge.store.repository import Repository, now

log = logging.getLogger(__name__)

TASK = "reelforge.run_job"


def make_app(settings: Settings) -> Celery:
    app = Celery("reelforge", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.queue_name,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        broker_transport_options={
            "visibility_timeout": 3600,
            "socket_connect_timeout": 3,
            "socket_timeout": 10,
        },
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1,
        },
    )
    return app


class CeleryQueue:
    """The API side: publish job ids."""

    def __init__(self, settings: Settings, repo: Repository):
        self.app = make_app(settings)
        self.repo = repo

    def enqueue(self, job_id: str) -> None:
        try:
            self.app.send_task(TASK, args=[job_id], retry=True)
        except Exception as exc:  # the broker is down: the job stays queued for the reconciler
            log.warning("could not publish job %s (%s); the reconciler will retry", job_id, exc)
            return
        self.repo.mark_published(job_id)

    def start(self) -> None:
        """API nodes render nothing themselves when Celery dispatches."""

    def stop(self) -> None:
        pass


def reconcile(runtime) -> tuple[list[str], list[str], list[str]]:
    """One pass: recover silent runs, republish undelivered jobs. Returns (requeued, failed, published)."""
    settings, repo = runtime.settings, runtime.service.repo
    silent_since = now() - timedelta(seconds=settings.worker_lost_after)
    requeued, failed = repo.recover_running(settings.max_attempts, silent_since)
    for job_id in failed:
        log.error("job %s failed: its worker stopped responding %d times", job_id, settings.max_attempts)
    published = repo.unpublished(now() - timedelta(seconds=settings.worker_lost_after))
    for job_id in dict.fromkeys(requeued + published):
        runtime.queue.enqueue(job_id)
    return requeued, failed, published


def _reconcile_forever(runtime, stop: threading.Event) -> None:
    while not stop.wait(runtime.settings.reconcile_interval):
        try:
            reconcile(runtime)
        except Exception:
            log.warning("reconciliation failed; retrying", exc_info=True)


def run_worker(settings: Settings, concurrency: int = 1) -> None:
    """`reelforge worker`: a Celery worker that leases and renders jobs, plus the reconciler."""
    from reelforge.runtime import build_runtime

    runtime = build_runtime(settings)
    app = runtime.queue.app

    @app.task(name=TASK, acks_late=True, ignore_result=True)
    def run_job(job_id: str) -> str:
        job = runtime.service.repo.get_job(job_id)
        if job is None or job.status is not JobStatus.QUEUED:
            return "skipped"  # deleted, finished, or being run by a live lease
        return "ran" if runtime.work_next(only=job_id) else "skipped"

    stop = threading.Event()
    threading.Thread(target=_reconcile_forever, args=(runtime, stop), daemon=True, name="reconciler").start()
    name = f"reelforge-{socket.gethostname()}-{os.getpid()}@%h"
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={concurrency}",
                "-Q",
                settings.queue_name,
                "--loglevel=INFO",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        stop.set()
        runtime.stop()
