"""The OpenAI Videos API shape, reelforge's native API: `/v1/videos` and `/v1/models`.

Routes: `POST /v1/videos` (JSON, multipart/form-data or a urlencoded form), `GET /v1/videos/{id}`,
`GET /v1/videos?after&limit&order`, `POST /v1/videos/{id}/cancel`, `DELETE /v1/videos/{id}`,
`GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`, `GET /v1/models[/{id}]`;
remix, extensions and edits are in derived.py, ids in ids.py, defaults in defaults.py.
The `openai` SDK's `videos.create_and_poll` + `download_content` work unchanged against it.

Fields as OpenAI documents them: `prompt` (required), `model`, `seconds` (a string, "4"; a JSON
integer is accepted too), `size` ("1280x720"), `input_reference` (the first frame). Extension
fields for what Veo has and Sora lacks: `negative_prompt`, `seed` (0..4294967295),
`generate_audio` (alias `audio`; contradicting values are refused), `last_frame` (the end frame;
needs a first frame), `aspect_ratio` ("16:9" | "9:16"), `resolution` ("720p" | "1080p"),
`person_generation` ("allow_adult" | "dont_allow" | "allow_all").

Decisions where OpenAI documents nothing or Veo differs [open]:
- Model ids are the catalog's (ids and aliases, listed by `GET /v1/models`); `sora-2` is not one
  and is refused with 400. Without `model` the catalog's first model is used (veo-3.1-lite).
  A model object keeps OpenAI's four fields and adds its catalog entry's capabilities, list prices
  and availability (the same under each of its names), so a client can build its form from it;
  the entry's engine, `engine_options` (weights paths, upstreams) and `fallback` are the operator's
  and never shown.
- Defaults are OpenAI's, `seconds` "4" and `size` "720x1280", where the model renders them;
  a model that cannot keeps its own default duration or first size (defaults.py). With only
  `resolution` the size is portrait where the model has a portrait size at it. `size` and
  `aspect_ratio`/`resolution` may be mixed only if they agree. Audio is on when the model can
  make it.
- `input_reference` / `last_frame`: a file part in multipart; in JSON a string (http(s) URL,
  data URI or raw base64) or `{"image_url": "..."}`. URLs are fetched SSRF-safely
  (media/fetch.py). Images are centre-cropped to the output size.
- Unknown parameters are refused with 400 `unknown_parameter`, as OpenAI does, so a misspelt
  extension field is not silently ignored. Numbers and booleans must be JSON numbers and booleans;
  in a form (where everything is text) `seed` may be decimal digits and the booleans
  `true`/`false`. A body over 60 MB is refused with 400, also while it streams; form text must
  be UTF-8 (api/bodies.py). `prompt` is at most 32000 characters and not only whitespace,
  `negative_prompt` at most 10000, `model`, `size`, `seconds` and `resolution` at most 256.
- One video per request (the shape has no sample count). Ids are `video_<job id>` (the job id is
  what every other dialect shows); routes take either form (ids.py).
- Status words: queued -> `queued`, running -> `in_progress`, succeeded -> `completed`, failed and
  canceled -> `failed` (a canceled video has `error.code` "canceled"). `progress` is 0..100.
- `expires_at` is null: stored media do not expire. `DELETE` works in any state and stops a
  running render.
- `POST /v1/videos/{id}/cancel` (reelforge's; OpenAI documents no cancel) answers the video
  object: a queued video is `failed` with `error.code` "canceled" at once, an `in_progress` one
  stays `in_progress` until its render stops (within one step) and then reads the same. Canceling
  a canceled video answers it again; a `completed` or `failed` one is 409
  `video_already_finished`. A cancel gives back the reserved credits and keeps no files.
- `GET .../content` before the video is completed answers 409 `video_not_ready`. `thumbnail` is
  the JPEG poster; `spritesheet` is a JPEG grid of up to 25 evenly spaced frames, 5 per row,
  256 px wide each (media/spritesheet.py).
- `after` must name one of the caller's videos (400 otherwise); `limit` 1..100, default 20;
  `order` `desc` (newest first, default) or `asc`.
- Every video answer carries `openai-poll-after-ms` (Settings.poll_after_ms), which the SDK's
  poll loop honours.
- Errors: `{"error": {"message", "type", "param", "code"}}`; `type` is `invalid_request_error`
  for 4xx and `server_error` for 5xx; 400 invalid request, 401 missing key, 404 unknown id,
  409 content of an unfinished video or cancel of a finished one, 500 without details. 429 as
  OpenAI answers it: over the key's rate limit or the account's concurrency limit `type`
  `requests`, `code` `rate_limit_exceeded`, with `Retry-After`; a create the account's balance
  does not cover `type` and `code` `insufficient_quota` (no `Retry-After`: waiting does not help).
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from reelforge.api.auth import CallerDep, CreatorDep
from reelforge.api.deps import ServiceDep, SettingsDep
from reelforge.api.dialects.openai import ids
from reelforge.api.dialects.openai.body import CLIENT_FIELDS, CREATE_OPENAPI, read_body, to_draft
from reelforge.api.dialects.openai.defaults import with_defaults
from reelforge.api.dialects.openai.wire import (
    STATUS_WORDS,
    AlreadyFinished,
    NotReady,
    OpenAIError,
    OpenAIModel,
    OpenAIModelList,
    OpenAIVideo,
    OpenAIVideoDeleted,
    OpenAIVideoList,
    model_object,
    video_list,
    video_object,
)
from reelforge.api.media import serve_media
from reelforge.api.openapi import error_responses
from reelforge.api.wire import client_fields
from reelforge.core.catalog import Catalog
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import JobExtras, JobStatus
from reelforge.core.request import Draft

PREFIXES = ("/v1/videos", "/v1/models")
router = APIRouter(
    prefix="/v1", tags=["OpenAI videos (native)"], responses=error_responses(OpenAIError, 401, 429, 500)
)


POLL_HEADER = {
    "openai-poll-after-ms": {
        "description": "How long to wait before polling the video again, in milliseconds.",
        "schema": {"type": "integer"},
    }
}
CONTENT_TYPES = {
    "video/mp4": {"schema": {"type": "string", "format": "binary"}},
    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
}


@router.post(
    "/videos",
    openapi_extra=CREATE_OPENAPI,
    response_model=OpenAIVideo,
    responses={
        200: {"headers": POLL_HEADER},
        **error_responses(OpenAIError, 400),
        429: {
            "model": OpenAIError,
            "description": "Over the API key's rate limit or the account's concurrency limit "
            "(`rate_limit_exceeded`, with `Retry-After`), or the account's balance does not cover the "
            "video (`insufficient_quota`)",
        },
    },
)
async def create_video(
    request: Request, response: Response, service: ServiceDep, caller: CreatorDep, settings: SettingsDep
) -> dict:
    body, files = await read_body(request)
    with client_fields(CLIENT_FIELDS):
        draft = _defaulted(to_draft(body, files), service.catalog)
        job = await service.submit_async(draft, caller.id, JobExtras(dialect="openai"))
    response.headers["openai-poll-after-ms"] = str(settings.poll_after_ms)
    return video_object(job)


def _defaulted(draft: Draft, catalog: Catalog) -> Draft:
    """OpenAI's defaults (defaults.py) for the model named; an unknown one is refused later."""
    if draft.model is not None and draft.model not in catalog:
        return draft
    return with_defaults(draft, catalog.get(draft.model) if draft.model else catalog.default)


