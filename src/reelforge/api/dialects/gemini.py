"""Google's Gemini API for Veo (`generativelanguage.googleapis.com`), under `/v1beta`.

Routes: `POST /v1beta/models/{model}:predictLongRunning` -> `{"name": "models/{model}/operations/{id}"}`;
`GET /v1beta/models/{model}/operations/{id}` -> the operation, with
`response.generateVideoResponse.generatedSamples[].video.uri` once `done` is true;
`GET /v1beta/files/{file}:download?alt=media` -> the MP4 (what `client.files.download` requests);
`GET /v1beta/files/{file}` -> the file's metadata; `GET /v1beta/models[/{model}]` from the catalog.
The key comes in `x-goog-api-key`, `?key=` or `Authorization: Bearer` (api/auth.py).
`google-genai`'s `models.generate_videos` + `operations.get` + `files.download` work unchanged.

Body: `{"instances": [{"prompt", "image", "lastFrame"}], "parameters": {"aspectRatio",
"durationSeconds", "resolution", "negativePrompt", "personGeneration", "seed", "sampleCount",
"generateAudio", "enhancePrompt"}}`. The parsing is shared with Vertex AI (vertex.py), which adds
`storageUri`, `resizeMode`, `compressionQuality`, `fps` and `pubsubTopic`.

Decisions where Google documents nothing, or reelforge differs [open]:
- Exactly one instance. `prompt` is required (Google lets image-to-video omit it).
- Integers follow protobuf's JSON mapping: a number or a decimal string (`8` or `"8"`); a boolean
  is not an integer. Booleans must be JSON booleans.
- Defaults: duration the model's default (8), 16:9, 720p, audio on when the model makes it,
  `allow_adult`, one sample. `resolution` is matched case-insensitively against the model's sizes
  (`4k` is refused: Veo 3.1 Lite has none). `personGeneration` takes `allow_adult`, `dont_allow`
  and `allow_all` (Gemini documents `allow_all` for Veo 3.x text-to-video).
- Images: `image` / `lastFrame` as `{"bytesBase64Encoded", "mimeType"}` (what the SDK sends) or
  `{"inlineData": {"mimeType", "data"}}` (the REST samples' spelling); also `{"gcsUri"|"uri": an
  http(s) URL}`, fetched SSRF-safely. `gs://` URIs cannot be read and are refused. Video
  extension (`video`), `referenceImages` and `mask` are not supported by Veo 3.1 Lite: 400.
- `enhancePrompt` and `webhookConfig` are accepted and have no effect.
- A missing key is answered 401 `UNAUTHENTICATED` (the Gemini API itself answers 403
  `PERMISSION_DENIED`; reelforge answers 401 in every dialect, and the SDK raises `ClientError`
  for both). Errors are Google's `{"error": {"code", "message", "status"}}`, plus a
  `google.rpc.BadRequest` detail naming the field for 400s; 404 `NOT_FOUND` for unknown
  operations, files and models.
- The operation's model segment is not checked: the operation id alone finds the job. Pending
  operations read `{"name", "done": false}`; a failed one has `error: {code, message}` with a
  google.rpc code (3 INVALID_ARGUMENT for unusable input, 13 INTERNAL for a render failure,
  1 CANCELLED when it was deleted or canceled elsewhere).
- Video URIs are `<base_url>/v1beta/files/<job hex>v<sample>:download?alt=media` and need the
  owner's key, like Google's. The download serves the file itself (Google redirects to storage;
  with bucket storage reelforge redirects too). Because the SDK only shortens `https://` URIs to a
  file name, over plain http it requests `/v1beta/files/<the whole URI>:download`; that path is
  understood too.
"""

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep, SettingsDep
from reelforge.api.dialects.leonardo_common import client_fields
from reelforge.api.dialects.openai_videos import media_response, model_names, submit_with_frames
from reelforge.catalog import ModelSpec
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import Job, JobStatus, Output
from reelforge.core.request import SEED_MAX
from reelforge.core.service import JobService
from reelforge.media.intake import decode_base64_image, resolve_image_source, validate_image_bytes

