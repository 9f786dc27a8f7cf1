"""Batched samples: N samples of one request as one pipeline call (`max_batch` N) vs one call each.

Both paths are the real engine (LTXEngine / WanEngine from a catalog entry, resident pipeline,
progress callback, every delivered frame drawn) on tiny random-weight LTX and Wan pipelines on
the CPU; only `engine_options.max_batch` differs. "sequential" is `generate` once per seed, the
way a worker renders without batching; "batched" is one `generate_batch` of the same seeds. Each
time is the median of runs alternating between the two, after a warm-up of each (which loads),
on one CPU thread (steadier on a shared machine).
The outputs are compared per seed: max difference in uint8 levels and the share of values that
differ (batched float32 matmuls reduce in another order; see tests/test_engines_speed.py).

Run from the repository root with the [diffusers] extra installed: `python bench/batched_samples.py`.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tiny-model builders live in testkit/

from reelforge.core.request import GenerationRequest  # noqa: E402
from reelforge.engines.base import RenderContext  # noqa: E402
from testkit.tiny_pipelines import save_ltx, save_wan_ti2v, tiny_engine  # noqa: E402

SAMPLES = 4
REPEATS = 5
STEPS = 8
SIZE = 64  # delivered and rendered: no scaling
SEEDS = [11 + i * 1_000_003 for i in range(SAMPLES)]


def engine(family: str, weights: Path, max_batch: int):
    return tiny_engine(family, weights, STEPS, SIZE, max_batch=max_batch)


def contexts(model: str) -> list[RenderContext]:
    request = GenerationRequest(
        model=model, prompt="a red fox in the snow", duration=1, width=SIZE, height=SIZE, audio=False
    )
    return [RenderContext(request, seed, None, None, lambda fraction: None, lambda: False) for seed in SEEDS]


def sequential(one) -> list[np.ndarray]:
    return [np.stack(list(one.generate(ctx).frames)) for ctx in contexts(one.model)]


def batched(many) -> list[np.ndarray]:
    return [np.stack(list(clip.frames)) for clip in many.generate_batch(contexts(many.model))]


def timed(run, each) -> float:
    started = time.perf_counter()
    run(each)
    return time.perf_counter() - started


def main() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp())
    families = {"ltx": save_ltx(root / "ltx"), "wan": save_wan_ti2v(root / "wan")}
    print(f"N = {SAMPLES} samples, {SIZE}x{SIZE} x 9 frames, {STEPS} steps, median of {REPEATS}")
    header = f"{'model':6} {'sequential s':>13} {'batched s':>10} {'ratio':>6}"
    print(f"{header}  per seed: max diff / share differing")
    for family, weights in families.items():
        one, many = engine(family, weights, 1), engine(family, weights, SAMPLES)
        expected, got = sequential(one), batched(many)  # warm-up (loads), and the outputs compared
        times = {"sequential": [], "batched": []}
        for _ in range(REPEATS):
            times["sequential"].append(timed(sequential, one))
            times["batched"].append(timed(batched, many))
        alone, together = statistics.median(times["sequential"]), statistics.median(times["batched"])
        diffs = [np.abs(a.astype(int) - b.astype(int)) for a, b in zip(expected, got, strict=True)]
        equality = ", ".join(f"{d.max()} / {np.count_nonzero(d) / d.size:.4%}" for d in diffs)
        print(f"{family:6} {alone:13.3f} {together:10.3f} {together / alone:6.2f}  {equality}")


if __name__ == "__main__":
    main()