@router.get("/videos", response_model=OpenAIVideoList, responses=error_responses(OpenAIError, 400))
def list_videos(
    service: ServiceDep,
    caller: CallerDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> dict:
    try:
        cursor = None if after is None else ids.job_id(after)
        jobs = service.list(caller.id, limit=limit + 1, after=cursor, ascending=order == "asc")
    except NotFound:
        raise InvalidRequest(f"after: no video {after!r}", "after") from None
    return video_list(jobs, limit)


@router.get(
    "/videos/{video_id}",
    response_model=OpenAIVideo,
    responses={200: {"headers": POLL_HEADER}, **error_responses(OpenAIError, 404)},
)
def get_video(
    video_id: str, response: Response, service: ServiceDep, caller: CallerDep, settings: SettingsDep
) -> dict:
    with ids.looking_up(video_id) as job_id:
        job = service.get(job_id, caller.id)
    response.headers["openai-poll-after-ms"] = str(settings.poll_after_ms)
    return video_object(job)


@router.post(
    "/videos/{video_id}/cancel",
    response_model=OpenAIVideo,
    responses={200: {"headers": POLL_HEADER}, **error_responses(OpenAIError, 404, 409)},
)
def cancel_video(
    video_id: str, response: Response, service: ServiceDep, caller: CallerDep, settings: SettingsDep
) -> dict:
    with ids.looking_up(video_id) as job_id:
        job = service.cancel(job_id, caller.id)
    if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        raise AlreadyFinished(
            f"video {video_id} is already {STATUS_WORDS[job.status]}; it cannot be canceled"
        )
    response.headers["openai-poll-after-ms"] = str(settings.poll_after_ms)
    return video_object(job)


@router.delete(
    "/videos/{video_id}", response_model=OpenAIVideoDeleted, responses=error_responses(OpenAIError, 404)
)
def delete_video(video_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    with ids.looking_up(video_id) as job_id:
        service.delete(job_id, caller.id)
    return {"id": ids.video_id(job_id), "object": "video.deleted", "deleted": True}


@router.get(
    "/videos/{video_id}/content",
    response_class=Response,
    responses={
        200: {
            "description": "The MP4 (`video`) or a JPEG (`thumbnail`, `spritesheet`); Range requests work",
            "content": CONTENT_TYPES,
        },
        307: {"description": "With bucket storage: a redirect to a presigned URL of the file"},
        **error_responses(OpenAIError, 400, 404, 409),
    },
)
def video_content(
    video_id: str,
    service: ServiceDep,
    caller: CallerDep,
    variant: Literal["video", "thumbnail", "spritesheet"] = "video",
) -> Response:
    with ids.looking_up(video_id) as job_id:
        job = service.get(job_id, caller.id)
    if job.status is not JobStatus.SUCCEEDED or not job.outputs:
        raise NotReady(f"video {video_id} is not completed (status {STATUS_WORDS[job.status]})")
    output = job.outputs[0]
    if variant == "video":
        return serve_media(service, output.video_key, "video/mp4")
    if variant == "thumbnail":
        return serve_media(service, output.poster_key, "image/jpeg")
    return Response(service.media.spritesheet(output.video_key), media_type="image/jpeg")


@router.get("/models", response_model=OpenAIModelList)
def list_models(service: ServiceDep, caller: CallerDep) -> dict:
    return {"object": "list", "data": [model_object(name, spec) for name, spec in service.catalog.names()]}


@router.get("/models/{model:path}", response_model=OpenAIModel, responses=error_responses(OpenAIError, 404))
def get_model(model: str, service: ServiceDep, caller: CallerDep) -> dict:
    if model not in service.catalog:
        raise NotFound(f"The model '{model}' does not exist")
    return model_object(model, service.catalog.get(model))
