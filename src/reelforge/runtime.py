"""Assembles the running system from settings: database, blob storage, catalog, engines, service,
worker and queue.

The HTTP app, the CLI, Celery workers and tests all build their parts here, so there is one
wiring to trust. With the in-process queue the server renders jobs itself; with Celery it only
publishes them and `reelforge worker` processes render.
"""

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from reelforge import doctor
from reelforge.blobs import BlobStore, open_blobs
from reelforge.config import Settings
from reelforge.core.catalog import Catalog, load_catalog
from reelforge.db.accounts import AccountStore
from reelforge.db.connect import migrate, open_database
from reelforge.db.idempotency import IdempotencyStore
from reelforge.db.repository import Repository
from reelforge.db.webhooks import WebhookStore
from reelforge.engines.registry import Engines, check_catalog
from reelforge.queue.inprocess import InProcessQueue
from reelforge.service.accounts import Accounts
from reelforge.service.idempotency import Idempotency
from reelforge.service.jobs import JobService
from reelforge.service.media import Media
from reelforge.service.ratelimits import RateLimits, open_rate_limits
from reelforge.service.webhooks import Form, Webhooks
from reelforge.worker.reconcile import reconcile, reconcile_forever
from reelforge.worker.retention import RETENTION_INTERVAL, Swept, sweep, sweep_forever
from reelforge.worker.run import Worker

log = logging.getLogger(__name__)

FormsOf = Callable[[str, Media], dict[str, Form]]  # (base URL, media) -> the dialects' webhook forms

if TYPE_CHECKING:
    from reelforge.queue.celery import CeleryQueue


def secret_key(settings: Settings) -> bytes:
    """The key that signs upload tokens and media URLs: from the settings (shared by every API
    node), or a per-installation key created in the data dir on first start."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


def open_catalog(settings: Settings) -> Catalog:
    """The configured catalog, with every entry's engine settings checked."""
    return check_catalog(load_catalog(settings.catalog_path))


