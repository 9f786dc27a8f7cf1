"""GPU benchmark, ready for the day a GPU is available: two real-size video models, random weights.

No weights can be downloaded, so LTX-Video 0.9.5 2B and Wan 2.2 TI2V-5B are built on the GPU in
bfloat16 from their published configs (bench/configs/, sources named there), with small random T5
text encoders of the real width and prompt length. For a 5 s 1280x720 clip it prints s/step,
s/clip and peak GPU memory for the bare pipeline, the engine, and the engine with step_cache,
compile and max_batch=4; an option the installed engine refuses prints "not available: <why>".
Rows, columns, how the engine gets random weights and the time estimate: docs/gpu.md, "Benchmark
on a GPU".

  python bench/gpu.py              # needs a CUDA GPU; about 7 minutes on an H100 (an estimate)
  python bench/gpu.py --tiny       # tiny variants of the same configs on the CPU (the test suite)
  python bench/gpu.py --model wan  # one model only; --steps N for more steps per clip
"""

import argparse
import gc
import json
import math
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

import diffusers
import torch
from transformers import T5Config, T5EncoderModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tokenizer builder lives in testkit/

from reelforge.core.catalog import ModelSpec  # noqa: E402
from reelforge.core.request import GenerationRequest  # noqa: E402
from reelforge.engines.base import RenderContext  # noqa: E402
from reelforge.engines.diffusers_common import DENOISE_SHARE, frames_for  # noqa: E402
from reelforge.engines.diffusers_options import FAMILIES  # noqa: E402
from reelforge.engines.registry import Engines, check_engine  # noqa: E402
from testkit.tiny_pipelines import _tokenizer as char_tokenizer  # noqa: E402

CONFIGS = Path(__file__).with_name("configs")
PROMPT = "a red fox running through fresh snow at dawn, tracking shot"
SAMPLES = 4  # the batched row's request


@dataclass(frozen=True)
class Model:
    key: str  # the --model value
    name: str
    config: str  # file in bench/configs/
    engine: str
    options: dict  # engine_options besides weights, steps, device, dtype and max_sequence_length
    tiny: dict  # --tiny: per-component overrides of the config


MODELS = (
    Model(
        "ltx",
        "LTX-Video 0.9.5 2B",
        "ltx-video-0.9.5-2b.json",
        "ltx",
        {"vae_tiling": True},
        tiny={
            "transformer": {
                "in_channels": 8,
                "out_channels": 8,
                "num_attention_heads": 2,
                "attention_head_dim": 8,
                "cross_attention_dim": 16,
                "num_layers": 2,
                "caption_channels": 32,
            },
            "vae": {
                "latent_channels": 8,
                "block_out_channels": [8, 8, 8, 8, 8],
                "decoder_block_out_channels": [16, 32, 64],  # each halves, as in the real [256, 512, 1024]
                "layers_per_block": [1, 1, 1, 1, 1],
                "decoder_layers_per_block": [1, 1, 1, 1],
            },
            "text_encoder": {"d_model": 32, "max_sequence_length": 16},
        },
    ),
    Model(
        "wan",
        "Wan 2.2 TI2V-5B",
        "wan2.2-ti2v-5b.json",
        "wan",
        {"fps": 24, "vae_tiling": True},  # TI2V-5B renders at 24 fps (docs/gpu.md)
        tiny={
            "transformer": {
                "num_attention_heads": 2,
                "attention_head_dim": 12,
                "ffn_dim": 32,
                "num_layers": 2,
                "text_dim": 32,
            },
            "vae": {"base_dim": 8, "decoder_base_dim": 8, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1},
            "text_encoder": {"d_model": 32, "max_sequence_length": 16},
        },
    ),
)


@dataclass(frozen=True)
class Setup:
    """Where and how big: the real run or --tiny."""

    device: str
    dtype: str
    width: int
    height: int
    duration: int
    steps: int


REAL = Setup("cuda", "bfloat16", 1280, 720, 5, steps=2)
TINY = Setup("cpu", "float32", 64, 64, 1, steps=2)


def load_config(model: Model, tiny: bool) -> dict:
    config = json.loads((CONFIGS / model.config).read_text())
    if tiny:
        for part, overrides in model.tiny.items():
            config[part] = {**config[part], **overrides}
    return config


