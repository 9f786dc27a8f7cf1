"""What Leonardo's v1 and v2 APIs share: the error body, cost, status words, the generation object
and how an image reference (`{id, type}`) becomes an input frame.

The response models here and in v1/v2/svd are the wire objects exactly as reelforge sends them:
every key is always present (a null stays a null), and they say nothing they do not send. Every
route documents 401 (no API key), 429 (rate limits) and 500; routes with a body or query
parameters also 400; routes that create a generation also 402. None answers 404: an unknown id
reads as a null object (v1).

Decisions where Leonardo documents nothing [open]:
- Errors carry the documented ApiError fields (`message`, `path`, `locations`, `extensions.code`)
  plus `error` (the same text), which is what Leonardo's live API puts first.
- A create the account's balance does not cover is refused with 402 Payment Required,
  `extensions.code` `insufficient_credits` (Leonardo documents no status for it). Over the key's
  rate limit or the account's concurrency slots: 429 `rate_limited` with `Retry-After` (Leonardo
  documents neither status). Uploading an init image counts as a create.
- `/me` reports the account's concurrency limit as `apiConcurrencySlots` and its balance in
  `apiBalance` (an extension, in DOLLARS like `cost`; Leonardo's token fields stay null or 0). An
  account without a concurrency limit, and every caller in open mode, reports the server's
  embedded workers (at least 1); without credits (unlimited, or open mode) `apiBalance` is null.
- `cost` is reported in DOLLARS from the catalog's list price; `apiCreditCost` is null.
- Frames may reference uploaded init images (`UPLOADED` / `INIT`). Generated images do not exist
  in reelforge, so `GENERATED`, `GENERATION` and `VARIATION` references are refused with 400.
- Canceled jobs read as `FAILED`, the only terminal failure word Leonardo has; a generation
  carries no failure reason (Leonardo's object has no field for one).
- Types are JSON types, as Leonardo's docs give them (integer, boolean) and as its GraphQL-backed
  API coerces them: a number or boolean sent as a string (`"8"`, `"false"`), or a boolean where
  an integer belongs, is refused with 400 rather than silently coerced. An integral float (`8.0`)
  is the same JSON number as `8` and is accepted.
- `path` names the field of the client's own request (`["parameters", "duration"]` in v2,
  `["duration"]` in v1), also for the checks the catalog makes with canonical names; a size
  that is not allowed points at the width (`["width"]`, `["parameters", "width"]`).
"""

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelforge.api.openapi import error_responses
from reelforge.api.wire import iso_z
from reelforge.core.errors import InvalidRequest, StorageFull
from reelforge.core.job import Job, JobStatus
from reelforge.core.request import FrameInput, FrameKind
from reelforge.service.media import Media

V1 = "/api/rest/v1"
V2 = "/api/rest/v2"
MAX_PROMPT = 9999  # characters, Leonardo's documented limits (v1 and v2)
MAX_NEGATIVE_PROMPT = 1000

UPLOADED_TYPES = {"UPLOADED", "INIT"}
# Leonardo answers no 507: a full disk is a 503 to come back later (with Retry-After)
STATUSES = {StorageFull: 503}
RESOLUTION_TIERS = {"RESOLUTION_480": "480p", "RESOLUTION_720": "720p", "RESOLUTION_1080": "1080p"}
StatusWord = Literal["PENDING", "COMPLETE", "FAILED"]
STATUS_WORDS: dict[JobStatus, StatusWord] = {
    JobStatus.QUEUED: "PENDING",
    JobStatus.RUNNING: "PENDING",
    JobStatus.SUCCEEDED: "COMPLETE",
    JobStatus.FAILED: "FAILED",
    JobStatus.CANCELED: "FAILED",
}

Empty = Annotated[list[Any], Field(max_length=0)]
"""A list Leonardo's object has and reelforge always sends empty."""


class WireModel(BaseModel):
    """A Leonardo response object: built field by field, so a misspelt key fails loudly."""

    model_config = ConfigDict(extra="forbid")


# errors ----------------------------------------------------------------------------------------


class LeonardoErrorExtensions(WireModel):
    code: str = Field(description="A machine-readable code: `invalid_request`, `unauthorized`, ...")
    status: int = Field(description="The HTTP status of the answer.")


class LeonardoError(WireModel):
    """Every error a Leonardo route answers: Leonardo's ApiError plus `error`."""

    error: str = Field(description="The same text as `message`, which Leonardo's live API puts first.")
    message: str = Field(description="What is wrong, in words.")
    path: list[str] = Field(
        description='Where in the request body or query the error is, e.g. `["parameters", "duration"]`; '
        "empty when it is about no one field."
    )
    locations: Empty = Field(description="GraphQL source locations: always empty.")
    extensions: LeonardoErrorExtensions


