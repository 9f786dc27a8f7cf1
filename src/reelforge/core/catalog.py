"""The model catalog: public model ids -> engine, capabilities and price per second of output.

It is configuration: the built-in `catalog.default.json` maps every model to the preview engine;
a deployer replaces it with their own file (REELFORGE_CATALOG_PATH) to route models to real
engines or change prices. Model-dependent request checks (durations, also per input used, sizes,
audio, frames, reference images, samples) live here so every dialect enforces the same
capabilities. Whether an entry's engine and `engine_options` can work is the engines' business
(`engines.registry.check_catalog`).

An entry a deployer knowingly ships without its weights says `"available": false` (and why, in
`unavailable_reason`): its creates are refused with a 400 naming the model instead of becoming
failed jobs, and it does not make `/readyz` fail.
"""

import json
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reelforge.core.errors import InvalidRequest
from reelforge.core.request import GenerationRequest

# inputs whose use can narrow a model's durations (`durations_with`), and how errors name them
INPUTS = {"end_frame": "an end frame", "reference_images": "reference images"}


def resolution_tier(width: int, height: int) -> str:
    """The marketing name of a size: the short side plus 'p' (1280x720 -> '720p')."""
    return f"{min(width, height)}p"


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    aliases: tuple[str, ...] = ()
    engine: str = "preview"
    engine_options: dict[str, Any] = {}  # the engine's settings: weights, steps, render size, ...
    durations: tuple[int, ...]
    default_duration: int
    sizes: tuple[str, ...] = Field(min_length=1)
    audio: bool = False
    text_to_video: bool = True  # False: the model needs a start frame (image-to-video only)
    start_frame: bool = True
    end_frame: bool = False
    reference_images: int = Field(default=0, ge=0)  # how many reference images it takes; 0: none
    # the durations a request using an input may have, where fewer than `durations` (Veo: 8 s only)
    durations_with: dict[Literal["end_frame", "reference_images"], tuple[int, ...]] = {}
    max_samples: int = Field(default=1, ge=1, le=4)
    price_per_second: dict[str, dict[str, float]]
    # entries tried in this order when this one's upstream cannot take the job (not followed further)
    fallback: tuple[str, ...] = ()
    available: bool = True  # False: shipped without weights on purpose; creates for it are refused
    unavailable_reason: str | None = None  # told to clients whose create is refused

    @model_validator(mode="after")
    def _consistent(self) -> "ModelSpec":
        if self.default_duration not in self.durations:
            raise ValueError(f"{self.id}: default_duration not in durations")
        for kind, durations in self.durations_with.items():
            if not durations or not set(durations) <= set(self.durations):
                raise ValueError(f"{self.id}: durations_with.{kind} must be some of durations")
        for size in self.sizes:
            self.parse_size(size)
        for kind in self.price_per_second:
            if kind not in ("audio", "silent"):
                raise ValueError(f"{self.id}: price_per_second keys are 'audio' and 'silent'")
        return self

    @staticmethod
    def parse_size(size: str) -> tuple[int, int]:
        w, _, h = size.partition("x")
        if not (w.isdigit() and h.isdigit()):
            raise ValueError(f"bad size {size!r}, expected WIDTHxHEIGHT")
        return int(w), int(h)

    @property
    def default_size(self) -> tuple[int, int]:
        return self.parse_size(self.sizes[0])

    def resolve_size(
        self,
        tier: str | None = None,
        width: int | None = None,
        height: int | None = None,
        portrait: bool | None = None,
    ) -> tuple[int, int]:
        """Pick the output size from whatever a dialect was given: a resolution tier ('720p'),
        width and/or height, an orientation. Missing parts take the model's defaults (its first
        size of the tier, landscape first); contradictions are refused."""
        sizes = [self.parse_size(s) for s in self.sizes]
        if tier is not None:
            sizes = [s for s in sizes if resolution_tier(*s) == tier]
            if not sizes:
                raise InvalidRequest(f"{self.id} does not render at {tier}", "resolution")
        if width is not None:
            sizes = [s for s in sizes if s[0] == width]
        if height is not None:
            sizes = [s for s in sizes if s[1] == height]
        if portrait is not None:
            sizes = [s for s in sizes if (s[1] > s[0]) == portrait]
        if not sizes:
            asked = f"{width or '?'}x{height or '?'}" + (f" at {tier}" if tier else "")
            allowed = ", ".join(
                self.sizes
                if tier is None
                else (s for s in self.sizes if resolution_tier(*self.parse_size(s)) == tier)
            )
            raise InvalidRequest(f"size {asked} is not supported by {self.id}; allowed: {allowed}", "size")
        return sizes[0]

    def check(self, req: GenerationRequest) -> None:
        """Refuse a request this model cannot render."""
        if req.duration not in self.durations:
            allowed = ", ".join(map(str, self.durations))
            raise InvalidRequest(f"duration must be one of {allowed} for {req.model}", "duration")
        if f"{req.width}x{req.height}" not in self.sizes:
            raise InvalidRequest(
                f"size {req.width}x{req.height} is not supported by {req.model}; "
                f"allowed: {', '.join(self.sizes)}",
                "size",
            )
        if req.audio and not self.audio:
            raise InvalidRequest(f"{req.model} cannot generate audio", "audio")
        if not req.start_image and not self.text_to_video:
            raise InvalidRequest(f"{req.model} needs a start frame image", "start_image")
        if req.start_image and not self.start_frame:
            raise InvalidRequest(f"{req.model} does not take a start frame", "start_image")
        if req.end_image and not self.end_frame:
            raise InvalidRequest(f"{req.model} does not take an end frame", "end_image")
        if req.reference_images and not self.reference_images:
            raise InvalidRequest(f"{req.model} takes no reference images", "reference_images")
        if len(req.reference_images) > self.reference_images:
            raise InvalidRequest(
                f"{req.model} takes at most {self.reference_images} reference images", "reference_images"
            )
        used = {"end_frame": bool(req.end_image), "reference_images": bool(req.reference_images)}
        for kind, durations in self.durations_with.items():
            if used[kind] and req.duration not in durations:
                allowed = " or ".join(map(str, durations))
                raise InvalidRequest(
                    f"duration must be {allowed} for {req.model} with {INPUTS[kind]}", "duration"
                )
        if req.samples > self.max_samples:
            raise InvalidRequest(f"{req.model} makes at most {self.max_samples} samples", "samples")
        self.price(req)

    def price(self, req: GenerationRequest) -> Decimal:
        """List price in USD of the whole request (all samples), billed on success."""
        table = self.price_per_second.get("audio" if req.audio else "silent", {})
        tier = resolution_tier(req.width, req.height)
        if tier not in table:
            raise InvalidRequest(f"{req.model} has no price for {tier}", "size")
        total = Decimal(str(table[tier])) * req.duration * req.samples
        return total.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


