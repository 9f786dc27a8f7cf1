"""The `reelforge` command line: generate renders through the job service; jobs lists them."""

import subprocess
import sys

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
