"""HighwayAPI (seed 004), a Novita-style async task API for Veo 3.1 Lite, under `/v3/async`:
`POST /veo-3.1-lite-i2v`, `/veo-3.1-lite-t2v`, `/veo-3.1-lite-firstlastframe` answer
`{"task_id"}`; `GET /task-result?task_id=` answers the Novita task object.

Request fields, as documented: `prompt` (required), `image` (i2v and first-last: required; an
http(s) URL or base64, also a data URI; JPEG/PNG, WebP too, <= 20 MB; see media/fetch.py),
`last_frame_image` (first-last: required), `seed` 0..4294967295, `duration` 4|6|8 (default 8),
`resolution` 720p|1080p (default 720p), `aspect_ratio` 16:9|9:16 (default 16:9), `sample_count`
1..4 (default 1; that many videos, each with its own seed derived from the task's), `generate_audio`
(default **false** here), `negative_prompt`, `person_generation` allow_adult|dont_allow (default
allow_adult); t2v adds `enhance_prompt` (accepted, no effect) and limits `prompt` to 2048 chars.
Fields of another route (`image` on t2v, `last_frame_image` on i2v, `enhance_prompt` on i2v and
first-last) and unknown fields are accepted and ignored.
No cost is reported: neither HighwayAPI's documents nor Novita's task object define a cost field.

Decisions where HighwayAPI / Novita document nothing [open]:
- Types are JSON types, as a Go backend decodes them: `"8"` for an integer or `"false"` for a
  boolean is a 400, not coerced (an integral float such as 8.0 is the same JSON number as 8).
  Enum values are case-sensitive (`720P` is refused here, unlike AI/ML API).
- i2v and first-last prompts are limited to 10000 characters, `negative_prompt` to 10000 (no
  limit is documented).
- The task object follows Novita's `GET /v3/async/task-result`: `task {task_id, task_type,
  status, reason, eta, progress_percent}`, `videos [{video_url, video_url_ttl, video_type: "mp4"}]`,
  `images: []`, `audios: []`, `extra {seed, debug_info}`. Fields Novita's protobuf JSON renders
  from 64-bit integers are strings (`video_url_ttl`, `extra.seed`, `debug_info.*_ms`); `eta` and
  `progress_percent` are numbers. `task_type` is `VEO_3_1_LITE_I2V|T2V|FIRSTLASTFRAME`.
- Status words: queued -> TASK_STATUS_QUEUED, running -> TASK_STATUS_PROCESSING, succeeded ->
  TASK_STATUS_SUCCEED, failed and canceled -> TASK_STATUS_FAILED with the cause in `reason`.
  `progress_percent` is 100 on success; `eta` is seconds left, estimated from progress so far.
- `video_url_ttl` is the lifetime in seconds of the signed URLs handed out (presigned bucket URLs
  or reelforge's own signed media URLs; Settings.media_url_ttl). `extra.seed` is the task's seed
  (sample i renders with a seed derived from it).
- Errors use Novita's body `{"code", "reason", "message", "metadata"}` with `code` = the HTTP
  status: 400 INVALID_REQUEST_BODY (any invalid request, malformed JSON included; `metadata.field`
  names the field), 401 INVALID_API_KEY (no bearer key), 403 NOT_ENOUGH_BALANCE when the
  account's balance does not cover the task (Novita answers an insufficient balance with 403 and
  that reason), 404 TASK_NOT_FOUND for an unknown (or another key's) task id, NOT_FOUND for an
  unknown route, 405 METHOD_NOT_ALLOWED for a wrong method, 429 RATE_LIMIT_EXCEEDED over the
  key's rate limit or the account's concurrency limit (with `Retry-After`), 500
  INTERNAL_SERVER_ERROR without a stack trace.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from reelforge.api.auth import CallerDep, CreatorDep
from reelforge.api.deps import ServiceDep
from reelforge.api.openapi import error_responses
from reelforge.api.wire import JsonInt, client_fields
from reelforge.core.clock import now
from reelforge.core.errors import InsufficientCredits, NotFound, StorageFull
from reelforge.core.job import Job, JobExtras, JobStatus
from reelforge.core.request import (
    MAX_NEGATIVE_PROMPT,
    SEED_MAX,
    Draft,
    FrameInput,
    FrameKind,
    Orientation,
)
from reelforge.service.media import Media

PREFIX = "/v3/async"
MODEL = "veo-3.1-lite"
MAX_T2V_PROMPT = 2048
MAX_PROMPT = 10_000

STATUS_WORDS = {
    JobStatus.QUEUED: "TASK_STATUS_QUEUED",
    JobStatus.RUNNING: "TASK_STATUS_PROCESSING",
    JobStatus.SUCCEEDED: "TASK_STATUS_SUCCEED",
    JobStatus.FAILED: "TASK_STATUS_FAILED",
    JobStatus.CANCELED: "TASK_STATUS_FAILED",
}
REASONS = {
    400: "INVALID_REQUEST_BODY",
    401: "INVALID_API_KEY",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "REQUEST_TOO_LARGE",
    429: "RATE_LIMIT_EXCEEDED",
    503: "SERVICE_UNAVAILABLE",
}


class TaskNotFound(NotFound):
    code = "task_not_found"


# reasons that depend on the error, not only on its status
CODE_REASONS = {TaskNotFound.code: "TASK_NOT_FOUND", InsufficientCredits.code: "NOT_ENOUGH_BALANCE"}
# the statuses Novita answers differently from reelforge's defaults (api/errors.py)
STATUSES = {InsufficientCredits: 403, StorageFull: 503}


class HighwayErrorMetadata(BaseModel):
    field: str | None = Field(default=None, description="The request field at fault; absent if none is.")


class HighwayError(BaseModel):
    """Every error this API answers (Novita's error body)."""

    code: int = Field(description="The HTTP status, repeated.")
    reason: str = Field(description="A machine-readable reason, e.g. INVALID_REQUEST_BODY or TASK_NOT_FOUND.")
    message: str
    metadata: HighwayErrorMetadata


router = APIRouter(
    prefix=PREFIX, tags=["HighwayAPI"], responses=error_responses(HighwayError, 400, 401, 429, 500)
)


def render_error(status: int, message: str, field: str | None, code: str) -> dict:
    reason = CODE_REASONS.get(code) or REASONS.get(status)
    if reason is None:
        reason = "INTERNAL_SERVER_ERROR" if status >= 500 else "ERROR"
    return {
        "code": status,
        "reason": reason,
        "message": message,
        "metadata": {"field": field} if field else {},
    }


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    seed: JsonInt | None = Field(default=None, ge=0, le=SEED_MAX)
    duration: Literal[4, 6, 8] = 8
    resolution: Literal["720p", "1080p"] = "720p"
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"
    sample_count: JsonInt = Field(default=1, ge=1, le=4)
    generate_audio: StrictBool = False
    negative_prompt: str | None = Field(default=None, max_length=MAX_NEGATIVE_PROMPT)
    person_generation: Literal["allow_adult", "dont_allow"] = "allow_adult"


class HighwayTextToVideoBody(_Body):
    prompt: str = Field(min_length=1, max_length=MAX_T2V_PROMPT)
    enhance_prompt: StrictBool | None = None


class HighwayImageToVideoBody(_Body):
    image: str = Field(min_length=1)


class HighwayFirstLastFrameBody(HighwayImageToVideoBody):
    last_frame_image: str = Field(min_length=1)


# canonical field names the core and catalog report -> HighwayAPI's field names
CLIENT_FIELDS = {
    "size": "resolution",
    "width": "resolution",
    "height": "resolution",
    "audio": "generate_audio",
    "samples": "sample_count",
    "start_image": "image",
    "end_image": "last_frame_image",
}


def to_draft(body: _Body, image: str | None = None, last: str | None = None) -> Draft:
    return Draft(
        model=MODEL,
        prompt=body.prompt,
        negative_prompt=body.negative_prompt,
        duration=body.duration,
        resolution=body.resolution,
        orientation=Orientation.PORTRAIT if body.aspect_ratio == "9:16" else Orientation.LANDSCAPE,
        audio=body.generate_audio,
        seed=body.seed,
        samples=body.sample_count,
        person_generation=body.person_generation,
        start=FrameInput(FrameKind.SOURCE, image) if image else None,
        end=FrameInput(FrameKind.SOURCE, last) if last else None,
    )


class HighwayTaskSubmitted(BaseModel):
    task_id: str = Field(description="The task's id, for `GET /v3/async/task-result?task_id=`.")


async def _submit(service, caller, draft: Draft, task_type: str) -> dict:
    with client_fields(CLIENT_FIELDS):
        job = await service.submit_async(draft, caller.id, JobExtras(dialect="highway", task_type=task_type))
    return {"task_id": job.id}


CREATE = {
    "response_model": HighwayTaskSubmitted,
    "responses": {
        403: {"model": HighwayError, "description": "NOT_ENOUGH_BALANCE: the balance does not cover the task"}
    },
}


@router.post("/veo-3.1-lite-t2v", **CREATE)
async def text_to_video(body: HighwayTextToVideoBody, service: ServiceDep, caller: CreatorDep) -> dict:
    return await _submit(service, caller, to_draft(body), "VEO_3_1_LITE_T2V")


@router.post("/veo-3.1-lite-i2v", **CREATE)
async def image_to_video(body: HighwayImageToVideoBody, service: ServiceDep, caller: CreatorDep) -> dict:
    return await _submit(service, caller, to_draft(body, body.image), "VEO_3_1_LITE_I2V")


@router.post("/veo-3.1-lite-firstlastframe", **CREATE)
async def first_last_frame(body: HighwayFirstLastFrameBody, service: ServiceDep, caller: CreatorDep) -> dict:
    draft = to_draft(body, body.image, body.last_frame_image)
    return await _submit(service, caller, draft, "VEO_3_1_LITE_FIRSTLASTFRAME")


class HighwayTask(BaseModel):
    task_id: str
    task_type: str = Field(
        description="VEO_3_1_LITE_I2V, _T2V or _FIRSTLASTFRAME; VEO_3_1_LITE for a job another API created."
    )
    status: Literal[
        "TASK_STATUS_QUEUED", "TASK_STATUS_PROCESSING", "TASK_STATUS_SUCCEED", "TASK_STATUS_FAILED"
    ]
    reason: str = Field(description="Why the task failed or was canceled; empty otherwise.")
    eta: int = Field(description="Seconds left, estimated from the progress so far; 0 unless processing.")
    progress_percent: int = Field(description="0..100 while processing, 100 once succeeded, 0 otherwise.")


class HighwayVideo(BaseModel):
    video_url: str = Field(description="Where to download the MP4.")
    video_url_ttl: str = Field(
        description="How long `video_url` works, in seconds (a 64-bit integer as a string)."
    )
    video_type: Literal["mp4"]


class HighwayDebugInfo(BaseModel):
    request_info: str = Field(description="Always empty.")
    submit_time_ms: str = Field(description="Unix time in milliseconds the task was submitted, as a string.")
    execute_time_ms: str = Field(
        description='Unix time in milliseconds the task started running; "0" before.'
    )
    complete_time_ms: str = Field(description='Unix time in milliseconds the task finished; "0" before.')


class HighwayExtra(BaseModel):
    seed: str = Field(
        description="The task's seed, as a string; sample i renders with a seed derived from it."
    )
    debug_info: HighwayDebugInfo


class HighwayTaskResult(BaseModel):
    """A task, as `GET /v3/async/task-result` answers it (Novita's task object)."""

    task: HighwayTask
    images: list[dict[str, Any]] = Field(max_length=0, description="Always empty: tasks render videos.")
    videos: list[HighwayVideo] = Field(description="One per sample, once the task succeeded; empty before.")
    audios: list[dict[str, Any]] = Field(max_length=0, description="Always empty: audio is in the video.")
    extra: HighwayExtra


def _ms(value: datetime | None) -> str:
    return str(int(value.timestamp() * 1000)) if value else "0"


def _eta(job: Job, at: datetime) -> int:
    """Seconds left, estimated from the progress made since the run started."""
    if job.status is not JobStatus.RUNNING or not job.started_at or job.progress <= 0:
        return 0
    elapsed = (at - job.started_at).total_seconds()
    return max(0, round(elapsed * (100 - job.progress) / job.progress))


def _reason(job: Job) -> str:
    if job.status is JobStatus.FAILED:
        return job.error_message or "generation failed"
    if job.status is JobStatus.CANCELED:
        return "task was canceled"
    return ""


def task_result(media: Media, job: Job, at: datetime) -> dict:
    """The task object at time `at`."""
    done = job.status is JobStatus.SUCCEEDED
    ttl = str(media.url_ttl)
    videos = [
        {"video_url": media.url(out.video_key), "video_url_ttl": ttl, "video_type": "mp4"}
        for out in sorted(job.outputs, key=lambda o: o.index)
    ]
    return {
        "task": {
            "task_id": job.id,
            "task_type": job.extras.task_type or "VEO_3_1_LITE",
            "status": STATUS_WORDS[job.status],
            "reason": _reason(job),
            "eta": _eta(job, at),
            "progress_percent": 100 if done else (job.progress if job.status is JobStatus.RUNNING else 0),
        },
        "images": [],
        "videos": videos if done else [],
        "audios": [],
        "extra": {
            "seed": str(job.seed),
            "debug_info": {
                "request_info": "",
                "submit_time_ms": _ms(job.created_at),
                "execute_time_ms": _ms(job.started_at),
                "complete_time_ms": _ms(job.finished_at),
            },
        },
    }


@router.get("/task-result", response_model=HighwayTaskResult, responses=error_responses(HighwayError, 404))
def get_task_result(
    task_id: Annotated[str, Query(min_length=1)], service: ServiceDep, caller: CallerDep
) -> dict:
    try:
        job = service.get(task_id, caller.id)
    except NotFound:
        raise TaskNotFound(f"task {task_id} not found") from None
    return task_result(service.media, job, now())
