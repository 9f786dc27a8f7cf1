"""A real HTTP server on 127.0.0.1 that serves test images and hostile answers (redirect chains,
oversize bodies, slow, never-ending or mislabelled replies) and records every request it receives.
One thread per connection: a hanging answer holds only its own."""

import contextlib
import http.server
import time
from urllib.parse import urlsplit

from testkit.images import gif_bytes
from testkit.support import make_image

MB = 1024 * 1024
PNG = make_image(64, 48, "PNG")  # served at /img.png
WEBP = make_image(64, 48, "WEBP")  # served at /img.webp
TRICKLE_EVERY = 2.0  # seconds between the bytes of /trickle


class ImageServer(http.server.ThreadingHTTPServer):
    """Serves test images and hostile answers; records every request it receives."""

    daemon_threads = True
    request_queue_size = 256  # many fetches connect at once in the slow-host tests

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[tuple[str, str]] = []  # (path, Host header)
        self.port = self.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}) and "Transfer-Encoding" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up first
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        server: ImageServer = self.server  # type: ignore[assignment]
        server.hits.append((self.path, self.headers.get("Host", "")))
        path = urlsplit(self.path).path
        if path == "/img.png":
            self._send(200, PNG, {"Content-Type": "image/png"})
        elif path == "/img.webp":
            self._send(200, WEBP, {"Content-Type": "image/webp"})
        elif path == "/gif":
            self._send(200, gif_bytes(), {"Content-Type": "image/gif"})
        elif path == "/html":
            self._send(200, b"<html>hello</html>", {"Content-Type": "text/html"})
        elif path == "/missing":
            self._send(404, b"no")
        elif path.startswith("/redirect/"):  # /redirect/<n>/<final url, urlencoded-free>
            _, _, hops, target = path.split("/", 3)
            location = f"/redirect/{int(hops) - 1}/{target}" if int(hops) > 1 else "/" + target
            if target.startswith("abs:"):
                location = "http://" + target[4:] if int(hops) <= 1 else location
            self._send(302, b"", {"Location": location})
        elif path == "/redirect-no-location":
            self._send(302)
        elif path == "/big-declared":
            self._send(200, b"", {"Content-Length": str(30 * MB), "Content-Type": "image/png"})
        elif path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            chunk = b"\x89PNG\r\n\x1a\n" + b"\x00" * (MB - 8)
            try:
                for _ in range(40):
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at the cap
        elif path == "/slow":
            time.sleep(2)
            self._send(200, PNG)
        elif path == "/hang":  # accepts and never answers, until the client hangs up
            with contextlib.suppress(OSError):
                while self.connection.recv(1024):
                    pass
            self.close_connection = True
        elif path == "/trickle":  # a PNG that never finishes: one byte every TRICKLE_EVERY seconds
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG) * 1000))
            self.end_headers()
            try:
                for byte in PNG * 1000:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(TRICKLE_EVERY)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up
            self.close_connection = True
        elif path == "/gzip":
            self._send(200, PNG, {"Content-Encoding": "gzip"})  # a lie: the bytes are not gzip
        else:
            self._send(404)
