"""OpenAI's routes that make a video from an existing one: `POST /v1/videos/{id}/remix`,
`POST /v1/videos/extensions` and `POST /v1/videos/edits`. The service builds the new job
(service/derived.py); this module reads the bodies and answers the new video object.

Decisions [open]:
- Bodies as OpenAI defines them: remix `{"prompt"}`; extensions `{"prompt", "seconds", "video":
  {"id"}}`; edits `{"prompt", "video": {"id"}}`; as JSON, or as a form with `video[id]`. A video
  file in `video` is refused (400, `param` "video"): only a video of the caller's can be built on.
- The source must be the caller's (404 "video <id> not found" otherwise) and completed (400).
- Remix: the source's model, size, seconds, seed, audio and frames with the new prompt;
  `remixed_from_video_id` names the source.
- Extension: a new clip of `seconds` (the model's durations; required, as OpenAI has it) that
  starts at the source's last frame, with the source's other settings but no end frame; it is not
  joined to the source. Models that take no start frame answer 400 `unsupported_value` (`param`
  "model").
- Edits: no engine edits a video, so every model answers 400 `unsupported_value` (`param`
  "model").
"""

from typing import TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from reelforge.api.auth import CreatorDep
from reelforge.api.bodies import capped_body, capped_form, parse_json
from reelforge.api.deps import ServiceDep, SettingsDep
from reelforge.api.dialects.openai.body import Seconds, inline_refs, whole_seconds
from reelforge.api.dialects.openai.ids import looking_up
from reelforge.api.dialects.openai.wire import OpenAIError, OpenAIVideo, validation_error, video_object
from reelforge.api.openapi import error_responses
from reelforge.api.wire import client_fields
from reelforge.config import Settings
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import Job, JobExtras
from reelforge.core.request import MAX_NAME, MAX_PROMPT

B = TypeVar("B", bound=BaseModel)
router = APIRouter(
    prefix="/v1", tags=["OpenAI videos (native)"], responses=error_responses(OpenAIError, 401, 429, 500)
)
_BODY_LIMIT = 1024 * 1024  # a prompt and an id
_TOO_LARGE = "request body is larger than 1 MB"
_NO_FILES = 'video: a video file is not accepted; give {"id": "<video id>"} of one of your completed videos'
RESPONSES = {
    200: {"headers": {"openai-poll-after-ms": {"schema": {"type": "integer"}}}},
    **error_responses(OpenAIError, 400, 404),
}


def _body_schema(model: type[BaseModel]) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_refs(model.model_json_schema())}},
        }
    }


class VideoReference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=MAX_NAME, description="A completed video of the caller's.")


class RemixBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)


class EditBody(RemixBody):
    video: VideoReference


class ExtendBody(EditBody):
    seconds: Seconds = Field(max_length=MAX_NAME)


async def _fields(request: Request) -> dict:
    """The body as JSON-typed fields; a form's `video[id]` becomes `{"video": {"id": ...}}`."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        fields = parse_json(await capped_body(request, _BODY_LIMIT, _TOO_LARGE))
        if not isinstance(fields, dict):
            raise InvalidRequest("request body must be a JSON object")
        return fields
    form = await capped_form(request, _BODY_LIMIT, _TOO_LARGE, max_files=1, max_fields=10)
    try:
        fields: dict = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name == "video":
                    raise InvalidRequest(_NO_FILES, "video")
                raise InvalidRequest(f"{name}: a file is not allowed here", name)
            key = "video" if name == "video[id]" else name
            if key in fields:
                raise InvalidRequest(f"{key}: given more than once", key)
            fields[key] = {"id": value} if key == "video" else value
        return fields
    finally:
        await form.close()


async def _read(request: Request, model: type[B]) -> B:
    fields = await _fields(request)
    if isinstance(fields.get("video"), str):  # a file given as text
        raise InvalidRequest(_NO_FILES, "video")
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise validation_error(exc) from None


def _answer(job: Job, response: Response, settings: Settings) -> dict:
    response.headers["openai-poll-after-ms"] = str(settings.poll_after_ms)
    return video_object(job)


@router.post(
    "/videos/{video_id}/remix",
    response_model=OpenAIVideo,
    responses=RESPONSES,
    openapi_extra=_body_schema(RemixBody),
)
async def remix_video(
    video_id: str,
    request: Request,
    response: Response,
    service: ServiceDep,
    caller: CreatorDep,
    settings: SettingsDep,
) -> dict:
    body = await _read(request, RemixBody)
    with looking_up(video_id) as job_id:
        job = await service.remix(job_id, caller.id, body.prompt, JobExtras(dialect="openai"))
    return _answer(job, response, settings)


@router.post(
    "/videos/extensions",
    response_model=OpenAIVideo,
    responses=RESPONSES,
    openapi_extra=_body_schema(ExtendBody),
)
async def extend_video(
    request: Request, response: Response, service: ServiceDep, caller: CreatorDep, settings: SettingsDep
) -> dict:
    body = await _read(request, ExtendBody)
    seconds = whole_seconds(body.seconds)
    with looking_up(body.video.id) as job_id, client_fields({"duration": "seconds"}):
        job = await service.extend(
            job_id, caller.id, body.prompt, seconds, JobExtras(dialect="openai"), "video"
        )
    return _answer(job, response, settings)


@router.post(
    "/videos/edits",
    response_model=OpenAIVideo,
    responses=RESPONSES,
    openapi_extra=_body_schema(EditBody),
)
async def edit_video(request: Request, service: ServiceDep, caller: CreatorDep) -> dict:
    body = await _read(request, EditBody)
    with looking_up(body.video.id) as job_id:
        service.edit(job_id, caller.id)
