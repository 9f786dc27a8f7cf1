"""The `reelforge` command line: generate renders through the job service; jobs lists them."""

import signal
import subprocess
import sys

from reelforge.config import Settings
from reelforge.runtime import build_runtime
from testkit.cluster import wait_until
from testkit.support import make_image, probe_mp4


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_generate_text_and_image_then_list(tmp_path):
    data = tmp_path / "data"
    out = tmp_path / "t2v.mp4"
    done = _cli(
        "generate",
        "a paper boat on a rainy street",
        "--duration",
        "4",
        "--seed",
        "99",
        "--data-dir",
        str(data),
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    probe = probe_mp4(out.read_bytes())
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")

    start, end = tmp_path / "a.png", tmp_path / "b.jpg"
    start.write_bytes(make_image(800, 800, "PNG"))
    end.write_bytes(make_image(800, 800, "JPEG", left=(0, 0, 0), right=(255, 255, 255)))
    out2 = tmp_path / "flf.mp4"
    done = _cli(
        "generate",
        "morph",
        "--image",
        str(start),
        "--end-image",
        str(end),
        "--aspect",
        "9:16",
        "--no-audio",
        "--duration",
        "4",
        "--data-dir",
        str(data),
        "-o",
        str(out2),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    probe = probe_mp4(out2.read_bytes())
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (720, 1280, 96, None)

    listing = _cli("jobs", "--data-dir", str(data), cwd=tmp_path)
    assert listing.returncode == 0
    assert listing.stdout.count("succeeded") == 2


def test_generate_refuses_bad_input_clearly(tmp_path):
    done = _cli(
        "generate", "x", "--duration", "5", "--data-dir", str(tmp_path / "d"), "-o", "x.mp4", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "duration must be one of 4, 6, 8" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.mp4").exists()


def _interrupted(tmp_path, *args) -> tuple[subprocess.CompletedProcess, str, str]:
    """`reelforge generate` on a local data dir, sent SIGINT once its render has begun; the
    finished process, its job id and the job's status afterwards (read from the database)."""
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelforge", "generate", "stop me", "--model", "VEO3_1", "--duration", "8"]
        + ["--resolution", "1080p", "--data-dir", str(data), "-o", str(tmp_path / "x.mp4"), *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    job_id = proc.stdout.readline().strip()
    runtime = build_runtime(Settings(data_dir=data, workers=0))
    try:
        wait_until(lambda: runtime.service.get(job_id).progress >= 3, 60, "the render never started", 0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        job = runtime.service.get(job_id)
    finally:
        runtime.stop()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), job_id, job.status.value


def test_ctrl_c_cancels_the_local_render(tmp_path):
    done, job_id, status = _interrupted(tmp_path)
    assert done.returncode == 130 and f"canceled {job_id}" in done.stderr, done.stderr
    assert status == "canceled" and "Traceback" not in done.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_ctrl_c_with_detach_hands_the_job_back_to_the_queue(tmp_path):
    done, job_id, status = _interrupted(tmp_path, "--detach")
    assert done.returncode == 130 and "back in the queue" in done.stderr, done.stderr
    assert status == "queued" and "Traceback" not in done.stderr


def test_show_download_cancel_delete_on_the_local_data_dir(tmp_path):
    data = tmp_path / "data"
    done = _cli("generate", "local", "--duration", "4", "--data-dir", str(data), "-o", "a.mp4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.splitlines()[0].strip()
    shown = _cli("show", job_id, "--data-dir", str(data), cwd=tmp_path)
    assert shown.returncode == 0 and "succeeded" in shown.stdout
    got = _cli(
        "download",
        job_id,
        "-o",
        "sheet.jpg",
        "--variant",
        "spritesheet",
        "--data-dir",
        str(data),
        cwd=tmp_path,
    )
    assert got.returncode == 0 and (tmp_path / "sheet.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    refused = _cli("cancel", job_id, "--data-dir", str(data), cwd=tmp_path)
    assert refused.returncode == 2 and "already succeeded" in refused.stderr
    assert _cli("delete", job_id, "--data-dir", str(data), cwd=tmp_path).returncode == 0
    gone = _cli("show", job_id, "--data-dir", str(data), cwd=tmp_path)
    assert gone.returncode == 2 and "not found" in gone.stderr and "Traceback" not in gone.stderr
    missing = _cli("generate", "x", "--image", "first.png", "--data-dir", str(data), cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip().endswith("No such file or directory")
