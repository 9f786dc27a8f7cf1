"""bench/gpu.py runs here in its --tiny form, so the GPU benchmark cannot rot before a GPU runs it.

The figures of a tiny CPU run mean nothing and are not asserted; what is asserted is that the same
script a GPU host will run builds both models from the committed configs, drives the bare pipeline
and the engine, and prints every row: numbers, or for an engine option the installed engine does
not know yet, the reason it names.
"""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("LTX-Video 0.9.5 2B (tiny)", "Wan 2.2 TI2V-5B (tiny)")
MEASURED = ("bare pipeline", "engine")  # always available
OPTIONAL = {  # row -> the engine option it needs
    "engine + step cache": "step_cache",
    "engine + compile": "compile",
    "engine batched N=4": "max_batch",
}
FIGURE = r"(\d[\d.]*(?:e[-+]\d+)?)"  # as printed with :.4g
NUMBERS = re.compile(rf"{FIGURE} +{FIGURE} +{FIGURE} +(\d+\.\d{{3}}) +(-|\d+\.\d) +\d+")


def run_bench(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "bench/gpu.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def tables(stdout: str) -> dict[str, dict[str, str]]:
    """{model header: {row label: the rest of its line}} from the bench's output."""
    found: dict[str, dict[str, str]] = {}
    rows: dict[str, str] = {}
    for line in stdout.splitlines():
        header = next((model for model in MODELS if line.startswith(model)), None)
        if header:
            rows = found[header] = {}
        for label in (*MEASURED, *OPTIONAL):
            if line.startswith(f"  {label:22} "):
                rows[label] = line[len(label) + 3 :].strip()
    return found


def test_tiny_bench_prints_every_row_of_both_models():
    done = run_bench("--tiny")
    assert done.returncode == 0, done.stderr[-4000:]
    found = tables(done.stdout)
    assert list(found) == list(MODELS), done.stdout
    for model, rows in found.items():
        assert set(rows) == {*MEASURED, *OPTIONAL}, (model, done.stdout)
        for label, rest in rows.items():
            numbers = NUMBERS.fullmatch(rest)
            if label in OPTIONAL and not numbers:
                # only the engine's refusal of the option: an accepted option must give numbers
                refused = f"not available: engine_options.{OPTIONAL[label]}:"
                assert rest.startswith(refused), (model, label, rest)
                continue
            assert numbers, (model, label, rest)
            figures = [float(value) for value in numbers.groups()[:4]]  # s/step, s/clip, est., vs bare
            assert all(math.isfinite(v) and v > 0 for v in figures), (model, label, rest)
            assert figures[2] >= figures[1]  # 50 steps cost more than the bench's 2
            assert numbers.group(5) == "-"  # no GPU memory on the CPU
        assert NUMBERS.fullmatch(rows["bare pipeline"]).group(4) == "1.000"  # the baseline of the ratio


@pytest.mark.skipif(torch.cuda.is_available(), reason="this host has a GPU")
def test_without_a_gpu_the_full_bench_refuses_and_says_why():
    done = run_bench()
    assert done.returncode != 0
    assert "sees no CUDA GPU" in done.stderr and "--tiny" in done.stderr
    assert done.stdout == ""
