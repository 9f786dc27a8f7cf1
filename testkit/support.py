"""A real reelforge server in a subprocess, the API keys issued on its database, its clients and
Leonardo pollers, an image maker and an MP4 prober (PyAV)."""

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import httpx
import numpy as np
import uvicorn
from PIL import Image

from reelforge.config import Settings
from reelforge.runtime import build_runtime
from reelforge.service.accounts import Accounts

# A well-formed key (`rf_` + 43 characters) that no database has issued. Fixed, like UNKNOWN_ID.
UNKNOWN_KEY = "rf_" + "neverIssued".ljust(43, "0")

_issued: dict[tuple[str, str], str] = {}  # (database URL, name) -> key: one account per name and database
_issuing = threading.Lock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(proc: subprocess.Popen, url: str, timeout: float, name: str) -> None:
    """Wait until `url` answers 200; fail early if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not start")


def kill_process(proc: subprocess.Popen) -> None:
    """SIGKILL: the process gets no chance to clean up, like a crash or an OOM kill."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def stop_process(proc: subprocess.Popen | None, grace: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace` seconds."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            kill_process(proc)


@contextmanager
def serve_in_thread(app) -> Iterator[str]:
    """An ASGI app served by uvicorn in a thread of the test's own process (so the test can patch
    what it runs on); yields its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(30)


class ServerProcess:
    """`python -m reelforge serve` on a free port with its own data dir."""

    def __init__(
        self,
        data_dir: Path,
        workers: int = 1,
        port: int | None = None,
        env: dict | None = None,
        separate_stderr: bool = False,
    ):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.workers = workers
        self.env = env or {}
        # stderr (the logs) in `stderr_path` instead of the log file with stdout (the CLI's own lines)
        self.separate_stderr = separate_stderr
        self.stderr_path = data_dir.parent / f"server-{self.port}.stderr"
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "ServerProcess":
        cmd = [
            sys.executable,
            "-m",
            "reelforge",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--workers",
            str(self.workers),
        ]
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with (
            open(self.data_dir.parent / f"server-{self.port}.log", "ab") as log,
            open(self.stderr_path, "ab") if self.separate_stderr else log as err,
        ):
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=err if self.separate_stderr else subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
        wait_healthy(self.proc, f"{self.url}/healthz", timeout, "server")
        return self

    def kill(self) -> None:
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

    def settings(self) -> Settings:
        """The server's settings (its data dir and REELFORGE_* environment) for an operator's process
        beside it that renders nothing."""
        env = {
            k.removeprefix("REELFORGE_").lower(): v for k, v in self.env.items() if k.startswith("REELFORGE_")
        }
        return Settings(**{**env, "data_dir": self.data_dir, "workers": 0, "queue": "inprocess"})

    @contextmanager
    def accounts(self) -> Iterator[Accounts]:
        """The accounts and keys of the server's database, as `reelforge keys` works on them: issue,
        revoke, update (SQLite in WAL mode and PostgreSQL both allow this next to the running server)."""
        runtime = build_runtime(self.settings())
        try:
            yield runtime.service.accounts
        finally:
            runtime.stop()

    def key(self, name: str, admin: bool = False) -> str:
        """The API key of the account named `name`: issued on the server's database for a new account
        the first time the name is asked for, the same key afterwards, also on every other server
        sharing the database (API nodes of a cluster, a restarted server). `admin` is given to the
        first issue only."""
        with _issuing:
            issued = (self.settings().db_url, name)
            if issued not in _issued:
                with self.accounts() as accounts:
                    _issued[issued] = accounts.issue(name, admin=admin).key
            return _issued[issued]

    def job_counts(self) -> dict[str, int]:
        """The number of jobs in each state, as `/healthz` tells an admin key."""
        admin = {"Authorization": f"Bearer {self.key('health-admin', admin=True)}"}
        return httpx.get(f"{self.url}/healthz", headers=admin, timeout=10).json()["jobs"]


def client(server: ServerProcess, key: str = "test-key", timeout: float = 30) -> httpx.Client:
    """A client sending the key of the account named `key` (server.key) as a Bearer token."""
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.key(key)}"}, timeout=timeout
    )


def wait_for_generation(http: httpx.Client, generation_id: str, timeout: float = 120) -> dict:
    """Poll Leonardo's GET /generations/{id} until it is COMPLETE or FAILED."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = http.get(f"/api/rest/v1/generations/{generation_id}").json()["generations_by_pk"]
        if body["status"] != "PENDING":
            return body
        time.sleep(0.2)
    raise TimeoutError(f"generation {generation_id} still pending")


def make_image(width: int, height: int, fmt: str = "PNG", left=(220, 40, 40), right=(40, 60, 220)) -> bytes:
    """An image with a left and a right half of different colours and a gradient, to see crops."""
    arr = np.zeros((height, width, 3), np.uint8)
    arr[:, : width // 2] = left
    arr[:, width // 2 :] = right
    arr[..., 1] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


def upload_init_image(http: httpx.Client, data: bytes, extension: str = "png") -> str:
    """Leonardo's two-step init-image flow: reserve, then presigned-style multipart POST without auth."""
    upload = http.post("/api/rest/v1/init-image", json={"extension": extension}).json()["uploadInitImage"]
    fields = json.loads(upload["fields"])
    resp = httpx.post(upload["url"], data=fields, files={"file": (f"image.{extension}", data)})
    assert resp.status_code == 204, resp.text
    return upload["id"]


@dataclass
class Probe:
    width: int
    height: int
    frames: int
    fps: float
    codec: str
    pix_fmt: str
    audio_codec: str | None
    audio_seconds: float | None
    first: np.ndarray
    last: np.ndarray
    digest: int


def probe_mp4(data: bytes) -> Probe:
    """Decode every frame of an MP4 and describe it."""
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
        audio_seconds = None
        if audio is not None:
            container.seek(0)
            samples = sum(f.samples for f in container.decode(audio=0))
            audio_seconds = samples / audio.rate
        digest = hash(b"".join(f.tobytes() for f in frames[:: max(1, len(frames) // 8)]))
        return Probe(
            width=video.codec_context.width,
            height=video.codec_context.height,
            frames=len(frames),
            fps=float(video.average_rate),
            codec=video.codec_context.name,
            pix_fmt=video.codec_context.pix_fmt,
            audio_codec=audio.codec_context.name if audio else None,
            audio_seconds=audio_seconds,
            first=frames[0],
            last=frames[-1],
            digest=digest,
        )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def download_mp4(url: str) -> bytes:
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"
    return resp.content


def assert_halves(frame: np.ndarray, left, right, tol: float = 35) -> None:
    """The frame shows make_image's two halves in these colours (R and B only: G is its ramp)."""
    h, w = frame.shape[:2]

    def patch(x):
        return frame[h // 2 - 20 : h // 2 + 20, x - 20 : x + 20].astype(float).mean(axis=(0, 1))[[0, 2]]

    got_left, got_right = patch(w // 4), patch(3 * w // 4)
    assert np.abs(got_left - np.array(left)[[0, 2]]).max() < tol, got_left
    assert np.abs(got_right - np.array(right)[[0, 2]]).max() < tol, got_right


# An id no job has: fixed, so that test ids built from it are the same in every pytest process.
UNKNOWN_ID = uuid.UUID("0badc0de-0000-4000-8000-000000000000")
