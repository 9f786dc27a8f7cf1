"""The OpenAI videos shape's answers and errors: the video object and lists, status words, and
the error body. Pure functions of a `Job`; decisions are listed in videos.py."""

from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)

from reelforge.core.catalog import resolution_tier
from reelforge.core.errors import Conflict, InsufficientCredits, InvalidRequest, TooManyRequests, first_error
from reelforge.core.job import Job, JobStatus
from reelforge.core.request import (
    PersonGeneration,
)

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
        description="A machine-readable code, e.g. `unknown_parameter`, `video_not_ready`, "
        "`video_already_finished`, `rate_limit_exceeded` or `insufficient_quota`."
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

    id: str = Field(description="Unique identifier for the video job; the same id every dialect shows.")
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
    remixed_from_video_id: str | None = Field(description="Always null: remixing is not offered.")
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
    id: str = Field(description="A model id or alias from the catalog.")
    object: Literal["model"]
    created: int = Field(description="Always 0: catalog models have no creation time.")
    owned_by: str


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
        "id": job.id,
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
        "remixed_from_video_id": None,
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


def model_object(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "reelforge"}
