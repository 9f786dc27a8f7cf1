"""How much does the preview engine cost on top of encoding? 8 s of 720p with audio.

"render + encode" is the real job path (PreviewEngine frames fed lazily to encode_mp4).
"encode only" feeds the same frames, rendered into a list beforehand, so only encoding is timed:
that is the floor no engine can beat. Each figure is the median of a few runs.

Run from the repository root with the package importable: `python bench/preview_render.py`
(or `PYTHONPATH=src python bench/preview_render.py` before `pip install -e .`).
"""

import statistics
import tempfile
import time
from pathlib import Path

from reelforge.core.request import GenerationRequest
from reelforge.engines.base import RenderContext
from reelforge.engines.preview import PreviewEngine
from reelforge.media.clip import Clip
from reelforge.media.encode import encode_mp4

REPEATS = 3
REQUEST = GenerationRequest(
    model="veo-3.1-lite",
    prompt="A lighthouse on a rocky cliff at dusk, waves crashing below, slow cinematic drone shot",
    width=1280,
    height=720,
    duration=8,
    audio=True,
)


def context() -> RenderContext:
    return RenderContext(
        request=REQUEST,
        seed=1234,
        start_image=None,
        end_image=None,
        progress=lambda fraction: None,
        is_canceled=lambda: False,
    )


def render_and_encode(out: Path) -> float:
    started = time.perf_counter()
    clip = PreviewEngine().generate(context())
    encode_mp4(clip, REQUEST.width, REQUEST.height, out / "clip.mp4", out / "clip.jpg")
    return time.perf_counter() - started


def render_then_encode(out: Path) -> tuple[float, float]:
    """(render seconds, encode seconds) with the frames materialised in between."""
    started = time.perf_counter()
    clip = PreviewEngine().generate(context())
    frames = list(clip.frames)
    rendered = time.perf_counter()
    prerendered = Clip(iter(frames), clip.frame_count, clip.fps, clip.audio, clip.sample_rate)
    encode_mp4(prerendered, REQUEST.width, REQUEST.height, out / "floor.mp4", out / "floor.jpg")
    return rendered - started, time.perf_counter() - rendered


def line(label: str, seconds: float) -> str:
    return f"{label:<16}: {seconds:6.2f} s  ({seconds / REQUEST.frame_count * 1000:5.1f} ms/frame)"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        full_runs, split = [], []
        for _ in range(REPEATS):  # alternate the two, so background load hits both alike
            full_runs.append(render_and_encode(out))
            split.append(render_then_encode(out))
    full = statistics.median(full_runs)
    render = statistics.median(r for r, _ in split)
    floor = statistics.median(e for _, e in split)
    print(
        f"preview bench: {REQUEST.width}x{REQUEST.height}, {REQUEST.duration} s at {REQUEST.fps} fps "
        f"({REQUEST.frame_count} frames), audio on, median of {REPEATS}"
    )
    print(line("render + encode", full))
    print(line("render only", render))
    print(line("encode only", floor) + "  <- the floor")
    print(f"ratio (render + encode) / encode only: {full / floor:.2f}x")


if __name__ == "__main__":
    main()
