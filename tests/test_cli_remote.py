"""The CLI as a client: `reelforge generate | jobs | show | cancel | download | delete --server URL`
as subprocesses against a live `reelforge serve`, the key from REELFORGE_API_KEY or `--key`.
`generate` prints the job id first; SIGINT (Ctrl-C) cancels the job on the server, or with
`--detach` leaves it to finish there. Refused requests are one line on stderr, never a traceback."""

import os
import signal
import subprocess
import sys
import time

import pytest

from reelforge.client import Client
from testkit.support import UNKNOWN_ID, UNKNOWN_KEY, free_port, probe_mp4

LONG = ("--model", "VEO3_1", "--duration", "8", "--resolution", "1080p")  # several seconds of rendering


@pytest.fixture(scope="module")
def env(server, key) -> dict:
    return {**os.environ, "REELFORGE_SERVER": server.url, "REELFORGE_API_KEY": server.key(key)}


@pytest.fixture(scope="module")
def sdk(server, key):
    with Client(server.url, server.key(key)) as client:
        yield client


def _cli(*args, env, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _refused(done: subprocess.CompletedProcess, words: str) -> None:
    assert done.returncode != 0 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout and len(done.stderr.strip().splitlines()) == 1


def test_generate_show_download_jobs_delete(env, sdk, tmp_path):
    out = tmp_path / "clip.mp4"
    # no --duration: the native API's default, 4 s; --aspect defaults to 16:9
    done = _cli("generate", "a harbour at night", "--seed", "5", "-o", str(out), env=env)
    assert done.returncode == 0, done.stderr
    video_id = done.stdout.splitlines()[0].strip()
    assert video_id.startswith("video_") and sdk.get(video_id).status == "completed"
    assert f"wrote {out}" in done.stdout
    probe = probe_mp4(out.read_bytes())
    assert (probe.width, probe.height, probe.frames) == (1280, 720, 96)

    for given in (video_id, video_id.removeprefix("video_")):  # either form of the id
        shown = _cli("show", given, env=env)
        assert shown.returncode == 0 and "completed" in shown.stdout and "seed       5" in shown.stdout
        assert video_id in shown.stdout

    thumb = tmp_path / "poster.jpg"
    got = _cli("download", video_id, "-o", str(thumb), "--variant", "thumbnail", env=env)
    assert got.returncode == 0 and thumb.read_bytes()[:3] == b"\xff\xd8\xff"

    listing = _cli("jobs", "--limit", "5", env=env)
    assert listing.returncode == 0 and video_id in listing.stdout

    assert _cli("delete", video_id, env=env).returncode == 0
    _refused(_cli("show", video_id, env=env), "not found")


def test_key_flag_and_refusals(server, env, tmp_path):
    flags = ("--server", server.url, "--key", env["REELFORGE_API_KEY"])
    bare = {k: v for k, v in env.items() if not k.startswith("REELFORGE_")}
    assert _cli("jobs", *flags, env=bare).returncode == 0
    _refused(_cli("jobs", "--server", server.url, "--key", UNKNOWN_KEY, env=bare), "HTTP 401")
    _refused(_cli("jobs", "--server", f"http://127.0.0.1:{free_port()}", env=bare), "cannot reach")
    _refused(_cli("show", str(UNKNOWN_ID), env=env), "HTTP 404")
    _refused(_cli("download", str(UNKNOWN_ID), "-o", str(tmp_path / "x.mp4"), env=env), "HTTP 404")
    _refused(_cli("generate", "x", "--duration", "5", env=env, cwd=tmp_path), "duration")
    _refused(
        _cli("generate", "x", "--image", "first.png", env=env, cwd=tmp_path), "cannot read --image first.png"
    )
    assert not list(tmp_path.iterdir())


def test_cancel_command_stops_a_running_job(env, sdk):
    video = sdk.create("cancel me", model="VEO3_1", seconds=8, resolution="1080p")
    next(v for v in sdk.events(video.id) if v.status == "in_progress")
    done = _cli("cancel", video.id, env=env)
    assert done.returncode == 0 and video.id in done.stdout
    assert sdk.wait(video.id, timeout=60).canceled
    finished = sdk.generate("done already", seconds=4)
    _refused(_cli("cancel", finished.id, env=env), "HTTP 409")


def _started(env, *args) -> tuple[subprocess.Popen, str]:
    """`reelforge generate` running in the background, once its render has begun; and its job id."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelforge", "generate", "interrupt me", *LONG, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    video_id = proc.stdout.readline().strip()
    return proc, video_id


def _when_rendering(sdk, video_id: str) -> None:
    next(v for v in sdk.events(video_id) if v.status == "in_progress" and v.progress >= 3)
    time.sleep(0.5)  # the CLI's own stream has seen it too


def test_ctrl_c_cancels_the_job_on_the_server(env, sdk, tmp_path):
    proc, video_id = _started(env, "-o", str(tmp_path / "never.mp4"))
    _when_rendering(sdk, video_id)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"canceled {video_id}" in err and "Traceback" not in err
    assert sdk.wait(video_id, timeout=60).canceled
    assert not (tmp_path / "never.mp4").exists()


def test_ctrl_c_with_detach_leaves_the_job_running(env, sdk, tmp_path):
    out = tmp_path / "later.mp4"
    proc, video_id = _started(env, "--detach", "-o", str(out))
    _when_rendering(sdk, video_id)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert f"reelforge download {video_id} -o {out}" in err
    assert sdk.wait(video_id, timeout=120).status == "completed"
    resumed = _cli("download", video_id, "-o", str(out), env=env)
    assert resumed.returncode == 0 and probe_mp4(out.read_bytes()).frames == 192
