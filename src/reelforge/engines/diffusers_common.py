"""What every diffusers engine shares: resident pipelines, the exact output mapping, one guarded call.

A video model takes tens of seconds to load and most of a GPU, so pipelines stay resident between
jobs (at most REELFORGE_RESIDENT_MODELS of them, least recently used evicted) and one render runs
at a time per process. Each family module only says which pipeline and inputs a mode takes; this
module turns a canonical request into the model's terms (a size it accepts, its frame rule at its
native rate) and the model's output back into exactly what was asked: duration x 24 frames at
24 fps, sampled in time from the native-rate clip (never stretched), centre-cropped and scaled to
the requested size. Progress comes from `callback_on_step_end`, which also stops a canceled job
within one denoising step; a GPU out-of-memory error fails the job, not the worker.
"""

import gc
import inspect
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import av
import diffusers
import numpy as np
import torch
import torch.fx.experimental._config as fx_config
from diffusers.hooks import FirstBlockCacheConfig
from PIL import Image

from reelforge.engines.base import Canceled, EngineUnavailable, RenderContext, RenderFailed
from reelforge.engines.diffusers_options import NO_PEOPLE_NEGATIVE, DiffusersOptions, Family, Mode, StepCache
from reelforge.media.clip import Clip
from reelforge.media.images import fit_to_size

log = logging.getLogger(__name__)

AUDIO_RATE = 48_000  # every soundtrack is delivered at this rate
DENOISE_SHARE = 0.9  # fraction of a sample's progress given to the denoising steps
_LOCK_POLL_S = 0.5  # how often a job waiting for the model checks whether it was canceled
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class LoadKey:
    """What makes two loaded pipelines different: the same key is loaded once per process."""

    weights: str
    device: str
    dtype: str
    offload: str
    vae_tiling: bool
    step_cache: StepCache | None  # hooks and compilation change the transformer all pipelines share
    compile: str | None  # the torch.compile backend, if compiled


@dataclass
class Loaded:
    """One set of weights in memory, with a pipeline per class built on the same components."""

    key: LoadKey
    pipelines: dict[str, diffusers.DiffusionPipeline]
    offloaded: str | None = None  # the class whose pipeline holds the offload hooks


@dataclass
class ResidentPipelines:
    """Loaded weights, least recently used first, and the lock that lets one render run at a time."""

    capacity: int
    _entries: "OrderedDict[LoadKey, Loaded]" = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    loads: dict[str, int] = field(default_factory=dict)  # weights -> times loaded in this process
    # told (model, engine, weights, seconds) after each load: engines/registry.py logs and counts it
    loaded: Callable[[str, str, str, float], None] = lambda model, engine, weights, seconds: None

    @contextmanager
    def use(self, key: LoadKey, load, check_cancel: Callable[[], None]) -> Iterator[Loaded]:
        """Hold the render lock (checking for cancel while waiting) and yield the loaded weights."""
        while not self._lock.acquire(timeout=_LOCK_POLL_S):
            check_cancel()
        try:
            entry = self._entries.pop(key, None)
            if entry is None:
                while len(self._entries) >= self.capacity:
                    evicted, _ = self._entries.popitem(last=False)
                    log.info("unloading %s to make room", evicted.weights)
                    free_memory()
                entry = load(key)
                self.loads[key.weights] = self.loads.get(key.weights, 0) + 1
            self._entries[key] = entry
            yield entry
        finally:
            self._lock.release()

    def status(self) -> list[dict]:
        return [
            {"weights": k.weights, "device": k.device, "dtype": k.dtype, "loads": self.loads[k.weights]}
            for k in self._entries
        ]


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass(frozen=True)
class Plan:
    """How one request is rendered: the model's size and frame count, and the delivered clip."""

    render_width: int
    render_height: int
    native_fps: int
    num_frames: int  # frames the model makes (its frame rule)
    width: int  # delivered
    height: int
    fps: int
    frame_count: int

    def source_index(self, index: int) -> int:
        """The native frame shown at delivered frame `index`: the nearest in time (rounded half up)."""
        return (2 * index * self.native_fps + self.fps) // (2 * self.fps)


