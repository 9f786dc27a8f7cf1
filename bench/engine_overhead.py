"""What does a diffusers engine add on top of the bare pipeline call? Same tiny model, same steps.

"bare pipeline" calls LTXPipeline directly on a pipeline loaded from the same directory, with the
arguments the engine would pass, and converts its output to uint8 frames. "engine" is the real job
path minus encoding: LTXEngine.generate (resident pipeline, plan, progress and cancel callback,
seeding) and every delivered frame drawn from the clip. The model renders at the output size, so
no scaling is timed. Each figure is the median of runs alternating between the two, after a
warm-up (which loads).

Run from the repository root with the [diffusers] extra installed: `python bench/engine_overhead.py`.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from diffusers import DiffusionPipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tiny-model builders live in testkit/

from reelforge.core.catalog import ModelSpec  # noqa: E402
from reelforge.core.request import GenerationRequest  # noqa: E402
from reelforge.engines.base import RenderContext  # noqa: E402
from reelforge.engines.diffusers_common import frames_for  # noqa: E402
from reelforge.engines.diffusers_options import FAMILIES  # noqa: E402
from reelforge.engines.registry import Engines  # noqa: E402
from testkit.tiny_pipelines import save_ltx  # noqa: E402

REPEATS = 7
STEPS = 8
WIDTH, HEIGHT, DURATION = 64, 64, 1
NATIVE_FPS = 25


def main() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    weights = save_ltx(Path(tempfile.mkdtemp()) / "ltx")
    spec = ModelSpec(
        id="bench-ltx",
        engine="ltx",
        engine_options={"weights": str(weights), "steps": STEPS, "max_sequence_length": 16},
        durations=[DURATION],
        default_duration=DURATION,
        sizes=[f"{WIDTH}x{HEIGHT}"],
        price_per_second={"silent": {f"{HEIGHT}p": 0.0}},
    )
    request = GenerationRequest(
        model=spec.id,
        prompt="a red fox in the snow",
        duration=DURATION,
        width=WIDTH,
        height=HEIGHT,
        audio=False,
    )
    engine = Engines().get(spec)

    def engine_run() -> None:
        ctx = RenderContext(request, 1, None, None, lambda fraction: None, lambda: False)
        for _ in engine.generate(ctx).frames:
            pass

    pipe = DiffusionPipeline.from_pretrained(weights, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    num_frames = frames_for(request.frame_count, request.fps, NATIVE_FPS, 8)

    def bare_run() -> None:
        out = pipe(
            prompt=request.prompt,
            negative_prompt=FAMILIES["ltx"].negative_prompt,  # what the engine passes
            height=HEIGHT,
            width=WIDTH,
            num_frames=num_frames,
            frame_rate=NATIVE_FPS,
            num_inference_steps=STEPS,
            guidance_scale=3.0,
            generator=torch.Generator("cpu").manual_seed(1),
            output_type="pt",
            max_sequence_length=16,
        )
        out.frames[0].clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()

    bare, eng = _medians(bare_run, engine_run)
    made, delivered = num_frames, request.frame_count
    print(f"LTX tiny at {WIDTH}x{HEIGHT}, {STEPS} steps: {made} frames made, {delivered} delivered")
    print(f"bare pipeline: {bare * 1000:8.1f} ms")
    print(f"engine:        {eng * 1000:8.1f} ms")
    print(f"ratio:         {eng / bare:8.3f}  (overhead {(eng - bare) * 1000:+.1f} ms)")


def _medians(first, second) -> tuple[float, float]:
    """Median seconds of each, run alternately so a busy machine slows both alike."""
    first(), second()  # warm-up: loads the weights, fills caches
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(REPEATS):
        for run, spent in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            run()
            spent.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


if __name__ == "__main__":
    main()
