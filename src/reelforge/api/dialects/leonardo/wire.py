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
- `cost` is reported in DOLLARS from the catalog's list price; `apiCreditCost` (deprecated, in
  Leonardo's integer API credits, which reelforge does not have) is null. The generation object
  has no field for a cost, so `GET /generations/{id}` reports none.
- Ids are version-4 UUIDs, as Leonardo's schemas require: a generated image's id is the job's id
  (a uuid4) XOR a fixed mask per sample that leaves the version and variant bits alone, so it
  decodes back to (job, sample); `/me`'s user id is derived from the caller's id. `modelId` (a
  model UUID at Leonardo) is null: the model's name travels in `motionModel`. Timestamps have
  milliseconds: `2024-05-01T10:11:22.707Z`.
- Frames may reference uploaded init images (`UPLOADED` / `INIT`) or, as `GENERATED`,
  `GENERATION` or `VARIATION`, one of the caller's `generated_images[].id`: a start frame is that
  video's last frame (the new clip continues where it ended), an end frame its first frame.
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

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelforge.api.openapi import error_responses
from reelforge.core.errors import InvalidRequest, NotFound, StorageFull
from reelforge.core.job import Job, JobStatus
from reelforge.core.request import FrameInput, FrameKind, OutputFrame
from reelforge.service.media import Media

V1 = "/api/rest/v1"
V2 = "/api/rest/v2"
MAX_PROMPT = 9999  # characters, Leonardo's documented limits (v1 and v2)
MAX_NEGATIVE_PROMPT = 1000

UPLOADED_TYPES = {"UPLOADED", "INIT"}
SAMPLES = 4  # the most outputs a job has (GenerationRequest.samples)
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


# ids and times ---------------------------------------------------------------------------------

# XOR-ing these into a UUID keeps its version nibble and variant bits: they are zero in the masks
_KEEP_VERSION = int.from_bytes(bytes([0xFF] * 6 + [0x0F, 0xFF, 0x3F] + [0xFF] * 7))


def _uuid4_bits(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16]) & _KEEP_VERSION


_SAMPLE_MASKS = [_uuid4_bits(f"reelforge leonardo generated image {i}") for i in range(SAMPLES)]


def _xor(value: uuid.UUID, mask: int) -> uuid.UUID:
    return uuid.UUID(int=value.int ^ mask)


def output_id(job: Job, index: int) -> str:
    """A generated image's id: a v4 UUID when the job's id is one, and reversible (`outputs_of`)."""
    return str(_xor(uuid.UUID(job.id), _SAMPLE_MASKS[index]))


def outputs_of(image_id: str) -> list[OutputFrame]:
    """The (job, sample) pairs a generated image id may stand for, one per sample."""
    try:
        value = uuid.UUID(image_id)
    except ValueError:
        return []
    return [OutputFrame(str(_xor(value, mask)), sample) for sample, mask in enumerate(_SAMPLE_MASKS)]


def user_id(owner: str) -> str:
    """`/me`'s user id: a v4 UUID derived from the caller's id, the same on every call."""
    return str(uuid.UUID(int=_uuid4_bits(f"reelforge leonardo user {owner}"), version=4))


def timestamp(value: datetime) -> str:
    """Leonardo's timestamp: ISO 8601 UTC with milliseconds, `2024-05-01T10:11:22.707Z`."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# answers ---------------------------------------------------------------------------------------


class LeonardoCost(WireModel):
    amount: str = Field(description='The list price of the generation, a decimal string ("0.4000").')
    unit: Literal["DOLLARS"] = Field(description="Always DOLLARS.")


def cost(job: Job) -> LeonardoCost:
    return LeonardoCost(amount=str(job.cost_usd), unit="DOLLARS")


class LeonardoGeneratedImage(WireModel):
    """One rendered video of a generation (Leonardo calls every output an image)."""

    id: str = Field(
        description="The output's id (a v4 UUID derived from the generation id and its index); usable "
        "as a `GENERATED` frame."
    )
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
    createdAt: str = Field(description="When the generation was created: `2024-05-01T10:11:22.707Z`.")
    status: StatusWord = Field(
        description="PENDING while queued or rendering, COMPLETE when done, FAILED when it failed "
        "or was canceled."
    )
    prompt: str
    negativePrompt: str | None
    imageHeight: int = Field(description="The video's height in pixels.")
    imageWidth: int = Field(description="The video's width in pixels.")
    modelId: None = Field(description="Always null (a model UUID at Leonardo): the model is `motionModel`.")
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
        createdAt=timestamp(job.created_at),
        status=STATUS_WORDS[job.status],
        prompt=req.prompt,
        negativePrompt=req.negative_prompt,
        imageHeight=req.height,
        imageWidth=req.width,
        modelId=None,
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


Owns = Callable[[str], bool]
"""Whether a generation id is one of the caller's (the route asks the service)."""


def owned_by(service, owner: str) -> Owns:
    """Whether a generation id is one of `owner`'s, as the service knows it."""

    def owns(job_id: str) -> bool:
        try:
            service.get(job_id, owner)
        except NotFound:
            return False
        return True

    return owns


def image_ref(image_id: str, image_type: str, field: str, owns: Owns, end: bool = False) -> FrameInput:
    """A frame given as `{id, type}`: one of the caller's uploaded init images, or of its generated
    images: the last frame of that video as a start frame, its first frame as an end frame."""
    if image_type in UPLOADED_TYPES:
        return FrameInput(FrameKind.UPLOAD, image_id)
    for output in outputs_of(image_id):
        if owns(output.job_id):
            frame = OutputFrame(output.job_id, output.sample, "first" if end else "last")
            return FrameInput(FrameKind.OUTPUT, frame, field)
    raise InvalidRequest(f"{field}: generated image {image_id} not found", field)


def tier(resolution: str | None) -> str | None:
    """`RESOLUTION_720` -> `720p`."""
    return RESOLUTION_TIERS.get(resolution) if resolution else None
