"""Step caching: how many transformer blocks First Block Cache skips, and what that saves.

Tiny random-weight LTX and Wan pipelines on the CPU, deepened to 4 transformer blocks (First
Block Cache always runs the first block and decides whether to run the rest), rendered through
the real engine with `engine_options.step_cache` off and at a few thresholds. A hook on the last
block's feed-forward counts the times the tail of the transformer really ran, against the
transformer calls made (LTX runs cond and uncond as one call per step, Wan as two). Times are
medians of runs alternating between the settings, after a warm-up, on one CPU thread (steadier on
a shared machine); "max diff" is in uint8 levels against the render without cache.
Random weights make the first block's output change much more between steps than a trained
model's, so the thresholds that skip here are higher than useful ones on real weights (see
docs/gpu.md); the ratio of time saved to blocks skipped is what carries over.

Run from the repository root with the [diffusers] extra installed: `python bench/step_cache.py`.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import LTXVideoTransformer3DModel, WanTransformer3DModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tiny-model builders live in testkit/

from reelforge.core.request import GenerationRequest  # noqa: E402
from reelforge.engines.base import RenderContext  # noqa: E402
from testkit.tiny_pipelines import save_ltx, save_wan_ti2v, tiny_engine  # noqa: E402

LAYERS = 4
REPEATS = 5
STEPS = 10
SIZE = 64
THRESHOLDS = [None, 0.0, 0.1, 0.2, 0.4]


def deepen(directory: Path, transformer_class) -> Path:
    """The tiny pipeline in `directory` with a LAYERS-block transformer."""
    config = dict(transformer_class.load_config(directory / "transformer"))
    torch.manual_seed(0)
    transformer_class.from_config({**config, "num_layers": LAYERS}).save_pretrained(directory / "transformer")
    return directory


def engine(family: str, weights: Path, threshold: float | None):
    step_cache = None if threshold is None else {"kind": "first_block", "threshold": threshold}
    return tiny_engine(family, weights, STEPS, SIZE, step_cache=step_cache)


def counted(each) -> tuple[list[int], list[int]]:
    """Load the engine's pipeline; count its transformer calls and the runs of its last block."""
    request = GenerationRequest(
        model=each.model, prompt="fox", duration=1, width=SIZE, height=SIZE, audio=False
    )
    ctx = RenderContext(request, 0, None, None, lambda fraction: None, lambda: False)
    calls, tail_runs = [], []
    with each.resident.use(each._load_key("text"), each._load, ctx.check_cancel) as loaded:
        transformer = loaded.pipelines[each.family.pipelines["text"]].transformer
        blocks = getattr(transformer, "transformer_blocks", None) or transformer.blocks
        last = getattr(blocks[-1], "ff", None) or blocks[-1].ffn  # not run when the block is cached
        transformer.register_forward_pre_hook(lambda module, args: calls.append(1))
        last.register_forward_pre_hook(lambda module, args: tail_runs.append(1))
    return calls, tail_runs


def render(each, seed: int = 5) -> np.ndarray:
    request = GenerationRequest(
        model=each.model, prompt="a red fox in the snow", duration=1, width=SIZE, height=SIZE, audio=False
    )
    ctx = RenderContext(request, seed, None, None, lambda fraction: None, lambda: False)
    return np.stack(list(each.generate(ctx).frames))


def main() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp())
    families = {
        "ltx": deepen(save_ltx(root / "ltx"), LTXVideoTransformer3DModel),
        "wan": deepen(save_wan_ti2v(root / "wan"), WanTransformer3DModel),
    }
    print(f"{SIZE}x{SIZE} x 9 frames, {STEPS} steps, {LAYERS} transformer blocks, median of {REPEATS}")
    columns = f"{'threshold':>9} {'calls':>6} {'tail run':>9} {'skipped':>8} {'s':>7} {'ratio':>6}"
    print(f"{'model':6} {columns} max diff")
    for family, weights in families.items():
        runs, frames, times = {}, {}, {}
        engines = {threshold: engine(family, weights, threshold) for threshold in THRESHOLDS}
        calls = {}
        for threshold, each in engines.items():
            calls[threshold], tail_runs = counted(each)
            frames[threshold] = render(each)  # warm-up, and the output compared
            runs[threshold] = len(tail_runs)
            times[threshold] = []
        for _ in range(REPEATS):  # alternating, so a busy machine slows every setting alike
            for threshold, each in engines.items():
                started = time.perf_counter()
                render(each)
                times[threshold].append(time.perf_counter() - started)
        baseline = statistics.median(times[None])
        for threshold in THRESHOLDS:
            made = len(calls[threshold]) // (REPEATS + 1)
            seconds = statistics.median(times[threshold])
            diff = np.abs(frames[threshold].astype(int) - frames[None].astype(int)).max()
            label = "off" if threshold is None else f"{threshold:g}"
            skipped = 1 - runs[threshold] / made
            print(
                f"{family:6} {label:>9} {made:6d} {runs[threshold]:9d} {skipped:8.0%} {seconds:7.3f} "
                f"{seconds / baseline:6.2f} {diff}"
            )


if __name__ == "__main__":
    main()
