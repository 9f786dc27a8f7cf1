"""How reelforge logs: one set-up (`logging_config`) for `serve`, uvicorn and `reelforge worker`,
as text lines or one JSON object per line (python-json-logger) with the records' structured fields
(`extra=`: job id, model, engine, seconds...); and logging filters: repeated errors are summarised
rather than logged again and again (a full disk made the worker log a traceback every second), and
API keys in query strings (Google's `?key=`) never reach the access log."""

import logging
import logging.config
import re
import threading
import time

from pythonjsonlogger.core import RESERVED_ATTRS

from reelforge.core.errors import storage_failure

ACCESS_LOGGER = "uvicorn.access"
# query parameters that carry a credential: Google's `key`, and the usual spellings of others
_SECRET_PARAMS = re.compile(r"(?i)([?&](?:key|api_key|apikey|token|access_token|signature)=)[^&#\s]*")


def _error_kind(exc_info) -> object:
    """A full or failing store is one kind, whichever layer raised it (the encoder's ENOSPC, SQLite's
    "database or disk is full"); any other error is its type."""
    error = exc_info[1] if exc_info else None
    if error is not None and (storage := storage_failure(error)):
        return "storage", storage
    return type(error)


class Repeats(logging.Filter):
    """The first record of a kind is logged in full; the same kind again within `window` seconds is
    counted instead, and the first one after the window says how many were left out (without its
    traceback). A kind is the logger, the message template (not its arguments, which name the job)
    and the error: full or failing storage (whichever library raised it), else its type."""

    def __init__(self, window: float = 60.0):
        super().__init__()
        self.window = window
        self._lock = threading.Lock()
        self._kinds: dict[tuple, tuple[float, int]] = {}  # kind -> (when last logged, records left out)

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.msg, _error_kind(record.exc_info))
        now = time.monotonic()
        with self._lock:
            logged, left_out = self._kinds.get(kind, (None, 0))
            if logged is not None and now - logged < self.window:
                self._kinds[kind] = (logged, left_out + 1)
                return False
            self._kinds[kind] = (now, 0)
        if left_out:
            record.msg = f"{record.msg} (and {left_out} more like it in the last {self.window:g} s)"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def redact(text: str) -> str:
    """`text` with the values of credential query parameters replaced by `***`."""
    return _SECRET_PARAMS.sub(r"\1***", text)


class RedactQueryKeys(logging.Filter):
    """On uvicorn's access logger: the request path's credentials are masked (uvicorn passes the
    path with its query string as one of the record's arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def redact_access_log() -> None:
    """Install RedactQueryKeys on uvicorn's access logger, once per process."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQueryKeys) for f in access.filters):
        access.addFilter(RedactQueryKeys())


class UtcText(logging.Formatter):
    """`<ISO 8601 UTC time> <LEVEL> <logger>: <message>`."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")


def logging_config(log_format: str, level: str) -> dict:
    """A `logging.config.dictConfig` document: every record, reelforge's, uvicorn's (access lines
    included) and Celery's, goes through the root logger to stderr at `level` and above, as `text`
    lines or `json` objects with timestamp (ISO 8601 UTC), level, logger, message and the record's
    extra fields. Uvicorn takes it as its `log_config`."""
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],  # uvicorn's ANSI copy of the message
        }
        if log_format == "json"
        else {"()": UtcText}
    )
    # uvicorn's loggers: their handlers removed, so their records reach the root handler
    inherit = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {name: inherit for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def setup_logging(log_format: str, level: str) -> None:
    """Configure this process's logging (see `logging_config`)."""
    logging.config.dictConfig(logging_config(log_format, level))
