"""The OpenAI videos shape's answers and errors: the video object and lists, status words, the
error body, and reelforge's extensions: catalog fields on the model objects and the account
object. Pure functions of a `Job`, a `ModelSpec` or an `AccountView`; decisions are listed in
videos.py and account.py."""

from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)

from reelforge.api.dialects.openai.defaults import default_seconds, default_size
from reelforge.api.dialects.openai.ids import video_id
from reelforge.core.accounts import Caller
from reelforge.core.catalog import ModelSpec, resolution_tier
from reelforge.core.errors import Conflict, InsufficientCredits, InvalidRequest, TooManyRequests, first_error
from reelforge.core.job import Job, JobStatus
from reelforge.core.request import (
    PersonGeneration,
)
from reelforge.service.accounts import AccountView
from reelforge.service.derived import Unsupported

STATUS_WORDS = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "in_progress",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "failed",
}


class NotReady(Conflict):
    code = "video_not_ready"


class AlreadyFinished(Conflict):
    code = "video_already_finished"


class _UnknownParameter(InvalidRequest):
    code = "unknown_parameter"


class OpenAIErrorObject(BaseModel):
    message: str = Field(description="What is wrong, in words.")
    type: Literal["invalid_request_error", "requests", "insufficient_quota", "server_error"] = Field(
        description="`requests` over a rate or concurrency limit, `insufficient_quota` when the balance "
        "does not cover the video, otherwise `invalid_request_error` for 4xx statuses and `server_error` "
        "for 5xx."
    )
    param: str | None = Field(description="The request field at fault, if one is.")
    code: str = Field(
        description="A machine-readable code, e.g. `unknown_parameter`, `unsupported_value`, "
        "`video_not_ready`, `video_already_finished`, `rate_limit_exceeded` or `insufficient_quota`."
    )


class OpenAIError(BaseModel):
    """Every error this API answers."""

    error: OpenAIErrorObject


# the statuses OpenAI answers differently from reelforge's defaults (api/errors.py)
STATUSES = {InsufficientCredits: 429}
# reelforge's error codes OpenAI spells its own way: code -> (type, OpenAI's code)
OWN_ERRORS = {
    TooManyRequests.code: ("requests", "rate_limit_exceeded"),
    InsufficientCredits.code: ("insufficient_quota", "insufficient_quota"),
    Unsupported.code: ("invalid_request_error", "unsupported_value"),
}


def render_error(status: int, message: str, field: str | None, code: str) -> dict:
    kind, code = OWN_ERRORS.get(code, ("server_error" if status >= 500 else "invalid_request_error", code))
    return {"error": {"message": message, "type": kind, "param": field, "code": code}}


def validation_error(exc: ValidationError) -> InvalidRequest:
    """The first pydantic error as an InvalidRequest naming the client's (top-level) field."""
    field, message, kind = first_error(exc, depth=1)
    if kind == "extra_forbidden":
        return _UnknownParameter(f"Unknown parameter: '{field}'.", field)
    return InvalidRequest(f"{field}: {message}" if field else message, field)


class OpenAIVideoError(BaseModel):
    code: str = Field(description="Why the video failed: a failure code, or `canceled`.")
    message: str


