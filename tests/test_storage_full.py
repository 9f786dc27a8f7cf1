"""A full disk, for real: the server's data dir is a small tmpfs, filled up. Creates answer 507 (or
503 in the vendors' dialects) with `Retry-After` in the dialect's shape, a job that runs out of
space fails with `storage_full` and a message of ours (no path, host or pid), and the log holds
one traceback, not one per failure (issue 10, finding 4). Needs root to mount; skipped otherwise."""

import logging
import os
import socket
import subprocess
import time

import httpx
import pytest

from reelforge.core.logs import Repeats
from testkit.support import ServerProcess, make_image

pytestmark = pytest.mark.timeout(240)


def _fill(path, leave: int = 0) -> None:
    """Write to `path` until the file system is full, then give `leave` bytes back."""
    with open(path, "ab") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 16))
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            pass
    if leave:
        os.truncate(path, os.path.getsize(path) - leave)


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    mount_point = tmp_path_factory.mktemp("small") / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {mounted.stderr.strip()}")
    yield mount_point
    if subprocess.run(["umount", str(mount_point)]).returncode != 0:
        subprocess.run(["umount", "-l", str(mount_point)])


@pytest.fixture(scope="module")
def srv(disk):
    """A server whose data dir is the whole small disk (its log is written beside it, elsewhere)."""
    server = ServerProcess(disk, workers=1, env={"REELFORGE_AUTH": "open"}).start()
    yield server
    server.stop()


@pytest.fixture
def api(srv):
    with httpx.Client(base_url=srv.url, headers={"Authorization": "Bearer k"}, timeout=60) as c:
        yield c


@pytest.fixture
def filler(disk):
    path = disk / "filler"
    yield path
    path.unlink(missing_ok=True)


def _log(srv: ServerProcess) -> str:
    return (srv.data_dir.parent / f"server-{srv.port}.log").read_text()


def test_creates_on_a_full_disk_answer_in_the_dialects_shape_with_retry_after(api, filler):
    _fill(filler)
    image = make_image(640, 360)

    native = api.post("/v1/videos", data={"prompt": "p"}, files={"input_reference": ("a.png", image)})
    assert native.status_code == 507, native.text
    assert native.headers["retry-after"] == "60"
    assert native.json()["error"]["code"] == "storage_full"
    assert native.json()["error"]["type"] == "server_error"
    assert "connection" not in native.headers  # answered by a handler: the connection stays

    text_only = api.post("/v1/videos", json={"prompt": "p"})
    assert text_only.status_code == 507, text_only.text

    gemini = api.post("/v1beta/models/veo-3.1-lite:predictLongRunning", json={"instances": [{"prompt": "p"}]})
    assert gemini.status_code == 503, gemini.text
    assert gemini.headers["retry-after"] == "60"
    assert gemini.json()["error"]["status"] == "UNAVAILABLE"

    leonardo = api.post("/api/rest/v2/generations", json={"model": "VEO3_1", "parameters": {"prompt": "p"}})
    assert leonardo.status_code == 503, leonardo.text
    assert leonardo.headers["retry-after"] == "60"
    assert leonardo.json()["extensions"]["code"] == "storage_full"

    assert api.get("/healthz").json() == {"status": "ok"}  # reads still work


def test_a_job_that_runs_out_of_space_fails_with_storage_full_and_no_internals(api, filler, srv):
    _fill(filler, leave=1 << 20)  # room for the jobs' rows and progress, not for a 1080p video (1.7 MB)
    ids = []
    for n in range(2):
        resp = api.post("/v1/videos", json={"prompt": f"too big {n}", "size": "1920x1080", "seconds": "8"})
        assert resp.status_code == 200, resp.text
        ids.append(resp.json()["id"])

    deadline = time.monotonic() + 150
    videos = []
    for video_id in ids:
        while (video := api.get(f"/v1/videos/{video_id}").json())["status"] in ("queued", "in_progress"):
            assert time.monotonic() < deadline, video
            time.sleep(0.2)
        videos.append(video)

    for video in videos:
        assert video["status"] == "failed", video
        assert video["error"]["code"] == "storage_full", video
        message = video["error"]["message"]
        assert message == "the server ran out of storage space while rendering; retry later"
        assert "/" not in message and socket.gethostname() not in message and str(srv.proc.pid) not in message

    log = _log(srv)
    # the details are in the log (the encoder's ENOSPC or SQLite's, whichever came first)...
    assert "No space left on device" in log or "database or disk is full" in log
    assert log.count(" failed\nTraceback") == 1, log  # ...once: the next failures of the kind are counted


def test_repeats_are_counted_and_summarised_after_the_window():
    """The filter on its own, with a real logger: ten identical failures log one traceback; the
    first one after the window says how many were left out."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("reelforge.test.repeats")
    logger.addHandler(handler)
    logger.addFilter(Repeats(window=0.5))
    logger.propagate = False
    for n in range(10):
        try:
            raise OSError(28, "No space left on device")
        except OSError:
            logger.exception("job %s failed", n)
    time.sleep(0.6)
    try:
        raise OSError(28, "No space left on device")
    except OSError:
        logger.exception("job %s failed", 10)

    assert len(records) == 2
    assert records[0].exc_info is not None and records[0].getMessage() == "job 0 failed"
    assert records[1].exc_info is None
    assert records[1].getMessage() == "job 10 failed (and 9 more like it in the last 0.5 s)"
