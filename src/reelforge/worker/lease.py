"""A run's hold on its job: throttled progress writes that double as the cancel check, and a
heartbeat thread that renews the lease during long engine steps. The stop check also answers true
at once when the process is shutting down (`shutting_down`), so a render stops within one step
and its worker can hand the job back.

Only the run holding the lease token may report progress or finish the job, so a run that was
given up on (its heartbeat went silent and the job went to another worker) can no longer touch it.
A token names the host and process of its run (`run_token`), so a process on the same host can
tell a run whose process is gone (`run_is_dead`) from one that is alive, without waiting for its
heartbeat to go silent: a second process on the same database never takes a live run's job.
"""

import logging
import os
import socket
import threading
import time
import uuid

from reelforge.core.errors import storage_failure
from reelforge.db.repository import Repository

log = logging.getLogger(__name__)


def _host() -> str:
    return socket.gethostname()[:32]


def run_token() -> str:
    """A new lease token: `<host>-<pid>-<random>`."""
    return f"{_host()}-{os.getpid()}-{uuid.uuid4().hex[:16]}"


def run_is_dead(token: str) -> bool:
    """Whether the run holding `token` is known to be dead: it ran on this host in a process that
    no longer exists. Runs of other hosts, of this process, or of a live process are not."""
    host, _, rest = token.rpartition("-")[0].rpartition("-")
    if host != _host() or not rest.isdigit() or int(rest) == os.getpid():
        return False
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


class Lease:
    def __init__(
        self,
        repo: Repository,
        job_id: str,
        token: str,
        samples: int,
        heartbeat: float,
        shutting_down: threading.Event,
    ):
        self.repo, self.job_id, self.token, self.samples = repo, job_id, token, samples
        self.shutting_down = shutting_down
        self.sample = 0
        self.percent = 0
        self.stop = False
        self._last = 0.0
        self._interval = min(0.25, heartbeat)
        self._done = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, args=(heartbeat,), daemon=True)

    def __enter__(self) -> "Lease":
        self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._beat.join()

    def _heartbeat(self, interval: float) -> None:
        while not self._done.wait(interval):
            try:
                if not self.repo.heartbeat(self.job_id, self.token):
                    self.stop = True
            except Exception as exc:  # a database hiccup: the next beat or progress write tries again
                if storage_failure(exc):  # a full or failing store: the render's own failure says more
                    log.warning("heartbeat of job %s not written: %s", self.job_id, exc)
                else:
                    log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)

    def report(self, fraction: float) -> None:
        self.percent = min(99, int((self.sample + max(0.0, min(1.0, fraction))) / self.samples * 100))
        self._sync()

    def is_canceled(self) -> bool:
        """Whether the render should stop: canceled, deleted, lost, or the process is shutting down."""
        self._sync()
        return self.stop or self.shutting_down.is_set()

    def _sync(self) -> None:
        if time.monotonic() - self._last >= self._interval:
            self._last = time.monotonic()
            self.stop = self.stop or not self.repo.set_progress(self.job_id, self.token, self.percent)