def frames_for(frame_count: int, fps: int, native_fps: int, frame_step: int) -> int:
    """The fewest frames under the rule `frame_step * k + 1` that cover `frame_count` frames at `fps`."""
    last = (2 * (frame_count - 1) * native_fps + fps) // (2 * fps)
    return frame_step * math.ceil(last / frame_step) + 1


class DiffusersEngine:
    """The shared engine; a family subclass sets `family` and says how each mode calls its pipeline."""

    family: Family

    def __init__(self, model: str, options: DiffusersOptions, resident: ResidentPipelines):
        self.name = self.family.name
        self.model = model
        self.options = options
        self.resident = resident  # the process's loaded pipelines, shared by every engine

    # --- family hooks -----------------------------------------------------------------------------

    def size_multiple(self, pipe: diffusers.DiffusionPipeline) -> int:
        """The multiple the loaded checkpoint needs for height and width."""
        return self.family.size_multiple

    def mode_kwargs(
        self, pipe, plan: Plan, start: Image.Image | None, end: Image.Image | None, count: int
    ) -> dict:
        """The pipeline arguments that carry the frames (and anything else the family needs) for a
        call rendering `count` samples."""
        raise NotImplementedError

    def audio(self, pipe, output, index: int) -> tuple[np.ndarray, int] | None:
        """Sample `index`'s soundtrack as float32 (channels, samples) and its rate, if the model makes one."""
        return None

    # --- the request, start to finish -------------------------------------------------------------

    def batch_limit(self, ctx: RenderContext) -> int:
        """The most samples of this request one pipeline call renders: `max_batch`, or 1 for a
        mode whose pipeline cannot batch."""
        mode: Mode = "frames" if ctx.end_image else "image" if ctx.start_image else "text"
        return self.options.max_batch if mode in self.family.batched else 1

    def generate(self, ctx: RenderContext) -> Clip:
        return self.generate_batch([ctx])[0]

    def generate_batch(self, contexts: list[RenderContext]) -> list[Clip]:
        """One clip per context, from one pipeline call: the contexts share the request, images,
        progress (the fraction of the whole batch) and cancel check, and differ in seed only.
        Each sample's noise comes from its own generator, so a sample matches its sequential render."""
        ctx = contexts[0]
        req = ctx.request
        mode: Mode = "frames" if ctx.end_image else "image" if ctx.start_image else "text"
        if len(contexts) > self.batch_limit(ctx):
            raise ValueError(f"{len(contexts)} samples in one call, more than {self.batch_limit(ctx)}")
        ctx.check_cancel()
        with self.resident.use(self._load_key(mode), self._load, ctx.check_cancel) as loaded:
            ctx.check_cancel()  # loading can take a minute: a cancel meanwhile skips the render
            pipe = self._pipeline(loaded, mode)
            plan = self._plan(pipe, req.width, req.height, req.fps, req.frame_count)
            size = (plan.render_width, plan.render_height)
            start = fit_to_size(ctx.start_image, *size) if ctx.start_image else None
            end = fit_to_size(ctx.end_image, *size) if ctx.end_image else None
            kwargs = {
                **self._call_kwargs(pipe, plan, req.prompt, start, end, len(contexts)),
                "negative_prompt": self._negative_prompt(req.negative_prompt, req.person_generation),
                "num_inference_steps": self.options.steps or self.family.steps,
                "num_videos_per_prompt": len(contexts),
                # the same noise on any device, one generator per sample
                "generator": [torch.Generator("cpu").manual_seed(each.seed) for each in contexts],
            }
            output = self._call(pipe, kwargs, ctx)
            videos = [_frames_uint8(frames) for frames in output.frames]
            count = len(contexts)
            soundtracks = [self.audio(pipe, output, index) if req.audio else None for index in range(count)]
            del output
        if len(videos[0]) <= plan.source_index(plan.frame_count - 1):
            raise RuntimeError(f"{self.model} made {len(videos[0])} frames, {plan.num_frames} were asked for")
        return [
            self._clip(video, soundtrack, plan, ctx, Share(index, count))
            for index, (video, soundtrack) in enumerate(zip(videos, soundtracks, strict=True))
        ]

    def _call_kwargs(self, pipe, plan: Plan, prompt: str, start, end, count: int) -> dict:
        """The arguments of a call rendering `count` samples, but for their seeds, negative prompt
        and steps (the warm-up's too)."""
        kwargs = {
            "prompt": prompt,
            "height": plan.render_height,
            "width": plan.render_width,
            "num_frames": plan.num_frames,
            "guidance_scale": self.family.guidance
            if self.options.guidance is None
            else self.options.guidance,
            "output_type": "pt",
            **self.mode_kwargs(pipe, plan, start, end, count),
        }
        if self.options.max_sequence_length:
            kwargs["max_sequence_length"] = self.options.max_sequence_length
        return {**kwargs, **self.options.pipeline_kwargs}

    def _clip(self, video: np.ndarray, soundtrack, plan: Plan, ctx: RenderContext, share: "Share") -> Clip:
        """One sample's clip: delivered lazily, its soundtrack (or the opted-in silence) at 48 kHz."""
        req = ctx.request
        if req.audio and soundtrack is None:  # a model without sound, opted into silent audio by the catalog
            soundtrack = (np.zeros((2, req.duration * AUDIO_RATE), np.float32), AUDIO_RATE)
        return Clip(
            frames=_deliver(video, plan, ctx, share),
            frame_count=plan.frame_count,
            fps=plan.fps,
            audio=resample_audio(*soundtrack, AUDIO_RATE) if soundtrack else None,
            sample_rate=AUDIO_RATE,
        )

    def _negative_prompt(self, requested: str | None, person_generation: str) -> str:
        base = (
            self.family.negative_prompt
            if self.options.negative_prompt is None
            else self.options.negative_prompt
        )
        parts = [base, requested or "", NO_PEOPLE_NEGATIVE if person_generation == "dont_allow" else ""]
        return ", ".join(part.strip(" ,") for part in parts if part.strip(" ,"))

    def _plan(self, pipe, width: int, height: int, fps: int, frame_count: int) -> Plan:
        multiple = self.size_multiple(pipe)
        render = self.options.render_size_for(width, height)
        if render is None:
            render = (math.ceil(width / multiple) * multiple, math.ceil(height / multiple) * multiple)
        elif render[0] % multiple or render[1] % multiple:
            size = f"{render[0]}x{render[1]}"
            raise EngineUnavailable(f"{self.model}: render_size {size} must be multiples of {multiple} here")
        native_fps = self.options.fps or self.family.fps
        return Plan(
            render_width=render[0],
            render_height=render[1],
            native_fps=native_fps,
            num_frames=frames_for(frame_count, fps, native_fps, self.family.frame_step),
            width=width,
            height=height,
            fps=fps,
            frame_count=frame_count,
        )

    # --- loading ------------------------------------------------------------------------------------

    def _load_key(self, mode: Mode) -> LoadKey:
        device = self.options.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = self.options.dtype
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        offload = self.options.offload
        if offload != "none" and device == "cpu":
            log.warning("%s: offload needs a GPU; running on the CPU without it", self.model)
            offload = "none"
        return LoadKey(
            self.options.weights_for(mode),
            device,
            dtype,
            offload,
            self.options.vae_tiling,
            self.options.step_cache,
            self.options.compile_backend if self.options.compile else None,
        )

    def _load(self, key: LoadKey) -> Loaded:
        message = f"GPU out of memory loading {key.weights} for {self.model}; enable offload"
        started = time.monotonic()
        loaded = _freeing_memory(lambda: self._load_pipelines(key), message)
        if key.compile:
            _freeing_memory(lambda: self._warm_up(loaded), f"GPU out of memory warming up {self.model}")
        self.resident.loaded(self.model, self.name, key.weights, time.monotonic() - started)
        return loaded

    def _load_pipelines(self, key: LoadKey) -> Loaded:
        source = Path(key.weights).expanduser()
        local = source.is_dir()
        if not local and not self.options.allow_download:
            raise EngineUnavailable(
                f"{self.model}: weights directory {source} does not exist "
                "(place the diffusers-format weights there; see docs/gpu.md and `reelforge doctor`)"
            )
        if local and not (source / "model_index.json").is_file():
            raise EngineUnavailable(
                f"{self.model}: {source} is not a diffusers pipeline (no model_index.json)"
            )
        log.info("loading %s on %s (%s)", key.weights, key.device, key.dtype)
        pipe = diffusers.DiffusionPipeline.from_pretrained(
            str(source) if local else key.weights,
            dtype=self._torch_dtype(key),
            local_files_only=local,
        )
        classes = set(self.family.pipelines.values())
        if type(pipe).__name__ not in classes:
            raise EngineUnavailable(
                f"{self.model}: {key.weights} holds a {type(pipe).__name__}; engine {self.name} runs "
                f"{', '.join(sorted(classes))}"
            )
        if key.vae_tiling:
            pipe.vae.enable_tiling()
        if key.offload == "none":
            pipe.to(key.device)
        for transformer in _transformers(pipe):
            if key.step_cache:
                transformer.enable_cache(FirstBlockCacheConfig(threshold=key.step_cache.threshold))
            if key.compile:
                # dynamic shapes: one compilation serves every size, frame count and batch
                transformer.compile(backend=key.compile, dynamic=True)
        pipelines = {name: pipe if type(pipe).__name__ == name else _sibling(pipe, name) for name in classes}
        for each in pipelines.values():
            each.set_progress_bar_config(disable=True)
        return Loaded(key, pipelines)

    def preload(self) -> None:
        """Load the text-to-video weights now (a compiled transformer is compiled and warmed up as
        it loads), so that the first job finds them ready."""
        with self.resident.use(self._load_key("text"), self._load, lambda: None):
            pass

    def _warm_up(self, loaded: Loaded) -> None:
        """Compile now, with tiny text renders, not during the first job: one
        sample, and two if batches are allowed (a model called once per sample and guidance
        branch, like Wan, has a batch of 1, which torch compiles apart from larger ones)."""
        pipe = self._pipeline(loaded, "text")
        # small, but with no two sizes equal by chance (a square, one token per frame), which the
        # compiled graph would take as a rule and a real job would break, compiling again
        width, height = 3 * self.size_multiple(pipe), 2 * self.size_multiple(pipe)
        native_fps = self.options.fps or self.family.fps
        plan = Plan(width, height, native_fps, self.family.frame_step + 1, width, height, native_fps, 1)
        started = time.monotonic()
        try:
            for count in sorted({1, min(2, self.options.max_batch)}):
                # No duck sizing: sizes equal by chance here (batch 2 and 2 steps) would be assumed
                # equal by the graph, and the first job whose sizes differ would compile again.
                with fx_config.patch(use_duck_shape=False):
                    kwargs = self._call_kwargs(pipe, plan, "warm-up", None, None, count)
                    pipe(
                        **{**kwargs, "output_type": "latent"},  # the VAE is not compiled: no decode
                        negative_prompt="",
                        num_inference_steps=2,
                        num_videos_per_prompt=count,
                        generator=[torch.Generator("cpu").manual_seed(seed) for seed in range(count)],
                    )
        finally:
            pipe.maybe_free_model_hooks()
        log.info("%s: compiled transformer warmed up in %.1f s", self.model, time.monotonic() - started)

    def _torch_dtype(self, key: LoadKey) -> torch.dtype | dict:
        return _DTYPES[key.dtype]

    def _pipeline(self, loaded: Loaded, mode: Mode) -> diffusers.DiffusionPipeline:
        name = self.family.pipelines[mode]
        pipe = loaded.pipelines[name]
        if loaded.key.offload != "none" and loaded.offloaded != name:
            # Hooks live on the shared components: move them to the pipeline about to run.
            if loaded.key.offload == "model":
                pipe.enable_model_cpu_offload(device=loaded.key.device)
            else:
                pipe.enable_sequential_cpu_offload(device=loaded.key.device)
            loaded.offloaded = name
        return pipe

    # --- the call -----------------------------------------------------------------------------------

    def _call(self, pipe, kwargs: dict, ctx: RenderContext):
        steps = kwargs["num_inference_steps"]

        def on_step_end(pipeline, step: int, timestep, tensors: dict) -> dict:
            ctx.progress(DENOISE_SHARE * min(1.0, (step + 1) / steps))
            if ctx.is_canceled():
                # Raising, rather than only setting pipeline._interrupt, also skips decoding the
                # abandoned latents: the job stops within this step.
                raise Canceled()
            return {}

        def run():
            try:
                return pipe(**kwargs, callback_on_step_end=on_step_end)
            finally:
                pipe.maybe_free_model_hooks()  # with offload, back to the CPU even after an error

        size = f"{kwargs['width']}x{kwargs['height']} x {kwargs['num_frames']} frames"
        advice = "lower its render_size, or enable offload / vae_tiling"
        if kwargs["num_videos_per_prompt"] > 1:
            size += f" x {kwargs['num_videos_per_prompt']} samples"
            advice = "lower its max_batch or render_size, or enable offload / vae_tiling"
        message = f"GPU out of memory rendering {self.model} at {size}; {advice}"
        return _freeing_memory(run, message)