class OpenAIVideo(BaseModel):
    """A video job, as `POST /v1/videos`, `GET /v1/videos/{id}` and the list answer it."""

    id: str = Field(
        description="Unique identifier for the video job: `video_` and the job id every other dialect shows."
    )
    object: Literal["video"] = Field(description="The object type, which is always `video`.")
    model: str = Field(description="The catalog model that renders the video.")
    status: Literal["queued", "in_progress", "completed", "failed"] = Field(
        description="Current lifecycle status of the video job; a canceled video is `failed`."
    )
    progress: int = Field(description="Approximate completion percentage, 0..100.")
    created_at: int = Field(description="Unix timestamp (seconds) for when the job was created.")
    completed_at: int | None = Field(
        description="Unix timestamp (seconds) for when the job finished, if it has."
    )
    expires_at: int | None = Field(description="Always null: stored media do not expire.")
    prompt: str = Field(description="The prompt that was used to generate the video.")
    seconds: str = Field(description='Duration of the clip in whole seconds, as a string ("8").')
    size: str = Field(description='The resolution of the video, "WIDTHxHEIGHT".')
    remixed_from_video_id: str | None = Field(description="The video this one is a remix of, if it is one.")
    error: OpenAIVideoError | None = Field(description="Why generation failed or was canceled, if it did.")
    # extensions
    negative_prompt: str | None = Field(description="What the video should not show, if given.")
    seed: int = Field(description="The seed the video renders with (given or drawn).")
    generate_audio: bool = Field(description="Whether the video has an audio track.")
    aspect_ratio: Literal["16:9", "9:16"]
    resolution: str = Field(description='The short side of `size` plus "p", e.g. "720p".')
    person_generation: PersonGeneration
    has_input_reference: bool = Field(description="Whether a first frame (`input_reference`) was given.")
    has_last_frame: bool = Field(description="Whether a last frame (`last_frame`) was given.")


class OpenAIVideoList(BaseModel):
    object: Literal["list"]
    data: list[OpenAIVideo] = Field(description="The page of videos, in the requested order.")
    first_id: str | None = Field(description="The id of the first video of the page; null if it is empty.")
    last_id: str | None = Field(description="The id of the last video of the page (the next `after`).")
    has_more: bool = Field(description="Whether more videos follow the page.")


class OpenAIVideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"]
    deleted: bool


class OpenAIModel(BaseModel):
    """A catalog model under one of its names: OpenAI's four fields, then reelforge's extensions
    (the same for every name of a model)."""

    id: str = Field(description="A model id or alias from the catalog.")
    object: Literal["model"]
    created: int = Field(description="Always 0: catalog models have no creation time.")
    owned_by: str
    # extensions
    aliases: list[str] = Field(
        description="The catalog entry's aliases, the same on each of its names; an object whose `id` is "
        "listed here is an alias."
    )
    durations: list[int] = Field(description="The clip lengths it renders, in seconds.")
    default_duration: int = Field(description="The length of a clip whose request names none, in seconds.")
    sizes: list[str] = Field(description='The sizes it renders, "WIDTHxHEIGHT".')
    default_size: str = Field(description="The size of a video whose request names no size or aspect ratio.")
    audio: bool = Field(description="Whether it can make an audio track.")
    text_to_video: bool = Field(description="Whether a prompt alone will do (false: it needs a start frame).")
    start_frame: bool = Field(description="Whether it takes a start frame (`input_reference`).")
    end_frame: bool = Field(description="Whether it takes an end frame (`last_frame`).")
    max_samples: int = Field(description="The most videos one request may ask for.")
    reference_images: int = Field(description="How many reference images it takes (0: none).")
    durations_with: dict[Literal["end_frame", "reference_images"], list[int]] = Field(
        description="The durations a request using that input may have, where fewer than `durations`."
    )
    price_per_second: dict[Literal["audio", "silent"], dict[str, float]] = Field(
        description='List price in USD per second of video, with and without audio, by resolution ("720p").'
    )
    available: bool = Field(description="False: the server ships it without weights and refuses its videos.")
    unavailable_reason: str | None = Field(description="Why it is unavailable, if it is.")


class OpenAIModelList(BaseModel):
    object: Literal["list"]
    data: list[OpenAIModel]


def _unix(value) -> int | None:
    return int(value.timestamp()) if value else None


