"""A webhook receiver on loopback: a threaded http.server that records every request and answers
with scripted statuses (then 200; None in the script: no answer), or never (`hang`)."""

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 resets a burst of concurrent deliveries
    daemon_threads = True


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int | None  # what the receiver answered (None: nothing)
    at: float  # time.monotonic()


class Receiver:
    def __init__(self, statuses: list[int | None] | None = None, hang: bool = False):
        self.statuses = list(statuses or [])
        self.hang = hang
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    status = (
                        None if receiver.hang else (receiver.statuses.pop(0) if receiver.statuses else 200)
                    )
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(Received(self.path, headers, body, status, time.monotonic()))
                    receiver._arrived.notify_all()
                if status is None:
                    time.sleep(30)  # longer than any delivery timeout the tests set
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> "Receiver":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """The first `count` requests, once they have arrived; TimeoutError otherwise."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"{len(self.received)} of {count} webhook requests arrived")
            return list(self.received[:count])

    def succeeded(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.status is not None and 200 <= r.status < 300]