PREFIX = "/v1beta/"
router = APIRouter(prefix="/v1beta", tags=["Gemini API"])

GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "FAILED_PRECONDITION",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
# google.rpc.Code of a failed operation, by reelforge's failure code
OPERATION_ERROR = {"invalid_input": 3, "canceled": 1}
INTERNAL = 13
_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


def google_field(field: str | None) -> str | None:
    """`instances.0.image` -> `instances[0].image`, as Google names fields."""
    return _INDEX.sub(r"[\1]", field) if field else field


def render_error(status: int, message: str, field: str | None, code: str) -> dict:
    named = google_field(field)
    if field and named != field and message.startswith(field):
        message = named + message[len(field) :]
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": GRPC_STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"),
    }
    if named and status == 400:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": named, "description": message}],
            }
        ]
    return {"error": error}


# the request body, shared with Vertex AI -------------------------------------------------------


def _proto_int(value: object) -> object:
    """protobuf JSON: an integer is a JSON number or a string of decimal digits, never a bool."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, str):
        if not re.fullmatch(r"\s*-?\d{1,20}\s*", value):
            raise PydanticCustomError("int_parsing", "Input should be a valid integer")
        return int(value)
    return value


ProtoInt = Annotated[int, BeforeValidator(_proto_int)]


class InlineData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mimeType: str | None = None
    data: str = Field(min_length=1)


class Image(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bytesBase64Encoded: str | None = None
    inlineData: InlineData | None = None
    gcsUri: str | None = None
    uri: str | None = None
    mimeType: str | None = None


class Instance(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1)
    image: Image | None = None
    lastFrame: Image | None = None
    video: dict | None = None
    referenceImages: list | None = None
    mask: dict | None = None


class Parameters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    aspectRatio: Literal["16:9", "9:16"] | None = None
    durationSeconds: ProtoInt | None = Field(default=None, gt=0)
    resolution: str | None = None
    negativePrompt: str | None = None
    personGeneration: Literal["allow_adult", "dont_allow", "allow_all"] | None = None
    seed: ProtoInt | None = Field(default=None, ge=0, le=SEED_MAX)
    sampleCount: ProtoInt | None = Field(default=None, ge=1, le=4)
    generateAudio: StrictBool | None = None
    enhancePrompt: StrictBool | None = None


class PredictBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    instances: list[Instance] = Field(min_length=1, max_length=1)
    parameters: Parameters = Field(default_factory=Parameters)


def image_bytes(image: Image | None, field: str, allowlist: str) -> bytes | None:
    """The bytes of an `image` / `lastFrame` object, whichever way it carries them."""
    if image is None:
        return None
    given = [
        (name, value)
        for name, value in (
            ("bytesBase64Encoded", image.bytesBase64Encoded),
            ("inlineData", image.inlineData.data if image.inlineData else None),
            ("gcsUri", image.gcsUri),
            ("uri", image.uri),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidRequest(
            f"{field}: give exactly one of bytesBase64Encoded, inlineData, gcsUri or uri", field
        )
    name, value = given[0]
    if name in ("bytesBase64Encoded", "inlineData"):
        sub = f"{field}.{name}" + (".data" if name == "inlineData" else "")
        return validate_image_bytes(decode_base64_image(value, sub), sub)
    if value.lower().startswith("gs://"):
        raise InvalidRequest(
            f"{field}.{name}: gs:// URIs cannot be read here; send bytesBase64Encoded or an http(s) URL",
            f"{field}.{name}",
        )
    return resolve_image_source(value, allowlist, field_name=f"{field}.{name}")


CLIENT_FIELDS = {
    "prompt": "instances.0.prompt",
    "negative_prompt": "parameters.negativePrompt",
    "duration": "parameters.durationSeconds",
    "size": "parameters.resolution",
    "width": "parameters.resolution",
    "height": "parameters.resolution",
    "resolution": "parameters.resolution",
    "seed": "parameters.seed",
    "audio": "parameters.generateAudio",
    "samples": "parameters.sampleCount",
    "start_image": "instances.0.image",
    "end_image": "instances.0.lastFrame",
    "person_generation": "parameters.personGeneration",
}


def request_fields(spec: ModelSpec, model: str, instance: Instance, p: Parameters) -> dict:
    """The canonical request's fields (without frames) from a Google predict body."""
    for name in ("video", "referenceImages", "mask"):
        if getattr(instance, name) is not None:
            raise InvalidRequest(f"instances.0.{name}: not supported by {spec.id}", f"instances.0.{name}")
    if instance.lastFrame is not None and instance.image is None:
        raise InvalidRequest("instances.0.lastFrame: a last frame needs an image", "instances.0.lastFrame")
    portrait = None if p.aspectRatio is None else p.aspectRatio == "9:16"
    tier = p.resolution.strip().lower() if p.resolution is not None else None
    width, height = spec.resolve_size(tier, None, None, portrait if portrait is not None else False)
    return dict(
        model=model,
        prompt=instance.prompt,
        negative_prompt=p.negativePrompt,
        duration=p.durationSeconds if p.durationSeconds is not None else spec.default_duration,
        width=width,
        height=height,
        seed=p.seed,
        audio=spec.audio if p.generateAudio is None else p.generateAudio,
        samples=p.sampleCount or 1,
        person_generation=p.personGeneration or "allow_adult",
    )