def render_error(status: int, message: str, field: str | None, code: str) -> dict:
    return LeonardoError(
        error=message,
        message=message,
        path=field.split(".") if field else [],
        locations=[],
        extensions=LeonardoErrorExtensions(code=code, status=status),
    ).model_dump()


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a Leonardo route: these error statuses, each with Leonardo's error body."""
    return error_responses(LeonardoError, *statuses)


# answers ---------------------------------------------------------------------------------------


class LeonardoCost(WireModel):
    amount: str = Field(description='The list price of the generation, a decimal string ("0.4000").')
    unit: Literal["DOLLARS"] = Field(description="Always DOLLARS.")


def cost(job: Job) -> LeonardoCost:
    return LeonardoCost(amount=str(job.cost_usd), unit="DOLLARS")


class LeonardoGeneratedImage(WireModel):
    """One rendered video of a generation (Leonardo calls every output an image)."""

    id: str = Field(description="The output's id, derived from the generation id and its index.")
    url: str = Field(description="The URL of the video's poster image (JPEG).")
    nsfw: bool = Field(description="Always false.")
    likeCount: int = Field(description="Always 0.")
    motion: bool = Field(description="Always true: every output is a video.")
    motionModel: str = Field(description="The model that rendered the video.")
    motionMP4URL: str = Field(description="The URL of the MP4 video.")
    motionStrength: int | None = Field(description="The SVD motion strength (1..10); null for other models.")
    imageToVideo: bool = Field(description="Whether the generation started from an image.")
    generated_image_variation_generics: Empty = Field(description="Always empty: there are no variations.")


class LeonardoGeneration(WireModel):
    """A generation, as `GET /generations/{id}` and the user's generation list answer it."""

    id: str
    createdAt: str = Field(description="When the generation was created, ISO 8601 UTC ending in `Z`.")
    status: StatusWord = Field(
        description="PENDING while queued or rendering, COMPLETE when done, FAILED when it failed "
        "or was canceled."
    )
    prompt: str
    negativePrompt: str | None
    imageHeight: int = Field(description="The video's height in pixels.")
    imageWidth: int = Field(description="The video's width in pixels.")
    modelId: str = Field(description="The model that renders the generation.")
    public: bool
    seed: int = Field(description="The seed the generation renders with (given or drawn).")
    inferenceSteps: int | None = Field(description="Always null.")
    guidanceScale: float | None = Field(description="Always null.")
    photoReal: bool = Field(description="Always false.")
    promptMagic: bool = Field(description="Always false.")
    generated_images: list[LeonardoGeneratedImage] = Field(
        description="The rendered videos; empty until the generation is COMPLETE."
    )
    generation_elements: Empty = Field(description="Always empty: elements (LoRAs) are not applied.")


def output_id(job: Job, index: int) -> str:
    return str(uuid.uuid5(uuid.UUID(job.id), str(index)))


def generation(media: Media, job: Job) -> LeonardoGeneration:
    """The generation object of `GET /generations/{id}` and `GET /generations/user/{id}`."""
    req = job.request
    images = [
        LeonardoGeneratedImage(
            id=output_id(job, out.index),
            url=media.url(out.poster_key),
            nsfw=False,
            likeCount=0,
            motion=True,
            motionModel=req.model,
            motionMP4URL=media.url(out.video_key),
            motionStrength=job.extras.motion_strength,
            imageToVideo=req.start_image is not None,
            generated_image_variation_generics=[],
        )
        for out in job.outputs
    ]
    return LeonardoGeneration(
        id=job.id,
        createdAt=iso_z(job.created_at),
        status=STATUS_WORDS[job.status],
        prompt=req.prompt,
        negativePrompt=req.negative_prompt,
        imageHeight=req.height,
        imageWidth=req.width,
        modelId=req.model,
        public=job.extras.public,
        seed=job.seed,
        inferenceSteps=None,
        guidanceScale=None,
        photoReal=False,
        promptMagic=False,
        generated_images=images,
        generation_elements=[],
    )


# requests --------------------------------------------------------------------------------------


def image_ref(image_id: str, image_type: str, field: str) -> FrameInput:
    """A frame given as `{id, type}`: one of the caller's uploaded init images."""
    if image_type not in UPLOADED_TYPES:
        raise InvalidRequest(
            f"{field}: only uploaded init images can be used as frames here (type UPLOADED)", field
        )
    return FrameInput(FrameKind.UPLOAD, image_id)


def tier(resolution: str | None) -> str | None:
    """`RESOLUTION_720` -> `720p`."""
    return RESOLUTION_TIERS.get(resolution) if resolution else None
