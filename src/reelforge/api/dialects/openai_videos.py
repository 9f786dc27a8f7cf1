"""The OpenAI Videos API shape, reelforge's native API: `/v1/videos` and `/v1/models`.

Routes: `POST /v1/videos` (JSON, multipart/form-data or a urlencoded form), `GET /v1/videos/{id}`,
`GET /v1/videos?after&limit&order`, `DELETE /v1/videos/{id}`,
`GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`, `GET /v1/models[/{id}]`.
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
- Defaults come from the model, not from Sora: `seconds` is the model's default duration (8 for
  Veo) and `size` its first size (1280x720). `size` and `aspect_ratio`/`resolution` may be mixed
  only if they agree. Audio is on when the model can make it.
- `input_reference` / `last_frame`: a file part in multipart; in JSON a string (http(s) URL,
  data URI or raw base64) or `{"image_url": "..."}`. URLs are fetched SSRF-safely
  (media/fetch.py). Images are centre-cropped to the output size.
- Unknown parameters are refused with 400 `unknown_parameter`, as OpenAI does, so a misspelt
  extension field is not silently ignored. Numbers and booleans must be JSON numbers and booleans;
  in a form (where everything is text) `seed` may be decimal digits and the booleans
  `true`/`false`. A body over 60 MB is refused with 400, also while it streams.
- One video per request (the shape has no sample count); ids are reelforge job ids, the same id
  every other dialect shows for the job.
- Status words: queued -> `queued`, running -> `in_progress`, succeeded -> `completed`, failed and
  canceled -> `failed` (a canceled video has `error.code` "canceled"). `progress` is 0..100.
- `expires_at` is null: stored media do not expire. `DELETE` works in any state and stops a
  running render.
- `GET .../content` before the video is completed answers 409 `video_not_ready`. `thumbnail` is
  the JPEG poster; `spritesheet` is a JPEG grid of up to 25 evenly spaced frames, 5 per row,
  256 px wide each (media/spritesheet.py).
- `after` must name one of the caller's videos (400 otherwise); `limit` 1..100, default 20;
  `order` `desc` (newest first, default) or `asc`.
- Every video answer carries `openai-poll-after-ms` (Settings.poll_after_ms), which the SDK's
  poll loop honours.
- Errors: `{"error": {"message", "type", "param", "code"}}`; `type` is `invalid_request_error`
  for 4xx and `server_error` for 5xx; 400 invalid request, 401 missing key, 404 unknown id,
  409 content of an unfinished video, 500 without details.
"""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from reelforge.api.auth import CallerDep
from reelforge.api.bodies import capped_body, capped_form
from reelforge.api.deps import ServiceDep, SettingsDep
from reelforge.api.media import serve_media
from reelforge.api.openapi import error_responses
from reelforge.api.wire import client_fields
from reelforge.core.catalog import ModelSpec, resolution_tier
from reelforge.core.errors import Conflict, InvalidRequest, NotFound, first_error
from reelforge.core.job import Job, JobExtras, JobStatus
from reelforge.core.request import (
    MAX_IMAGE_BYTES,
    SEED_MAX,
    Draft,
    FrameInput,
    FrameKind,
    Orientation,
    PersonGeneration,
)

PREFIXES = ("/v1/videos", "/v1/models")

STATUS_WORDS = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "in_progress",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "failed",
}
# two images of at most 20 MB each, as files or as base64 text, plus the other fields
_BODY_LIMIT = 3 * MAX_IMAGE_BYTES


class _NotReady(Conflict):
    code = "video_not_ready"


class _UnknownParameter(InvalidRequest):
    code = "unknown_parameter"


class OpenAIErrorObject(BaseModel):
    message: str = Field(description="What is wrong, in words.")
    type: Literal["invalid_request_error", "server_error"] = Field(
        description="`invalid_request_error` for 4xx statuses, `server_error` for 5xx."
    )
    param: str | None = Field(description="The request field at fault, if one is.")
    code: str = Field(description="A machine-readable code, e.g. `unknown_parameter` or `video_not_ready`.")


class OpenAIError(BaseModel):
    """Every error this API answers."""

    error: OpenAIErrorObject


def render_error(status: int, message: str, field: str | None, code: str) -> dict:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": field, "code": code}}


router = APIRouter(
    prefix="/v1", tags=["OpenAI videos (native)"], responses=error_responses(OpenAIError, 401, 500)
)


def validation_error(exc: ValidationError) -> InvalidRequest:
    """The first pydantic error as an InvalidRequest naming the client's (top-level) field."""
    field, message, kind = first_error(exc, depth=1)
    if kind == "extra_forbidden":
        return _UnknownParameter(f"Unknown parameter: '{field}'.", field)
    return InvalidRequest(f"{field}: {message}" if field else message, field)