def submit_predict(
    service: JobService, owner: str, model: str, body: PredictBody, allowlist: str, extra: dict
) -> Job:
    instance = body.instances[0]
    if model not in service.catalog:  # the model is part of the URL: an unknown one is a 404
        raise NotFound(f"models/{model} is not found, or is not supported for predictLongRunning")
    with client_fields(CLIENT_FIELDS):
        spec = service.catalog.get(model)
        fields = request_fields(spec, model, instance, body.parameters)
        frames = {
            "start_image": image_bytes(instance.image, "instances.0.image", allowlist),
            "end_image": image_bytes(instance.lastFrame, "instances.0.lastFrame", allowlist),
        }
        return submit_with_frames(service, owner, fields, frames, extra)


def operation_error(job: Job) -> dict | None:
    """google.rpc.Status of a failed or canceled job; None otherwise."""
    if job.status is JobStatus.CANCELED:
        return {"code": OPERATION_ERROR["canceled"], "message": "the operation was canceled"}
    if job.status is JobStatus.FAILED:
        return {
            "code": OPERATION_ERROR.get(job.error_code or "", INTERNAL),
            "message": job.error_message or "video generation failed",
        }
    return None


def job_id_of(operation_id: str) -> str:
    """The job id in an operation id (a UUID, with or without dashes); NotFound otherwise."""
    try:
        return str(uuid.UUID(operation_id))
    except ValueError:
        raise NotFound(f"operation {operation_id} not found") from None


# Gemini's own answers ---------------------------------------------------------------------------


_FILE_NAME = re.compile(r"([0-9a-f]{32})v(\d{1,2})")


def file_name(job: Job, output: Output) -> str:
    return f"{uuid.UUID(job.id).hex}v{output.index}"


def file_uri(service: JobService, job: Job, output: Output) -> str:
    return f"{service.base_url}/v1beta/files/{file_name(job, output)}:download?alt=media"


def operation(service: JobService, job: Job) -> dict:
    op: dict[str, Any] = {
        "name": f"models/{job.request.model}/operations/{job.id}",
        "done": job.status.is_terminal,
    }
    if job.status is JobStatus.SUCCEEDED:
        op["response"] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
            "generateVideoResponse": {
                "generatedSamples": [{"video": {"uri": file_uri(service, job, out)}} for out in job.outputs]
            },
        }
    elif error := operation_error(job):
        op["error"] = error
    return op