def video_object(job: Job) -> dict:
    req = job.request
    error = None
    if job.status is JobStatus.FAILED:
        error = {"code": job.error_code or "generation_failed", "message": job.error_message or "failed"}
    elif job.status is JobStatus.CANCELED:
        error = {"code": "canceled", "message": "the video was canceled before it was finished"}
    return {
        "id": video_id(job.id),
        "object": "video",
        "model": req.model,
        "status": STATUS_WORDS[job.status],
        "progress": 100 if job.status is JobStatus.SUCCEEDED else job.progress,
        "created_at": _unix(job.created_at),
        "completed_at": _unix(job.finished_at) if job.status.is_terminal else None,
        "expires_at": None,
        "prompt": req.prompt,
        "seconds": str(req.duration),
        "size": f"{req.width}x{req.height}",
        "remixed_from_video_id": video_id(job.extras.remixed_from) if job.extras.remixed_from else None,
        "error": error,
        # extensions
        "negative_prompt": req.negative_prompt,
        "seed": job.seed,
        "generate_audio": req.audio,
        "aspect_ratio": "9:16" if req.height > req.width else "16:9",
        "resolution": resolution_tier(req.width, req.height),
        "person_generation": req.person_generation,
        "has_input_reference": req.start_image is not None,
        "has_last_frame": req.end_image is not None,
    }


def video_list(jobs: list[Job], limit: int) -> dict:
    """One page of videos; `jobs` holds up to one more than `limit`, to tell whether more follow."""
    data = [video_object(job) for job in jobs[:limit]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(jobs) > limit,
    }


def model_object(name: str, spec: ModelSpec) -> dict:
    """The model `spec` under the name `name` (its id or an alias); `engine`, `engine_options`
    (weights paths, upstreams) and `fallback` stay the operator's."""
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "reelforge",
        "aliases": list(spec.aliases),
        "durations": list(spec.durations),
        "default_duration": default_seconds(spec),
        "sizes": list(spec.sizes),
        "default_size": default_size(spec),
        "audio": spec.audio,
        "text_to_video": spec.text_to_video,
        "start_frame": spec.start_frame,
        "end_frame": spec.end_frame,
        "max_samples": spec.max_samples,
        "reference_images": spec.reference_images,
        "durations_with": {kind: list(durations) for kind, durations in spec.durations_with.items()},
        "price_per_second": spec.price_per_second,
        "available": spec.available,
        "unavailable_reason": spec.unavailable_reason,
    }


class OpenAIAccountJobs(BaseModel):
    queued: int = Field(description="The account's videos waiting for a worker.")
    running: int = Field(description="The account's videos rendering now.")


class OpenAIAccountKey(BaseModel):
    prefix: str = Field(description="The first characters of the key in use, for recognising it.")
    name: str = Field(description="Who or what the key was issued for.")
    admin: bool = Field(description="Whether the key may call the admin API.")


class OpenAIAccount(BaseModel):
    """The calling key's account, as `GET /v1/account` answers it."""

    object: Literal["account"]
    id: str = Field(description="The account id, the owner of its videos and uploads.")
    name: str
    balance_usd: str | None = Field(
        description='Credits left in USD, a decimal string with 4 places ("12.3400"); null: unlimited.'
    )
    concurrency: int | None = Field(description="Videos queued or running at once; null: unlimited.")
    rpm: int = Field(description="Creates per minute this key may make: its own limit or the server's.")
    read_rpm: int = Field(description="Other requests per minute this key may make.")
    jobs: OpenAIAccountJobs
    key: OpenAIAccountKey = Field(description="The key this request came with.")


def account_object(view: AccountView, caller: Caller, rpm: int, read_rpm: int) -> dict:
    """The caller's account `view` with its key's limits: `rpm` creates and `read_rpm` reads a minute."""
    return {
        "object": "account",
        "id": view.id,
        "name": view.name,
        "balance_usd": None if view.balance_usd is None else f"{view.balance_usd:.4f}",
        "concurrency": view.concurrency,
        "rpm": rpm,
        "read_rpm": read_rpm,
        "jobs": {"queued": view.queued, "running": view.running},
        "key": {"prefix": caller.prefix, "name": caller.name, "admin": caller.admin},
    }