def _freeing_memory(run, message: str):
    """`run()`; a GPU out-of-memory error becomes RenderFailed(message) after memory is freed."""
    try:
        return run()
    except torch.OutOfMemoryError:
        pass  # handled below the try, where the traceback no longer pins the failed call's tensors
    free_memory()
    raise RenderFailed(message)


def _transformers(pipe: diffusers.DiffusionPipeline) -> list[torch.nn.Module]:
    """The denoising transformers of a pipeline (Wan 2.2 A14B has a second, for low noise)."""
    return [model for model in (pipe.transformer, getattr(pipe, "transformer_2", None)) if model is not None]


def _sibling(pipe: diffusers.DiffusionPipeline, class_name: str) -> diffusers.DiffusionPipeline:
    """Another pipeline class over the same components (no copy, no dtype change, unlike from_pipe)."""
    cls = getattr(diffusers, class_name)
    components = pipe.components
    kwargs = {}
    for name in inspect.signature(cls.__init__).parameters:
        if name in components:
            kwargs[name] = components[name]
        elif name != "self" and name in pipe.config:
            kwargs[name] = pipe.config[name]
    return cls(**kwargs)


def _frames_uint8(frames: torch.Tensor) -> np.ndarray:
    """(frames, 3, H, W) floats in [0, 1] -> (frames, H, W, 3) uint8 on the CPU."""
    return frames.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