ModelPath = Annotated[str, PathParam(examples=["veo-3.1-lite-generate-preview"])]


@router.post("/models/{model}:predictLongRunning")
def predict_long_running(
    model: ModelPath, body: PredictBody, service: ServiceDep, caller: CallerDep, settings: SettingsDep
) -> dict:
    allowlist = getattr(settings, "image_fetch_allowlist", "")
    job = submit_predict(service, caller.id, model, body, allowlist, {"dialect": "gemini"})
    return {"name": f"models/{model}/operations/{job.id}"}


@router.get("/models/{model}/operations/{operation_id}")
def get_operation(model: str, operation_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    job = service.get(job_id_of(operation_id), caller.id)
    return operation(service, job)


def _output(service: JobService, owner: str, name: str) -> tuple[Job, Output]:
    found = _FILE_NAME.fullmatch(name)
    if found is None:
        raise NotFound(f"file {name} not found")
    try:
        job = service.get(str(uuid.UUID(found.group(1))), owner)
    except NotFound:
        raise NotFound(f"file {name} not found") from None
    index = int(found.group(2))
    output = next((out for out in job.outputs if out.index == index), None)
    if job.status is not JobStatus.SUCCEEDED or output is None:
        raise NotFound(f"file {name} not found")
    return job, output


@router.get("/files/{ref:path}", response_class=Response)
def get_file(
    ref: str,
    service: ServiceDep,
    caller: CallerDep,
    alt: Annotated[str | None, Query()] = None,
) -> Response:
    # `abc:download`, or the whole `http://host/v1beta/files/abc:download?alt=media` URI that
    # google-genai puts after `files/` when the URI is not https (its query lands in `alt`)
    name, _, action = ref.rpartition("files/")[2].partition(":")
    job, output = _output(service, caller.id, name)
    if action == "download" or (not action and (alt or "").startswith("media")):
        return media_response(service, output.video_key, "video/mp4")
    if action:
        raise NotFound(f"unknown file method {action!r}")
    created = JobService.timestamp(job.finished_at or job.created_at)
    return JSONResponse(
        {
            "name": f"files/{name}",
            "mimeType": "video/mp4",
            "sizeBytes": str(output.video_bytes),
            "createTime": created,
            "updateTime": created,
            "uri": file_uri(service, job, output),
            "downloadUri": file_uri(service, job, output),
            "state": "ACTIVE",
            "source": "GENERATED",
        }
    )


def _model_resource(name: str, spec: ModelSpec) -> dict:
    return {
        "name": f"models/{name}",
        "baseModelId": name,
        "version": spec.id,
        "displayName": name,
        "description": f"reelforge catalog model {spec.id}: {', '.join(spec.sizes)}, "
        f"{'/'.join(map(str, spec.durations))} s",
        "supportedGenerationMethods": ["predictLongRunning"],
    }


@router.get("/models")
def list_models(
    service: ServiceDep,
    caller: CallerDep,
    pageSize: Annotated[int, Query(ge=0, le=1000)] = 50,
    pageToken: str | None = None,
) -> dict:
    names = [(n, s) for n, s in model_names(service.catalog) if "/" not in n]
    start = int(pageToken) if pageToken and pageToken.isdigit() else 0
    size = pageSize or 50
    page = names[start : start + size]
    answer: dict[str, Any] = {"models": [_model_resource(n, s) for n, s in page]}
    if start + size < len(names):
        answer["nextPageToken"] = str(start + size)
    return answer


@router.get("/models/{model}")
def get_model(model: str, service: ServiceDep, caller: CallerDep) -> dict:
    if model not in service.catalog or "/" in model:
        raise NotFound(f"models/{model} is not found")
    return _model_resource(model, service.catalog.get(model))
