"""AI/ML API (seed 002, specs/aimlapi): `POST /v2/video/generations`,
`GET /v2/video/generations?generation_id=` and the public model list `GET /models`.

Request fields, as AI/ML API documents them for `google/veo-3.1-lite-generate-001`: `model` and
`prompt` (required), `image_url` / `last_image_url` (an http(s) URL, raw base64 or a data URI; see
media/fetch.py), `aspect_ratio` 16:9|9:16 (default 16:9), `resolution` (default 720P), `duration`
4|6|8 (default 8), `generate_audio` (default true), `person_generation` dont_allow|allow_adult
(default allow_adult). `negative_prompt` and `seed` (documented for the other Veo 3.1 models, and
sent by the official SDK's `videos.generate_with_polling`) are honoured too, and so is
`image_urls` (reference images, `google/veo-3.1-reference-to-video`); `enhance_prompt`, `auto_fix`
and `provider` are accepted and have no effect.

Decisions where AI/ML API documents nothing or contradicts itself [open]:
- Model ids: every catalog id or alias, the same with a `google/` prefix, and AI/ML's own Veo ids
  (`google/veo-3.1-t2v`, `-i2v`, `-t2v-fast`, `-i2v-fast`, `-first-last-image-to-video`,
  `-reference-to-video`), mapped onto the catalog's Veo models. The i2v ids require `image_url`,
  the first-last id both images, the reference id `image_urls`, as their specs do. The default
  resolution is the one each model's spec gives: 720P for Lite 001, 1080p for the preview
  (`google/veo-3-1-lite-generate-preview`, a catalog entry of its own for its rule that a last
  frame needs 8 s) and the other Veo 3.1 ids.
- `image_urls` (reference images) is taken by every model id; how many a model takes is the
  catalog's (`reference_images`: 3 for Veo 3.1 and Veo 3.1 Fast, 0 elsewhere, which refuses any),
  and with references Veo 3.1 renders 8 s only, as the reference spec's `duration` enum says.
  An image that cannot be read is named by its index (`image_urls[1]: ...`).
- A field some model's spec defines is honoured for every model id (`aspect_ratio` and `seed` on
  the reference id, `image_url` on t2v ids, ...) wherever the catalog model can render it.
- `resolution` accepts both spellings the specs use (`720P`/`1080P` and `720p`/`1080p`).
- `duration` (default: the model's catalog default, 8 for every Veo model) is a JSON integer (or
  an integral float such as 8.0) or a numeric string (`"8"`), because AI/ML's samples send the
  string; booleans are refused. `generate_audio` must be a JSON boolean (no `"true"`).
- `prompt` is 1..10000 characters (AI/ML gives no limit), `negative_prompt` at most 10000.
- An image that cannot be read (bad base64, GIF, over 20 MB, private address, ...) is a 400.
- POST answers 200 with the same object GET returns. `meta.usage` is set once the generation is
  `completed` (billing on success): `usd_spent` is the catalog's list price and `credits_used`
  is `usd_spent` x 2,000,000, the ratio of AI/ML's own example (120000 credits = $0.06).
- Status words: queued -> `queued`, running -> `generating`, succeeded -> `completed`, failed and
  canceled -> `error` with `error {name, message}`; `video.url` is the first (only) output.
- Errors use AI/ML's body `{message, path, requestId, statusCode, timestamp}`: 400 for any invalid
  request (malformed JSON included), 401 without a bearer key, 403 when the account's balance
  does not cover the generation (AI/ML documents 403 for exhausted credits), 404 for an unknown
  (or another key's) `generation_id`, 429 over the key's rate limit or the account's concurrency
  limit (with `Retry-After`), 500 without details, never a stack trace. `path` is the endpoint's path;
  `message` starts with the offending field (`duration: ...`, `last_image_url: ...`).
- `GET /models` needs no key (the catalog is public, as AI/ML's model list is) and answers the
  OpenAI list shape AI/ML uses, `{"object": "list", "data": [...]}`, one entry per model id the
  create endpoint accepts, each with `type: "video"`, `info` and `features`.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError

from reelforge.api.auth import CallerDep, CreatorDep
from reelforge.api.deps import ServiceDep
from reelforge.api.openapi import error_responses
from reelforge.api.wire import JsonInt, client_fields
from reelforge.core.catalog import Catalog, ModelSpec
from reelforge.core.errors import InsufficientCredits, InvalidRequest, StorageFull
from reelforge.core.job import Job, JobExtras, JobStatus
from reelforge.core.request import (
    MAX_NAME,
    MAX_NEGATIVE_PROMPT,
    SEED_MAX,
    Draft,
    FrameInput,
    FrameKind,
    Orientation,
)
from reelforge.service.media import Media

PREFIX = "/v2/video/generations"
MODELS_PATH = "/models"
CREDITS_PER_USD = 2_000_000
MAX_PROMPT = 10_000

STATUS_WORDS = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "generating",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "error",
    JobStatus.CANCELED: "error",
}


@dataclass(frozen=True)
class AimlModel:
    """An AI/ML model id that is not a catalog name: the catalog model it runs on and its spec's rules."""

    target: str
    default_resolution: str = "1080p"
    needs_image: bool = False
    needs_last_image: bool = False
    needs_references: bool = False