# --- random-weight pipelines --------------------------------------------------------------------


def build_pipeline(config: dict, device: str, dtype: torch.dtype | dict) -> diffusers.DiffusionPipeline:
    """The config's pipeline with random weights made on `device`; `dtype` is one dtype, or
    {"default": ..., component: ...} as the engine passes to from_pretrained."""

    def dtype_of(part: str) -> torch.dtype:
        return dtype.get(part, dtype["default"]) if isinstance(dtype, dict) else dtype

    def made(part: str):
        kwargs = dict(config[part])
        cls = getattr(diffusers, kwargs.pop("class"))
        torch.manual_seed(0)
        with torch.device(device):
            module = cls(**kwargs).to(dtype_of(part)).eval()
        keep = module._keep_in_fp32_modules or []  # as from_pretrained does in half precision
        for name, param in module.named_parameters():
            if any(kept in name.split(".") for kept in keep):
                param.data = param.data.float()
        return module

    text = config["text_encoder"]
    torch.manual_seed(0)
    with torch.device(device):
        encoder = T5EncoderModel(
            T5Config(vocab_size=128, d_model=text["d_model"], d_kv=64, d_ff=1024, num_layers=1, num_heads=8)
        )
    scheduler = dict(config["scheduler"])
    pipeline = dict(config["pipeline"])
    return getattr(diffusers, pipeline.pop("class"))(
        transformer=made("transformer"),
        vae=made("vae"),
        text_encoder=encoder.to(dtype_of("text_encoder")).eval(),
        tokenizer=char_tokenizer(t5_style=True),
        scheduler=getattr(diffusers, scheduler.pop("class"))(**scheduler),
        **pipeline,
    )


@contextmanager
def random_weights(config: dict, device: str):
    """While open, DiffusionPipeline.from_pretrained builds `config` with fresh random weights: the
    engine's load runs as on real weights (class check, device, tiling, what its options apply on
    load) except for reading files, which random weights do not have."""

    def from_pretrained(path, dtype=torch.float32, **_ignored):
        return build_pipeline(config, device, dtype)

    with mock.patch.object(diffusers.DiffusionPipeline, "from_pretrained", staticmethod(from_pretrained)):
        yield


# --- measuring ----------------------------------------------------------------------------------


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_gb() -> float | None:
    return torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None


def free() -> None:
    torch.compiler.reset()  # compiled graphs hold the previous row's modules
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class StepClock:
    """When each denoising step ended (GPU work included), keyed by step so N samples count once."""

    def __init__(self):
        self.ends: dict[float, float] = {}

    def step_end(self, step: float) -> None:
        sync()
        self.ends[step] = time.perf_counter()

    def progress(self, fraction: float) -> None:
        """The engine's progress callback: fractions up to DENOISE_SHARE are step ends."""
        if fraction <= DENOISE_SHARE + 1e-9:
            self.step_end(fraction)

    def per_step(self) -> float:
        ends = [self.ends[step] for step in sorted(self.ends)]
        if len(ends) < 2:
            raise RuntimeError(f"saw {len(ends)} denoising steps; the bench needs at least 2")
        return (ends[-1] - ends[0]) / (len(ends) - 1)


@dataclass(frozen=True)
class Result:
    step_s: float  # batched: a step of the whole batch
    clip_s: float  # one clip, no loading (batched: the call / samples)
    peak_gb: float | None
    samples: int = 1

    def full_steps(self, steps: int, bench_steps: int) -> float:
        """s/clip at `steps` denoising steps instead of the bench's."""
        return self.clip_s + (steps - bench_steps) * self.step_s / self.samples