@dataclass
class Runtime:
    settings: Settings
    repo: Repository
    blobs: BlobStore
    engines: Engines
    service: JobService
    worker: Worker
    queue: "InProcessQueue | CeleryQueue"
    limits: RateLimits  # requests per minute per API key, counted by the API (api/auth.py)
    stopping: threading.Event = field(default_factory=threading.Event)  # ends background passes
    model_problems: dict[str, list[str]] = field(default_factory=dict)  # set by check_models at start
    _webhook_loop: threading.Thread | None = None

    @property
    def webhooks(self) -> Webhooks:
        return self.service.webhooks

    def start(self) -> None:
        """Embedded mode: recover jobs whose run is over (its process on this host is gone, or its
        heartbeat went silent; each counts an attempt) and remove their scratch folders, then start
        the worker threads with a reconciler beside them (a job another process on the same
        database is rendering stays with it), the webhook delivery loop (and the retention passes,
        if set). Every `serve` process runs the delivery loop, also an API node in scale-out mode:
        claims are leases, so several loops share the work safely. Models that cannot run here are
        logged first (`check_models`); models set to `compile` load and warm up before the worker
        threads start."""
        self.check_models()
        if isinstance(self.queue, InProcessQueue) and self.queue.concurrency:
            self.engines.preload_compiled(self.service.catalog)
            self.reconcile()
            interval = self.settings.reconcile_interval
            threading.Thread(
                target=reconcile_forever,
                args=(self.reconcile, interval, self.stopping),
                daemon=True,
                name="reconciler",
            ).start()
        if isinstance(self.queue, InProcessQueue):
            self._start_retention(self.stopping)
        self._start_webhooks(self.stopping)
        self.queue.start()

    def stop(self) -> None:
        """Graceful shutdown: running renders hand their jobs back (no attempt counted), then the
        worker threads and the webhook loop end (an attempt in flight finishes, within
        `webhook_timeout`) and the database connections close."""
        self.stopping.set()
        self.worker.stop()
        self.queue.stop()
        self.worker.join_upstream(10)
        if self._webhook_loop is not None:
            self.webhooks.wake.set()
            self._webhook_loop.join(self.settings.webhook_timeout + 5)
        self.repo.close()

    def check_models(self) -> None:
        """Log a warning for each catalog model that cannot run here (doctor.py's model check), and
        keep the answer for /readyz, which then costs no file system reads."""
        self.model_problems = doctor.model_problems(self.service.catalog)
        for model_id, problems in self.model_problems.items():
            log.warning("catalog model %s cannot run here: %s", model_id, "; ".join(problems))

    def probes(self) -> dict[str, Callable[[], str]]:
        """What /readyz checks besides the catalog (doctor.py's probes): the database, the queue (the
        embedded worker threads, or the Celery broker) and blob storage."""
        if isinstance(self.queue, InProcessQueue):
            queue = partial(doctor.workers_status, self.queue.alive, self.queue.concurrency)
        else:
            queue = partial(doctor.broker_status, self.settings.broker_url)
        return {
            "database": partial(doctor.database_status, self.repo.database),
            "queue": queue,
            "storage": partial(doctor.storage_status, self.blobs),
        }

    def _start_webhooks(self, stop: threading.Event) -> None:
        """A thread dispatching job events and delivering webhooks until `stop` is set."""
        args = (self.settings.webhook_interval, stop)
        self._webhook_loop = threading.Thread(
            target=self.webhooks.run_forever, args=args, daemon=True, name="webhooks"
        )
        self._webhook_loop.start()

    def reconcile(self):
        """One reconciliation pass: see worker/reconcile.py; it also removes the scratch folders of
        this machine's dead runs."""
        s = self.settings
        reconciled = reconcile(self.repo, self.queue.enqueue, s.worker_lost_after, s.max_attempts)
        self.worker.remove_dead_scratch()
        return reconciled

    def retention(self) -> Swept:
        """One retention pass: see worker/retention.py."""
        return sweep(self.repo, self.blobs, self.service.delete, self.settings.retention_days)

    def _start_retention(self, stop: threading.Event) -> None:
        """With `retention_days` set: a thread running retention passes until `stop` is set."""
        if self.settings.retention_days:
            args = (self.retention, RETENTION_INTERVAL, stop)
            threading.Thread(target=sweep_forever, args=args, daemon=True, name="retention").start()

    def run_celery_worker(self, concurrency: int = 1) -> None:
        """`reelforge worker`: consume job ids from Celery and render them, with the reconciler
        (and the retention passes, if set) running beside it in threads; models set to `compile`
        load and warm up before it takes a job. A warm shutdown (SIGTERM) hands the running jobs
        back to the queue."""
        from reelforge.queue.celery import run_worker

        self.check_models()
        stop = threading.Event()
        interval = self.settings.reconcile_interval
        threading.Thread(
            target=reconcile_forever, args=(self.reconcile, interval, stop), daemon=True, name="reconciler"
        ).start()
        self._start_retention(stop)
        self._start_webhooks(stop)
        self.worker.remove_dead_scratch()
        self._serve_metrics()
        self.engines.preload_compiled(self.service.catalog)
        try:
            run_worker(self.settings, self.queue.app, self.worker.work_next, self.worker.stop, concurrency)
        finally:
            stop.set()
            self.stop()

    def _serve_metrics(self) -> None:
        """With `metrics_port` set: Prometheus metrics over HTTP in a thread (workers serve no HTTP
        otherwise). No key is asked for: the port is bound to `metrics_host`, loopback by default."""
        if self.settings.metrics_port:
            from prometheus_client import start_http_server

            from reelforge.core.metrics import GpuMemory, registry

            s = self.settings
            start_http_server(s.metrics_port, s.metrics_host, registry=registry(GpuMemory()))
            log.info("metrics on http://%s:%d/metrics", s.metrics_host, s.metrics_port)


def build_runtime(settings: Settings, forms: FormsOf | None = None) -> Runtime:
    """The system these settings configure; `forms(base_url, media)` gives the webhook payload
    forms of the dialects (service/webhooks.py has the native one)."""
    database = open_database(settings.db_url)
    migrate(database)
    repo = Repository(database)
    blobs = open_blobs(settings, secret_key(settings))
    catalog = open_catalog(settings)
    engines = Engines(settings.resident_models, settings.upstream_allowlist)
    scratch = (settings.data_dir / "scratch").resolve()
    worker = Worker(
        repo, blobs, catalog, engines, scratch, settings.heartbeat_interval, settings.upstream_concurrency
    )
    if settings.queue == "celery":
        from reelforge.queue.celery import CeleryQueue

        queue = CeleryQueue(settings, repo)
    else:
        queue = InProcessQueue(worker.work_next, settings.workers)
    worker.requeue = queue.enqueue
    webhooks = Webhooks(
        WebhookStore(database),
        repo,
        forms(settings.base_url, Media(blobs)) if forms else {},
        settings.webhook_allowlist,
        settings.retry_schedule,
        settings.webhook_give_up_after,
        settings.webhook_timeout,
    )
    worker.ended = webhooks.wake.set
    service = JobService(
        repo=repo,
        blobs=blobs,
        catalog=catalog,
        enqueue=queue.enqueue,
        base_url=settings.base_url,
        secret=secret_key(settings),
        accounts=Accounts(AccountStore(database)),
        idempotency=Idempotency(IdempotencyStore(database)),
        webhooks=webhooks,
        image_fetch_allowlist=settings.image_fetch_allowlist,
        image_fetches_per_account=settings.image_fetches_per_account,
        image_fetch_timeout=settings.image_fetch_timeout,
    )
    return Runtime(settings, repo, blobs, engines, service, worker, queue, open_rate_limits(settings))