@dataclass(frozen=True)
class Share:
    """Sample `index` of a batch of `count`: where its delivery falls in the batch's progress."""

    index: int
    count: int

    def progress(self, fraction: float) -> float:
        """The batch's progress when this sample's delivery is `fraction` done."""
        return DENOISE_SHARE + (1 - DENOISE_SHARE) * (self.index + fraction) / self.count


def _deliver(video: np.ndarray, plan: Plan, ctx: RenderContext, share: Share) -> Iterator[np.ndarray]:
    """The delivered frames, one at a time: sampled in time, then fitted to the exact size."""
    resize = (plan.render_width, plan.render_height) != (plan.width, plan.height)
    for index in range(plan.frame_count):
        ctx.check_cancel()
        frame = video[plan.source_index(index)]
        if resize:
            frame = np.asarray(fit_to_size(Image.fromarray(frame), plan.width, plan.height))
        ctx.progress(share.progress((index + 1) / plan.frame_count))
        yield frame


def resample_audio(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """float32 (channels, samples) at `rate` -> the same at `target`, with libswresample (PyAV)."""
    if rate == target:
        return samples
    layout = {1: "mono", 2: "stereo"}[samples.shape[0]]
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, np.float32), format="fltp", layout=layout
    )
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=target)
    parts = [f.to_ndarray() for f in (*resampler.resample(frame), *resampler.resample(None))]
    return np.concatenate(parts, axis=1) if parts else np.zeros((samples.shape[0], 0), np.float32)
