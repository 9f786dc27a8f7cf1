"""What a catalog entry may say about a diffusers engine, checked when the catalog loads.

The families' fixed facts (native audio, frame rule, native rate, per-model defaults) and the
deployer's `engine_options` live here, apart from the engines, so the catalog, `reelforge doctor`
and the health endpoint can validate and report without importing torch or diffusers.
"""

import importlib.util
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Mode = Literal["text", "image", "frames"]  # text only, start frame, start + end frame

# Keywords the engine computes for every call; `pipeline_kwargs` may not override them.
RESERVED_KWARGS = frozenset(
    {
        "prompt",
        "negative_prompt",
        "height",
        "width",
        "num_frames",
        "frame_rate",
        "num_inference_steps",
        "guidance_scale",
        "generator",
        "num_videos_per_prompt",
        "image",
        "last_image",
        "conditions",
        "output_type",
        "return_dict",
        "callback_on_step_end",
        "callback_on_step_end_tensor_inputs",
    }
)


@dataclass(frozen=True)
class Family:
    """Fixed facts of a model family; steps and guidance default to diffusers' own pipeline defaults."""

    name: str
    audio: bool  # the model makes its own soundtrack
    size_multiple: int  # render sides are multiples of this (a checkpoint may need more: see the engine)
    frame_step: int  # frame counts are frame_step * k + 1
    fps: int  # native frame rate
    steps: int
    guidance: float
    negative_prompt: str
    modules: tuple[str, ...]  # Python packages the engine imports (plus accelerate for offload)
    pipelines: dict[Mode, str]  # the diffusers pipeline class per mode
    step_caches: tuple[str, ...]  # the `step_cache` kinds diffusers' hooks support on its transformer
    batched: tuple[Mode, ...]  # the modes whose pipeline renders several samples in one call


_LTX_NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"

FAMILIES: dict[str, Family] = {
    "ltx2": Family(
        name="ltx2",
        audio=True,
        size_multiple=32,
        frame_step=8,
        fps=24,
        steps=30,
        guidance=3.0,
        negative_prompt=_LTX_NEGATIVE,
        modules=("torch", "diffusers", "transformers"),
        pipelines={
            "text": "LTX2Pipeline",
            "image": "LTX2ImageToVideoPipeline",
            "frames": "LTX2ConditionPipeline",
        },
        step_caches=(),  # diffusers 0.42 has no block metadata for LTX-2's audio-video blocks
        batched=("text", "frames"),  # its image pipeline re-compresses one PIL image, not a list
    ),
    "wan": Family(
        name="wan",
        audio=False,
        size_multiple=16,
        frame_step=4,
        fps=16,
        steps=50,
        guidance=5.0,
        negative_prompt=(
            "bright tones, overexposed, static, blurred details, subtitles, worst quality, low quality, "
            "JPEG compression residue, ugly, incomplete, extra fingers, poorly drawn hands, poorly drawn "
            "faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy background"
        ),
        modules=("torch", "diffusers", "transformers", "ftfy"),
        pipelines={
            "text": "WanPipeline",
            "image": "WanImageToVideoPipeline",
            "frames": "WanImageToVideoPipeline",
        },
        step_caches=("first_block",),
        batched=("text",),  # the image pipeline takes one image for the whole batch, and fails
    ),
    "ltx": Family(
        name="ltx",
        audio=False,
        size_multiple=32,
        frame_step=8,
        fps=25,
        steps=50,
        guidance=3.0,
        negative_prompt=_LTX_NEGATIVE,
        modules=("torch", "diffusers", "transformers"),
        pipelines={
            "text": "LTXPipeline",
            "image": "LTXImageToVideoPipeline",
            "frames": "LTXConditionPipeline",
        },
        step_caches=("first_block",),
        # LTXConditionPipeline does not repeat its conditions per sample, and the image pipeline draws
        # the decode noise of a timestep-conditioned VAE (every checkpoint since 0.9.1) with
        # torch.randn, which takes one generator, not one per sample
        batched=("text",),
    ),
}

# Folded into the negative prompt when a request says person_generation=dont_allow.
NO_PEOPLE_NEGATIVE = "people, person, human, man, woman, child, face, crowd, hands, body"


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ValueError(f"bad size {text!r}, expected WIDTHxHEIGHT")
    return int(width), int(height)


