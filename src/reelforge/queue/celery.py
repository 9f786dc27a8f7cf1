"""Dispatch through Celery on a Redis (or RabbitMQ) broker, for API nodes plus worker machines.

Delivery rules:
- The job row is committed before its id is published; a failed publish is logged, not raised,
  because the job is safely queued and the reconciler publishes it again.
- Messages carry only the job id and are acknowledged late (`acks_late`), so a message is not
  lost when a worker dies before it leases the job.
- A delivery leases the next job in the database's fair order (queued -> running with a fresh
  token), whichever job its message names; a delivery that finds nothing queued does nothing, so
  a job runs to completion at most once in effect.
- The reconciler (worker/reconcile.py, a thread in every worker process) hands back jobs whose
  run went silent and republishes queued jobs that were never delivered.
- A warm shutdown (SIGTERM: Celery's `worker_shutting_down`) stops the running renders; their jobs
  go back to the queue without counting an attempt and are published again for another worker.
"""

import logging
import os
import socket
from collections.abc import Callable

from celery import Celery
from celery.signals import setup_logging, worker_shutting_down

from reelforge.config import Settings
from reelforge.db.repository import Repository

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
        # on Redis a busy worker otherwise still reserves a message an idle one could run (Celery
        # 5.6+; other brokers honour the prefetch count of 1 themselves)
        worker_disable_prefetch=settings.broker_url.startswith(("redis://", "rediss://")),
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


def run_worker(
    settings: Settings,
    app: Celery,
    run_next: Callable[[], bool],
    shut_down: Callable[[], None],
    concurrency: int = 1,
) -> None:
    """Consume the queue until stopped. Every delivery runs the next job the database hands out
    (`run_next`), not necessarily the one its message names: every queued job has a message of its
    own, so each still runs once, and the database's fair order holds across all workers.
    On a warm shutdown (SIGTERM) `shut_down` runs first: running renders stop, hand their jobs
    back to the queue and publish them again, and Celery waits for those tasks to return."""

    @app.task(name=TASK, acks_late=True, ignore_result=True)
    def run_job(job_id: str) -> str:
        return "ran" if run_next() else "skipped"

    def on_shutting_down(**kwargs) -> None:
        log.info("worker shutting down (%s): handing running jobs back", kwargs.get("how"))
        shut_down()

    worker_shutting_down.connect(on_shutting_down, weak=False)
    # a receiver here makes Celery leave logging alone: the process's set-up (core/logs.py) stands
    setup_logging.connect(lambda **kwargs: None, weak=False)

    name = f"reelforge-{socket.gethostname()}-{os.getpid()}@%h"
    app.worker_main(
        [
            "worker",
            "--pool=threads",
            f"--concurrency={concurrency}",
            "-Q",
            settings.queue_name,
            f"--loglevel={settings.log_level}",
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
        ]
    )
