"""Assembles the running system from settings: database, storage, catalog, service and queue.

The HTTP app, the CLI and tests all build their parts here, so there is one wiring to trust.
"""

import secrets
from dataclasses import dataclass
from pathlib import Path

from reelforge.catalog import load_catalog
from reelforge.config import Settings
from reelforge.core.service import JobService
from reelforge.queue.inprocess import InProcessQueue
from reelforge.storage.local import LocalStorage
from reelforge.store.db import migrate, open_engine
from reelforge.store.repository import Repository
from reelforge.worker import run_job


def _secret(data_dir: Path) -> bytes:
    """A per-installation key that signs upload tokens, created on first start."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


@dataclass
class Runtime:
    settings: Settings
    service: JobService
    queue: InProcessQueue

    def start(self) -> None:
        """Recover jobs a dead process left running, then start the embedded workers."""
        if self.queue.concurrency:
            self.service.repo.requeue_running()
        self.queue.start()

    def stop(self) -> None:
        self.queue.stop()
        self.service.repo.engine.dispose()


def build_runtime(settings: Settings) -> Runtime:
    engine = open_engine(settings.db_url)
    migrate(engine)
    repo = Repository(engine)
    queue = InProcessQueue(
        claim=repo.claim, run=lambda job_id: run_job(service, job_id), concurrency=settings.workers
    )
    service = JobService(
        repo=repo,
        storage=LocalStorage(settings.media_dir),
        catalog=load_catalog(settings.catalog_path),
        enqueue=queue.enqueue,
        base_url=settings.base_url,
        secret=_secret(settings.data_dir),
    )
    return Runtime(settings, service, queue)