class StepCache(BaseModel):
    """Reuse of transformer work between denoising steps (diffusers' cache hooks); see docs/gpu.md."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["first_block"]
    # First Block Cache: the rest of the transformer is skipped while the first block's output
    # changes by less than this (relative mean absolute difference); 0 never skips.
    threshold: float = Field(ge=0.0, le=1.0)


class DiffusersOptions(BaseModel):
    """A catalog entry's `engine_options` for the ltx2, wan and ltx engines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A diffusers-format directory for every mode, or one per mode ("text", "image", "frames").
    weights: str | dict[Mode, str]
    allow_download: bool = False  # treat `weights` as a hub repo id when the directory is absent
    steps: int | None = Field(default=None, ge=1, le=200)
    guidance: float | None = Field(default=None, ge=0.0, le=30.0)
    fps: int | None = Field(default=None, ge=1, le=120)  # native rate the model renders at
    render_size: dict[str, str] = {}  # output size -> size the model renders at, then scaled
    negative_prompt: str | None = None  # replaces the family's default negative prompt
    max_sequence_length: int | None = Field(default=None, ge=1)
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")  # auto: cuda if present
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"  # auto: bfloat16 on cuda
    offload: Literal["none", "model", "sequential"] = "none"  # diffusers CPU offload (GPU only)
    vae_tiling: bool = False
    silent_audio: bool = False  # a family without audio may serve audio requests with silence
    pipeline_kwargs: dict[str, object] = {}  # passed to every pipeline call, e.g. decode_timestep
    max_batch: int = Field(default=1, ge=1, le=16)  # the most samples of a request one call renders
    step_cache: StepCache | None = None  # off by default
    compile: bool = False  # torch.compile the transformer, warmed up when the weights load
    compile_backend: Literal["inductor", "aot_eager", "eager"] = "inductor"  # torch.compile's backend

    @field_validator("render_size")
    @classmethod
    def _sizes(cls, value: dict[str, str]) -> dict[str, str]:
        for output, render in value.items():
            parse_size(output)
            parse_size(render)
        return value

    @field_validator("pipeline_kwargs")
    @classmethod
    def _not_reserved(cls, value: dict[str, object]) -> dict[str, object]:
        clash = sorted(RESERVED_KWARGS & value.keys())
        if clash:
            raise ValueError(f"pipeline_kwargs may not set {', '.join(clash)}: the engine sets them")
        return value

    @model_validator(mode="after")
    def _weights_given(self) -> "DiffusersOptions":
        if isinstance(self.weights, dict) and "text" not in self.weights:
            raise ValueError("weights needs a 'text' entry (used for text-only requests)")
        return self

    def weights_for(self, mode: Mode) -> str:
        """The weights of a mode; per-mode maps fall back to 'image' for frames, then 'text'."""
        if isinstance(self.weights, str):
            return self.weights
        if mode == "frames" and "frames" not in self.weights:
            mode = "image"
        return self.weights.get(mode, self.weights["text"])

    def render_size_for(self, width: int, height: int) -> tuple[int, int] | None:
        render = self.render_size.get(f"{width}x{height}")
        return parse_size(render) if render else None


def check_options(family: Family, options: DiffusersOptions, sizes: tuple[str, ...], audio: bool) -> None:
    """Refuse options that cannot work for this family and catalog entry (raises ValueError)."""
    if audio and not family.audio and not options.silent_audio:
        raise ValueError(
            f"engine {family.name} makes no audio: set audio false, or engine_options.silent_audio true "
            "to serve audio requests with a silent track"
        )
    if options.step_cache and options.step_cache.kind not in family.step_caches:
        offered = ", ".join(family.step_caches) or "none"
        kind = options.step_cache.kind
        raise ValueError(f"step_cache {kind} does not work for {family.name} (offered: {offered})")
    if options.silent_audio and family.audio:
        raise ValueError(f"engine {family.name} makes its own audio: silent_audio does not apply")
    for output, render in options.render_size.items():
        if output not in sizes:
            raise ValueError(f"render_size key {output} is not one of the entry's sizes")
        width, height = parse_size(render)
        if width % family.size_multiple or height % family.size_multiple:
            raise ValueError(
                f"render_size {render} must be multiples of {family.size_multiple} for {family.name}"
            )


def missing_modules(family: Family, options: DiffusersOptions) -> list[str]:
    """The Python packages this engine and these options need that are not installed."""
    needed = [*family.modules, *(["accelerate"] if options.offload != "none" else [])]
    return [name for name in needed if importlib.util.find_spec(name) is None]
