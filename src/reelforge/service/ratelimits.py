"""Requests per minute per API key, so one key cannot flood the server: creates (a job, an upload
slot) count against the key's own `rpm` or the server's `create_rpm`, every other authenticated
request (polls, downloads, lists) against the more generous `read_rpm`, each in its own window.

The windows are moving one-minute windows of the `limits` library, kept in memory on the embedded
default and in Redis (the Celery broker) in scale-out mode, so every API node counts against the
same window. A Celery broker that is not Redis (AMQP) cannot hold them: each node then counts in
its own memory, and says so in its log. Over a limit: TooManyRequests, whose `retry_after` is the
seconds until the window lets the next request through (at least 1), which each dialect sends as
`Retry-After`.

When the Redis that holds the windows cannot be reached, requests are let through uncounted (and
the log says so, at most once a minute): a broker outage must not turn every request into an
error, and accepted jobs wait in the database until the broker is back.
"""

import logging
import math
import time

from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from reelforge.config import Settings
from reelforge.core.accounts import Caller
from reelforge.core.errors import TooManyRequests

log = logging.getLogger(__name__)

IN_MEMORY = "memory://"
REDIS_SCHEMES = ("redis://", "rediss://")
WARN_EVERY = 60.0  # seconds between two warnings that the limit store is unreachable


class RateLimits:
    def __init__(self, storage_url: str, create_rpm: int, read_rpm: int):
        options = {} if storage_url == IN_MEMORY else {"wrap_exceptions": True}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url, **options))
        self._warned_at = -WARN_EVERY
        self._create_rpm = create_rpm
        self.read_rpm = read_rpm
        self.in_memory = storage_url == IN_MEMORY  # counting never blocks (no network round trip)

    def create_rpm(self, caller: Caller) -> int:
        """The creates per minute the caller's key may make: its own `rpm`, else the server's."""
        return caller.rpm or self._create_rpm

    def create(self, caller: Caller) -> None:
        """Count a create of the caller's key; TooManyRequests over its create limit."""
        self._hit("create", self.create_rpm(caller), caller.key_id)

    def read(self, caller: Caller) -> None:
        """Count any other request of the caller's key; TooManyRequests over the read limit."""
        self._hit("read", self.read_rpm, caller.key_id)

    def _hit(self, kind: str, per_minute: int, key_id: str) -> None:
        item = RateLimitItemPerMinute(per_minute, namespace=f"reelforge-{kind}")
        try:
            if self._limiter.hit(item, key_id):
                return
        except StorageError as exc:
            if time.monotonic() - self._warned_at >= WARN_EVERY:
                self._warned_at = time.monotonic()
                log.warning("rate limits not counted: their store is unreachable (%s)", exc.storage_error)
            return
        reset_at, _ = self._limiter.get_window_stats(item, key_id)
        wait = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"rate limit exceeded: {per_minute} {kind}s per minute for this API key; retry in {wait} s", wait
        )


def open_rate_limits(settings: Settings) -> RateLimits:
    """In memory for the embedded server; in the Celery broker's Redis when API nodes scale out."""
    storage = IN_MEMORY
    if settings.queue == "celery":
        if settings.broker_url.startswith(REDIS_SCHEMES):
            storage = settings.broker_url
        else:
            log.warning("REELFORGE_BROKER_URL is not Redis: each API node counts rate limits on its own")
    return RateLimits(storage, settings.create_rpm, settings.read_rpm)