AIML_MODELS = {
    "google/veo-3.1-t2v": AimlModel("VEO3_1"),
    "google/veo-3.1-i2v": AimlModel("VEO3_1", needs_image=True),
    "google/veo-3.1-first-last-image-to-video": AimlModel("VEO3_1", needs_image=True, needs_last_image=True),
    "google/veo-3.1-t2v-fast": AimlModel("VEO3_1FAST"),
    "google/veo-3.1-i2v-fast": AimlModel("VEO3_1FAST", needs_image=True),
    "google/veo-3.1-reference-to-video": AimlModel("VEO3_1", needs_references=True),
}
# catalog names whose AI/ML spec defaults to 1080p (everything else defaults to 720P, Lite 001's default)
DEFAULT_1080P = {
    "veo-3.1-lite-generate-preview",
    "veo-3-1-lite-generate-preview",
    "google/veo-3-1-lite-generate-preview",
}


def _duration(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


Duration = Annotated[Literal[4, 6, 8], BeforeValidator(_duration)]
"""4, 6 or 8, as a JSON number or a numeric string ("8")."""


class AimlCreateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(
        min_length=1, max_length=MAX_NAME, description="An AI/ML model id, or a catalog model id or alias."
    )
    prompt: str = Field(
        min_length=1,
        max_length=MAX_PROMPT,
        description="The text description of the scene, subject, or action to generate in the video.",
    )
    image_url: str | None = Field(
        default=None,
        min_length=1,
        description="The first frame: an http(s) URL, a data URI or base64 image text.",
    )
    last_image_url: str | None = Field(
        default=None,
        min_length=1,
        description="The last frame: an http(s) URL, a data URI or base64 image text; needs `image_url`.",
    )
    image_urls: list[Annotated[str, StringConstraints(min_length=1)]] | None = Field(
        default=None,
        description="Reference images (subjects, style) the video should show: each an http(s) URL, a "
        "data URI or base64 image text; as many as the model takes (3 for Veo 3.1).",
    )
    aspect_ratio: Literal["16:9", "9:16"] | None = Field(
        default=None, description="The aspect ratio of the generated video (default 16:9)."
    )
    resolution: Literal["720P", "720p", "1080P", "1080p"] | None = Field(
        default=None,
        description="The short side of the video in pixels; the default is the model's (720P or 1080p).",
    )
    duration: Duration | None = Field(
        default=None, description="The length of the video in seconds (default: the model's, 8 for Veo)."
    )
    generate_audio: StrictBool | None = Field(
        default=None, description="Whether to generate audio for the video (default true)."
    )
    person_generation: Literal["dont_allow", "allow_adult"] | None = Field(
        default=None, description="Allow generation of people (default allow_adult)."
    )
    negative_prompt: str | None = Field(
        default=None,
        max_length=MAX_NEGATIVE_PROMPT,
        description="The description of elements to avoid in the generated video.",
    )
    seed: JsonInt | None = Field(
        default=None, ge=0, le=SEED_MAX, description="The same seed and request give the same video."
    )
    enhance_prompt: StrictBool | None = Field(default=None, description="Accepted; has no effect.")
    auto_fix: StrictBool | None = Field(default=None, description="Accepted; has no effect.")
    provider: str | None = Field(default=None, max_length=MAX_NAME, description="Accepted; has no effect.")


# canonical field names the core and catalog report -> the AI/ML body's field names
CLIENT_FIELDS = {
    "size": "resolution",
    "width": "resolution",
    "height": "resolution",
    "audio": "generate_audio",
    "start_image": "image_url",
    "end_image": "last_image_url",
    "reference_images": "image_urls",
    "samples": "model",
}


class AimlError(BaseModel):
    """Every error this API answers."""

    message: str = Field(description="What is wrong, starting with the offending field if there is one.")
    path: str = Field(description="The endpoint's path.")
    requestId: str = Field(description="A UUID of this answer.")
    statusCode: int = Field(description="The HTTP status, repeated.")
    timestamp: str = Field(description="When the error happened, ISO 8601 UTC with milliseconds.")


router = APIRouter(tags=["AI/ML API"], responses=error_responses(AimlError, 500))

# the statuses AI/ML answers differently from reelforge's defaults (api/errors.py)
STATUSES = {InsufficientCredits: 403, StorageFull: 503}
NO_CREDITS = {403: {"model": AimlError, "description": "The account's balance does not cover the generation"}}


def render_error_at(path: str):
    def render(status: int, message: str, field: str | None, code: str) -> dict:
        if field and not message.startswith(f"{field}:"):
            message = f"{field}: {message}"  # the body has no field of its own: name it in the text
        return {
            "message": message,
            "path": path,
            "requestId": str(uuid.uuid4()),
            "statusCode": status,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }

    return render


render_error = render_error_at(PREFIX)
render_models_error = render_error_at(MODELS_PATH)


def resolve_model(catalog: Catalog, name: str) -> tuple[ModelSpec, AimlModel]:
    """The catalog model an AI/ML model id runs on, and that id's rules."""
    if name in catalog:
        tier = "1080p" if name in DEFAULT_1080P else "720p"
        return catalog.get(name), AimlModel(name, default_resolution=tier)
    if name in AIML_MODELS and AIML_MODELS[name].target in catalog:
        rules = AIML_MODELS[name]
        return catalog.get(rules.target), rules
    bare = name.removeprefix("google/")
    if bare != name and bare in catalog:
        return resolve_model(catalog, bare)
    raise InvalidRequest(f"model: unknown model {name!r}", "model")


class AimlVideo(BaseModel):
    url: str = Field(description="The URL where the file can be downloaded from.")


class AimlGenerationError(BaseModel):
    name: str = Field(description="A failure code, or `canceled`.")
    message: str


class AimlUsage(BaseModel):
    credits_used: int = Field(description="Credits the generation cost: `usd_spent` x 2,000,000.")
    usd_spent: float = Field(description="The catalog's list price of the generation in USD.")


class AimlMeta(BaseModel):
    usage: AimlUsage


class AimlGeneration(BaseModel):
    """A video generation, as POST and GET answer it."""

    id: str = Field(description="The ID of the generated video.")
    status: Literal["queued", "generating", "completed", "error"] = Field(
        description="The current status of the generation task; a canceled generation is `error`."
    )
    video: AimlVideo | None = Field(description="The video, once the generation is `completed`.")
    error: AimlGenerationError | None = Field(description="Description of the error, if any.")
    meta: AimlMeta | None = Field(description="Billing details, once the generation is `completed`.")


class AimlModelInfo(BaseModel):
    name: str = Field(description="The catalog model the id runs on.")
    developer: str
    description: str
    durations: list[int] = Field(description="The durations the model renders, in seconds.")
    sizes: list[str] = Field(description='The sizes the model renders, "WIDTHxHEIGHT".')
    price_per_second_usd: dict[str, dict[str, float]] = Field(
        description="List price per second of video: `audio` or `silent`, then the resolution tier."
    )


class AimlModelEntry(BaseModel):
    id: str = Field(description="A model id the create endpoint accepts.")
    object: Literal["model"]
    type: Literal["video"]
    created: int = Field(description="Always 0: catalog models have no creation time.")
    owned_by: str
    info: AimlModelInfo
    features: list[
        Literal["text-to-video", "image-to-video", "first-last-frame-to-video", "reference-to-video", "audio"]
    ]
    endpoints: list[str] = Field(description="The paths that accept this model id.")


class AimlModelList(BaseModel):
    object: Literal["list"]
    data: list[AimlModelEntry]


def usage(job: Job) -> dict:
    usd = job.cost_usd
    return {"credits_used": int(usd * CREDITS_PER_USD), "usd_spent": float(usd.normalize())}


def generation(media: Media, job: Job) -> dict:
    """The object POST and GET answer."""
    status = STATUS_WORDS[job.status]
    video = None
    if job.status is JobStatus.SUCCEEDED and job.outputs:
        video = {"url": media.url(job.outputs[0].video_key)}
    error = None
    if job.status is JobStatus.FAILED:
        error = {"name": job.error_code or "generation_failed", "message": job.error_message or "failed"}
    elif job.status is JobStatus.CANCELED:
        error = {"name": "canceled", "message": "the generation was canceled"}
    meta = {"usage": usage(job)} if job.status is JobStatus.SUCCEEDED else None
    return {"id": job.id, "status": status, "video": video, "error": error, "meta": meta}


def _source(value: str | None) -> FrameInput | None:
    return FrameInput(FrameKind.SOURCE, value) if value else None


def to_draft(catalog: Catalog, body: AimlCreateBody) -> Draft:
    """The body as the canonical draft, with the defaults of the AI/ML model id it names."""
    spec, rules = resolve_model(catalog, body.model)
    if rules.needs_image and not body.image_url:
        raise InvalidRequest(f"image_url: is required for {body.model}", "image_url")
    if rules.needs_last_image and not body.last_image_url:
        raise InvalidRequest(f"last_image_url: is required for {body.model}", "last_image_url")
    if rules.needs_references and not body.image_urls:
        raise InvalidRequest(f"image_urls: is required for {body.model}", "image_urls")
    return Draft(
        model=spec.id,
        prompt=body.prompt,
        negative_prompt=body.negative_prompt,
        duration=body.duration,
        resolution=(body.resolution or rules.default_resolution).lower(),
        orientation=Orientation.PORTRAIT if body.aspect_ratio == "9:16" else Orientation.LANDSCAPE,
        audio=True if body.generate_audio is None else body.generate_audio,
        seed=body.seed,
        person_generation=body.person_generation or "allow_adult",
        start=_source(body.image_url),
        end=_source(body.last_image_url),
        reference_images=tuple(
            FrameInput(FrameKind.SOURCE, url, f"image_urls[{index}]")
            for index, url in enumerate(body.image_urls or ())
        ),
    )


@router.post(
    PREFIX,
    response_model=AimlGeneration,
    responses={**error_responses(AimlError, 400, 401, 429), **NO_CREDITS},
)
async def create_generation(body: AimlCreateBody, service: ServiceDep, caller: CreatorDep) -> dict:
    with client_fields(CLIENT_FIELDS):
        draft = to_draft(service.catalog, body)
        extras = JobExtras(dialect="aimlapi", requested_model=body.model)
        job = await service.submit_async(draft, caller.id, extras)
    return generation(service.media, job)


@router.get(PREFIX, response_model=AimlGeneration, responses=error_responses(AimlError, 400, 401, 404, 429))
def get_generation(
    generation_id: Annotated[str, Query(min_length=1)], service: ServiceDep, caller: CallerDep
) -> dict:
    return generation(service.media, service.get(generation_id, caller.id))


def _accepted_names(catalog: Catalog) -> list[tuple[str, ModelSpec]]:
    names: dict[str, ModelSpec] = {}
    for spec in catalog.models:
        for name in (spec.id, *spec.aliases):
            names.setdefault(name, spec)
    for name, rules in AIML_MODELS.items():
        if rules.target in catalog:
            names.setdefault(name, catalog.get(rules.target))
    return sorted(names.items())


def _features(spec: ModelSpec) -> list[str]:
    features = ["text-to-video"]
    if spec.start_frame:
        features.append("image-to-video")
    if spec.end_frame:
        features.append("first-last-frame-to-video")
    if spec.reference_images:
        features.append("reference-to-video")
    if spec.audio:
        features.append("audio")
    return features


def _price(spec: ModelSpec) -> dict:
    return {
        kind: {tier: float(Decimal(str(price))) for tier, price in tiers.items()}
        for kind, tiers in spec.price_per_second.items()
    }


def model_list(catalog: Catalog) -> dict:
    """Every model id the create endpoint accepts, in AI/ML's list shape."""
    return {
        "object": "list",
        "data": [
            {
                "id": name,
                "object": "model",
                "type": "video",
                "created": 0,
                "owned_by": "reelforge",
                "info": {
                    "name": spec.id,
                    "developer": "Google" if "veo" in spec.id.lower() else "reelforge",
                    "description": f"{spec.id} on the {spec.engine} engine",
                    "durations": list(spec.durations),
                    "sizes": list(spec.sizes),
                    "price_per_second_usd": _price(spec),
                },
                "features": _features(spec),
                "endpoints": [PREFIX],
            }
            for name, spec in _accepted_names(catalog)
        ],
    }


@router.get(MODELS_PATH, response_model=AimlModelList)
def list_models(service: ServiceDep) -> dict:
    return model_list(service.catalog)