class Catalog:
    def __init__(self, models: list[ModelSpec]):
        self.models = models
        self._by_id: dict[str, ModelSpec] = {}
        for spec in models:
            for name in (spec.id, *spec.aliases):
                if name in self._by_id:
                    raise ValueError(f"model id {name!r} appears twice in the catalog")
                self._by_id[name] = spec
        for spec in models:
            for name in spec.fallback:
                if name not in self._by_id or self._by_id[name] is spec:
                    raise ValueError(f"{spec.id}: fallback {name!r} is not another entry of the catalog")

    def route(self, spec: ModelSpec) -> list[ModelSpec]:
        """The entries a job for `spec` may render on, in order: itself, then its fallbacks."""
        return [spec, *(self._by_id[name] for name in spec.fallback)]

    @property
    def default(self) -> ModelSpec:
        """The model used when a request names none: the first entry."""
        return self.models[0]

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self._by_id[model_id]
        except KeyError:
            raise InvalidRequest(f"unknown model {model_id!r}", "model") from None

    def __contains__(self, model_id: str) -> bool:
        return model_id in self._by_id

    def names(self) -> list[tuple[str, ModelSpec]]:
        """Every name a client may use for a model (ids, then aliases), in catalog order."""
        return [(name, spec) for spec in self.models for name in (spec.id, *spec.aliases)]


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog file at `path`, or the built-in one."""
    if path is None:
        text = resources.files("reelforge").joinpath("catalog.default.json").read_text()
    else:
        text = Path(path).read_text()
    data = json.loads(text)
    return Catalog([ModelSpec(**entry) for entry in data["models"]])
