"""The embedded queue: worker threads inside the server process, fed from the jobs table.

The database is the queue: `enqueue` only wakes a thread, which leases the oldest queued job
with a conditional update (`Worker.work_next`). Threads also poll, so jobs queued by another
process on the same database (the CLI, a second server) are picked up too. On start, jobs left `running` by a
crashed or killed process are put back in the queue: nothing is stuck or lost.
"""

import logging
import threading
from collections.abc import Callable

from reelforge.core.logs import Repeats

log = logging.getLogger(__name__)
log.addFilter(Repeats())  # a loop that fails every poll (a full disk) logs one traceback, then counts


class InProcessQueue:
    def __init__(self, work: Callable[[], bool], concurrency: int = 1, poll_interval: float = 1.0):
        self._work = work  # runs the next queued job; False when there was none
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self._wake = threading.Condition()
        self._pending = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def enqueue(self, job_id: str) -> None:
        with self._wake:
            self._pending += 1
            self._wake.notify()

    def start(self) -> None:
        for n in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"reelforge-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def alive(self) -> int:
        """How many worker threads are running (`/readyz` wants `concurrency` of them)."""
        return sum(thread.is_alive() for thread in self._threads)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                worked = self._work()
            except Exception:
                log.exception("running a job crashed the worker loop")
                worked = False
            if not worked:
                with self._wake:
                    if self._pending == 0:
                        self._wake.wait(self.poll_interval)
                    self._pending = 0
