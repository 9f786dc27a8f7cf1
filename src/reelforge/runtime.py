"""Assembles the running system from settings: database, storage, catalog, service and queue.

The HTTP app, the CLI, Celery workers and tests all build their parts here, so there is one
wiring to trust. With the in-process queue the server renders jobs itself; with Celery it only
publishes them and `reelforge worker` processes render.
"""

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reelforge.catalog import load_catalog
from reelforge.config import Settings
from reelforge.core.service import JobService
from reelforge.queue.inprocess import InProcessQueue
from reelforge.storage import open_storage
from reelforge.store.db import migrate, open_engine
from reelforge.store.repository import Repository
from reelforge.worker import work_next

if TYPE_CHECKING:
    from reelforge.queue.celery import CeleryQueue


def _secret(settings: Settings) -> bytes:
    """The key that signs upload tokens: from the settings (shared by every API node), or a
    per-installation key created in the data dir on first start."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


@dataclass
class Runtime:
    settings: Settings
    service: JobService
    queue: "InProcessQueue | CeleryQueue"

    def start(self) -> None:
        """Embedded mode: recover jobs a dead process left running, then start the worker threads."""
        if isinstance(self.queue, InProcessQueue) and self.queue.concurrency:
            self.service.repo.recover_running(self.settings.max_attempts)
        self.queue.start()

    def stop(self) -> None:
        self.queue.stop()
        self.service.repo.engine.dispose()

    def work_next(self, only: str | None = None) -> bool:
        return work_next(self.service, self.settings.heartbeat_interval, only)


def build_runtime(settings: Settings) -> Runtime:
    engine = open_engine(settings.db_url)
    migrate(engine)
    repo = Repository(engine)
    if settings.queue == "celery":
        from reelforge.queue.celery import CeleryQueue

        queue = CeleryQueue(settings, repo)
    else:  # the threads reach the service built below when they run
        queue = InProcessQueue(lambda: work_next(service, settings.heartbeat_interval), settings.workers)
    service = JobService(
        repo=repo,
        storage=open_storage(settings),
        catalog=load_catalog(settings.catalog_path),
        enqueue=queue.enqueue,
        base_url=settings.base_url,
        secret=_secret(settings),
        scratch_dir=(settings.data_dir / "scratch").resolve(),
    )
    return Runtime(settings, service, queue)