# --- the rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One model under one setup: its catalog entries and request."""

    model: Model
    config: dict
    setup: Setup
    weights: Path

    def spec(self, extra: dict | None = None, steps: int | None = None) -> ModelSpec:
        options = {
            "weights": str(self.weights),
            "steps": steps or self.setup.steps,
            "device": self.setup.device,
            "dtype": self.setup.dtype,
            "max_sequence_length": self.config["text_encoder"]["max_sequence_length"],
            **self.model.options,
            **(extra or {}),
        }
        return ModelSpec(
            id=f"bench-{self.model.key}",
            engine=self.model.engine,
            engine_options=options,
            durations=[self.setup.duration],
            default_duration=self.setup.duration,
            sizes=[f"{self.setup.width}x{self.setup.height}"],
            max_samples=SAMPLES,
            price_per_second={"silent": {f"{self.setup.height}p": 0.0}},
        )

    def request(self, samples: int = 1) -> GenerationRequest:
        return GenerationRequest(
            model=f"bench-{self.model.key}",
            prompt=PROMPT,
            duration=self.setup.duration,
            width=self.setup.width,
            height=self.setup.height,
            audio=False,
            seed=1,
            samples=samples,
        )

    @property
    def family_steps(self) -> int:
        return FAMILIES[self.model.engine].steps


def bare_row(case: Case) -> Result:
    """The diffusers pipeline itself, with the arguments the engine passes, output made uint8 on the CPU."""
    setup, family = case.setup, FAMILIES[case.model.engine]
    request, spec = case.request(), case.spec()
    dtype = getattr(torch, setup.dtype)
    pipe = build_pipeline(case.config, setup.device, {"default": dtype, **_kept_dtypes(case)})
    pipe.set_progress_bar_config(disable=True)
    if case.model.options.get("vae_tiling"):
        pipe.vae.enable_tiling()
    multiple = Engines().get(spec).size_multiple(pipe)  # the render size the engine would choose
    native_fps = case.model.options.get("fps", family.fps)
    clock = StepClock()

    def call(height: int, width: int, num_frames: int, steps: int):
        kwargs = {
            "prompt": request.prompt,
            "negative_prompt": family.negative_prompt,
            "height": height,
            "width": width,
            "num_frames": num_frames,
            "num_inference_steps": steps,
            "guidance_scale": family.guidance,
            "generator": torch.Generator("cpu").manual_seed(1),
            "output_type": "pt",
            "callback_on_step_end": lambda p, step, t, tensors: clock.step_end(step) or {},
            "max_sequence_length": spec.engine_options["max_sequence_length"],
            **({"frame_rate": native_fps} if case.model.engine == "ltx" else {}),  # as LTXEngine passes
        }
        frames = pipe(**kwargs).frames[0]
        frames.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    # Warm-up at a small size: the process's first CUDA kernels and library handles are not timed.
    call(2 * multiple, 2 * multiple, family.frame_step + 1, 1)
    clock.ends.clear()
    sync()
    reset_peak()
    started = time.perf_counter()
    call(
        math.ceil(setup.height / multiple) * multiple,
        math.ceil(setup.width / multiple) * multiple,
        frames_for(request.frame_count, request.fps, native_fps, family.frame_step),
        setup.steps,
    )
    sync()
    return Result(clock.per_step(), time.perf_counter() - started, peak_gb())


def _kept_dtypes(case: Case) -> dict:
    """Components the engine keeps in another dtype than the transformer's (Wan's VAE in float32)."""
    return {"vae": torch.float32} if case.model.engine == "wan" else {}


def engine_row(case: Case, extra: dict, samples: int = 1, warm_up: bool = False) -> Result | str:
    """reelforge's engine with `extra` engine_options; a string if the installed engine refuses them."""
    spec = case.spec(extra)
    try:
        check_engine(spec)
    except ValueError as exc:
        return f"not available: {exc}"
    engines = Engines()
    load_seconds: list[float] = []

    def loaded(model: str, engine: str, weights: str, seconds: float) -> None:
        load_seconds.append(seconds)
        reset_peak()  # the peak is the render's: weights plus activations, not the build's fp32 copy

    engines.pipelines().loaded = loaded
    if warm_up:  # loads, compiles and runs one step; the timed run below reuses the loaded pipeline
        _render(engines.get(case.spec(extra, steps=1)), case.request(samples), StepClock())
    clock = StepClock()
    loads_before = len(load_seconds)
    reset_peak()
    started = time.perf_counter()
    _render(engines.get(spec), case.request(samples), clock)
    sync()
    wall = time.perf_counter() - started - sum(load_seconds[loads_before:])
    return Result(clock.per_step(), wall / samples, peak_gb(), samples)