# request body ----------------------------------------------------------------------------------


def _image_value(value: object) -> object:
    """An image given in JSON: a string, or `{"image_url": "<string>"}` (reduced to the string)."""
    if isinstance(value, dict):
        if set(value) != {"image_url"} or not isinstance(value["image_url"], str):
            raise PydanticCustomError(
                "image_type", 'must be an image URL, data URI or base64 string, or {"image_url": "..."}'
            )
        return value["image_url"]
    if not isinstance(value, str):
        raise PydanticCustomError(
            "image_type", 'must be an image URL, data URI or base64 string, or {"image_url": "..."}'
        )
    return value


ImageInput = Annotated[
    str,
    BeforeValidator(_image_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": "http(s) URL, data URI or raw base64"},
                {
                    "type": "object",
                    "properties": {"image_url": {"type": "string"}},
                    "required": ["image_url"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]


def _seconds_value(value: object) -> object:
    """OpenAI's `seconds` is a string ("8"); a JSON integer is accepted too, nothing else."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PydanticCustomError("seconds_type", 'must be a string of whole seconds, such as "8"')
    return str(value)


Seconds = Annotated[
    str,
    BeforeValidator(_seconds_value),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
]


class VideoCreateBody(BaseModel):
    """`POST /v1/videos` as JSON (multipart carries the same fields, images as file parts)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=32000)
    model: str | None = Field(default=None, min_length=1)
    seconds: Seconds | None = None
    size: str | None = None
    input_reference: ImageInput | None = None
    # extensions: what Veo has and Sora lacks
    negative_prompt: str | None = Field(default=None, max_length=10000)
    seed: StrictInt | None = Field(default=None, ge=0, le=SEED_MAX)
    generate_audio: StrictBool | None = None
    audio: StrictBool | None = None
    last_frame: ImageInput | None = None
    aspect_ratio: Literal["16:9", "9:16"] | None = None
    resolution: str | None = None
    person_generation: Literal["allow_adult", "dont_allow", "allow_all"] | None = None


def _inline_refs(schema: dict) -> dict:
    """Pydantic's `$defs` inlined, so the schema can sit inside the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def _multipart_schema() -> dict:
    schema = _inline_refs(VideoCreateBody.model_json_schema())
    props = schema["properties"]
    for name in ("input_reference", "last_frame"):
        props[name] = {"type": "string", "format": "binary", "description": "an image file (or URL/base64)"}
    for name in ("seed",):
        props[name] = {"type": "string", "pattern": "^[0-9]+$"}
    for name in ("generate_audio", "audio"):
        props[name] = {"type": "string", "enum": ["true", "false"]}
    props["seconds"] = {"type": "string"}
    return schema


CREATE_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline_refs(VideoCreateBody.model_json_schema())},
            "multipart/form-data": {"schema": _multipart_schema()},
        },
    }
}


_TOO_LARGE = f"request body is larger than {_BODY_LIMIT // (1024 * 1024)} MB"


async def _form_fields(request: Request) -> tuple[dict, dict[str, bytes]]:
    """A multipart body as JSON-typed fields plus the image files' bytes."""
    form = await capped_form(request, _BODY_LIMIT, _TOO_LARGE, max_files=2, max_fields=30)
    try:
        fields: dict = {}
        files: dict[str, bytes] = {}
        for name, value in form.multi_items():
            if name in fields or name in files:
                raise InvalidRequest(f"{name}: given more than once", name)
            if isinstance(value, UploadFile):
                if name not in ("input_reference", "last_frame"):
                    raise InvalidRequest(f"{name}: a file is not allowed here", name)
                data = await value.read(MAX_IMAGE_BYTES + 1)
                if len(data) > MAX_IMAGE_BYTES:
                    raise InvalidRequest(f"{name}: image is larger than 20 MB", name)
                files[name] = data
            elif name == "seed" and value.strip().isdigit():
                fields[name] = int(value)
            elif name in ("generate_audio", "audio") and value.strip().lower() in ("true", "false"):
                fields[name] = value.strip().lower() == "true"
            else:
                fields[name] = value
        return fields, files
    finally:
        await form.close()


async def _read_body(request: Request) -> tuple[VideoCreateBody, dict[str, bytes]]:
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        fields, files = await _form_fields(request)
    else:
        try:
            fields = json.loads(await capped_body(request, _BODY_LIMIT, _TOO_LARGE))
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequest("request body is not valid JSON") from None
        if not isinstance(fields, dict):
            raise InvalidRequest("request body must be a JSON object")
        files = {}
    try:
        return VideoCreateBody.model_validate(fields), files
    except ValidationError as exc:
        raise validation_error(exc) from None


def _seconds(body: VideoCreateBody) -> int | None:
    if body.seconds is None:
        return None
    text = str(body.seconds).strip()
    if not text.isdigit():
        raise InvalidRequest('seconds: must be a string of whole seconds, such as "8"', "seconds")
    return int(text)


def _size(body: VideoCreateBody) -> tuple[int | None, int | None]:
    if body.size is None:
        return None, None
    try:
        return ModelSpec.parse_size(body.size.strip().lower())
    except ValueError:
        raise InvalidRequest("size: must be WIDTHxHEIGHT, e.g. 1280x720", "size") from None


def _audio(body: VideoCreateBody) -> bool | None:
    given = {v for v in (body.generate_audio, body.audio) if v is not None}
    if len(given) > 1:
        raise InvalidRequest("generate_audio and audio disagree", "generate_audio")
    return given.pop() if given else None


def _frame(value: str | None, file: bytes | None, field: str) -> FrameInput | None:
    if file is not None:
        if value is not None:
            raise InvalidRequest(f"{field}: given both as a file and as a value", field)
        return FrameInput(FrameKind.BYTES, file, field)
    if value is None:
        return None
    return FrameInput(FrameKind.SOURCE, value, field)


ORIENTATIONS = {"16:9": Orientation.LANDSCAPE, "9:16": Orientation.PORTRAIT, None: None}
CLIENT_FIELDS = {
    "duration": "seconds",
    "width": "size",
    "height": "size",
    "start_image": "input_reference",
    "end_image": "last_frame",
    "audio": "generate_audio",
}


def to_draft(body: VideoCreateBody, files: dict[str, bytes]) -> Draft:
    """The body (and its file parts) as the canonical draft; unset fields take the model's defaults."""
    width, height = _size(body)
    return Draft(
        model=body.model,
        prompt=body.prompt,
        negative_prompt=body.negative_prompt,
        duration=_seconds(body),
        resolution=body.resolution.strip().lower() if body.resolution else None,
        width=width,
        height=height,
        orientation=ORIENTATIONS[body.aspect_ratio],
        audio=_audio(body),
        seed=body.seed,
        person_generation=body.person_generation or "allow_adult",
        start=_frame(body.input_reference, files.get("input_reference"), "input_reference"),
        end=_frame(body.last_frame, files.get("last_frame"), "last_frame"),
    )


# answers ---------------------------------------------------------------------------------------


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


# routes ----------------------------------------------------------------------------------------

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
    responses={200: {"headers": POLL_HEADER}, **error_responses(OpenAIError, 400)},
)
async def create_video(
    request: Request, response: Response, service: ServiceDep, caller: CallerDep, settings: SettingsDep
) -> dict:
    body, files = await _read_body(request)
    with client_fields(CLIENT_FIELDS):
        draft = to_draft(body, files)
        job = await run_in_threadpool(service.submit, draft, caller.id, JobExtras(dialect="openai"))
    response.headers["openai-poll-after-ms"] = str(settings.poll_after_ms)
    return video_object(job)


@router.get("/videos", response_model=OpenAIVideoList, responses=error_responses(OpenAIError, 400))
def list_videos(
    service: ServiceDep,
    caller: CallerDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> dict:
    try:
        jobs = service.list(caller.id, limit=limit + 1, after=after, ascending=order == "asc")
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
    job = service.get(video_id, caller.id)
    response.headers["openai-poll-after-ms"] = str(settings.poll_after_ms)
    return video_object(job)


@router.delete(
    "/videos/{video_id}", response_model=OpenAIVideoDeleted, responses=error_responses(OpenAIError, 404)
)
def delete_video(video_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    service.delete(video_id, caller.id)
    return {"id": video_id, "object": "video.deleted", "deleted": True}


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
    job = service.get(video_id, caller.id)
    if job.status is not JobStatus.SUCCEEDED or not job.outputs:
        raise _NotReady(f"video {video_id} is not completed (status {STATUS_WORDS[job.status]})")
    output = job.outputs[0]
    if variant == "video":
        return serve_media(service, output.video_key, "video/mp4")
    if variant == "thumbnail":
        return serve_media(service, output.poster_key, "image/jpeg")
    return Response(service.media.spritesheet(output.video_key), media_type="image/jpeg")


@router.get("/models", response_model=OpenAIModelList)
def list_models(service: ServiceDep, caller: CallerDep) -> dict:
    return {"object": "list", "data": [model_object(name) for name, _ in service.catalog.names()]}


@router.get("/models/{model:path}", response_model=OpenAIModel, responses=error_responses(OpenAIError, 404))
def get_model(model: str, service: ServiceDep, caller: CallerDep) -> dict:
    if model not in service.catalog:
        raise NotFound(f"The model '{model}' does not exist")
    return model_object(model)