def _render(engine, request: GenerationRequest, clock: StepClock) -> None:
    """One request through the engine, every delivered frame of every sample drawn; several samples
    go to generate_batch (BatchEngine in engines/base.py) as one call."""
    ctxs = [
        RenderContext(request, seed, None, None, clock.progress, lambda: False)
        for seed in range(1, request.samples + 1)
    ]
    clips = engine.generate_batch(ctxs) if len(ctxs) > 1 else [engine.generate(ctxs[0])]
    for clip in clips:
        for _ in clip.frames:
            pass


ROWS: tuple[tuple[str, Callable[[Case], Result | str]], ...] = (
    ("bare pipeline", bare_row),
    ("engine", lambda case: engine_row(case, {})),
    (
        "engine + step cache",
        lambda case: engine_row(case, {"step_cache": {"kind": "first_block", "threshold": 0.05}}),
    ),
    ("engine + compile", lambda case: engine_row(case, {"compile": True}, warm_up=True)),
    (f"engine batched N={SAMPLES}", lambda case: engine_row(case, {"max_batch": SAMPLES}, samples=SAMPLES)),
)


def bench(model: Model, setup: Setup, tiny: bool) -> bool:
    """Print one model's table; False if a row failed (out of memory, an engine error)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-gpu-{model.key}-") as directory:
        return _table(model, setup, tiny, Path(directory))


def _table(model: Model, setup: Setup, tiny: bool, weights: Path) -> bool:
    config = load_config(model, tiny)
    (weights / "model_index.json").write_text(json.dumps({"_class_name": config["pipeline"]["class"]}))
    case = Case(model, config, setup, weights)
    family = FAMILIES[model.engine]
    native_fps = model.options.get("fps", family.fps)
    request = case.request()
    frames = frames_for(request.frame_count, request.fps, native_fps, family.frame_step)
    print(
        f"\n{model.name}{' (tiny)' if tiny else ''}, random weights: {setup.duration} s at "
        f"{setup.width}x{setup.height}, {frames} frames at {native_fps} fps, {setup.steps} steps, "
        f"{setup.device} {setup.dtype}"
    )
    est = f"est. {case.family_steps} steps"
    print(f"  {'':22} {'s/step':>9} {'s/clip':>9} {est:>16} {'vs bare':>8} {'peak GB':>8} {'row s':>6}")
    ok, baseline = True, None
    with random_weights(config, setup.device):
        for label, row in ROWS:
            started = time.perf_counter()
            try:
                result = row(case)
            except Exception as exc:  # noqa: BLE001 - one broken row must not hide the others' figures
                traceback.print_exc()  # to stderr; the table goes on
                result, ok = f"failed: {type(exc).__name__}: {exc}", False
            free()
            if isinstance(result, str):
                print(f"  {label:22} {result}")
                continue
            baseline = baseline or result.clip_s
            full = result.full_steps(case.family_steps, setup.steps)
            peak = "-" if result.peak_gb is None else f"{result.peak_gb:.1f}"
            print(
                f"  {label:22} {result.step_s:9.4g} {result.clip_s:9.4g} {full:16.4g} "
                f"{result.clip_s / baseline:8.3f} {peak:>8} {time.perf_counter() - started:6.0f}",
                flush=True,
            )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny variants on the CPU (CI)")
    parser.add_argument("--model", choices=[model.key for model in MODELS], help="one model only")
    parser.add_argument("--steps", type=int, default=2, help="denoising steps per clip (at least 2)")
    args = parser.parse_args(argv)
    if not args.tiny and not torch.cuda.is_available():
        print(
            f"bench/gpu.py: torch {torch.__version__} sees no CUDA GPU; this benchmark needs one "
            "(or run `python bench/gpu.py --tiny` for the CPU version)",
            file=sys.stderr,
        )
        return 2
    if args.steps < 2:
        parser.error("--steps: at least 2 (the first step is not counted in s/step)")
    setup = replace(TINY if args.tiny else REAL, steps=args.steps)
    diffusers.utils.logging.set_verbosity_error()
    started = time.perf_counter()
    ok = True
    for model in MODELS:
        if args.model in (None, model.key):
            ok = bench(model, setup, args.tiny) and ok
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
