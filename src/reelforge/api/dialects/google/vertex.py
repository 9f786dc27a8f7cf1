"""Vertex AI's Veo API (`aiplatform.googleapis.com`): predictLongRunning + fetchPredictOperation.

Routes, under `/v1` and `/v1beta1` (google-genai's Vertex mode uses v1beta1):
- `POST /{v}/projects/{project}/locations/{location}/publishers/google/models/{model}:predictLongRunning`
  -> `{"name": "projects/{project}/locations/{location}/publishers/google/models/{model}/operations/{id}"}`
- `POST .../models/{model}:fetchPredictOperation {"operationName"}` -> the operation; when `done`,
  `response.videos[{gcsUri | bytesBase64Encoded, mimeType}]`
- `GET .../models/{model}/operations/{id}` -> the same operation
- `POST .../models/{model}/operations/{id}:cancel` -> `{}` (Operations.CancelOperation; what it
  does is Gemini's, see gemini.py)
- the same four without `projects/{project}/locations/{location}/` (Vertex AI express mode,
  what google-genai sends with `vertexai=True` and an API key).
The key is the OAuth token in `Authorization: Bearer`, or an express-mode key in `x-goog-api-key`
or `?key=` (api/auth.py); like every key it names a user, projects and locations do not.

The body is Gemini's (google/wire.py: instances[0].prompt/image/lastFrame, parameters.*) plus Vertex's
`storageUri`, `resizeMode`, `compressionQuality`, `fps` and `pubsubTopic`. Images are inline base64
(`bytesBase64Encoded`) or `gcsUri` holding an http(s) URL, fetched SSRF-safely.

Decisions where Google documents nothing, or reelforge differs [open]:
- Result form: without `storageUri` the videos come back inline as `bytesBase64Encoded`, as
  Vertex does, on every poll of the finished operation, so only up to MAX_INLINE_VIDEO_BYTES
  (16 MiB) a video: a larger one comes back as `gcsUri`, as with `storageUri`. With `storageUri`
  reelforge does not write to that bucket (it cannot); each video's `gcsUri` is instead the http(s)
  URL of the reelforge media file, downloadable without a key. `storageUri` is the recommended form.
- `resizeMode` (`pad` | `crop`) is accepted; reelforge always centre-crops (`pad` has no effect).
  `compressionQuality`, `pubsubTopic` (nothing is published), `enhancePrompt`, the images'
  `mimeType`, Gemini's `webhookConfig` and unknown fields are accepted and have no effect. `fps`
  must be 24 when given. No cost is reported: the operation has no field for it.
- `gs://` image URIs cannot be read: 400. Errors, defaults, integer spelling, status words and
  operation error codes are Gemini's (see gemini.py), but a missing or refused key is 401
  `UNAUTHENTICATED`, what Google Cloud documents for bad credentials; 404 `NOT_FOUND` for an
  unknown model (it is part of the URL) or operation ("operation ... not found"). `operationName` must
  name an operation under `/operations/`; the project, location and model in it are not checked,
  the id finds the job.
- A create the account's balance does not cover: 402 `RESOURCE_EXHAUSTED`, as the Gemini API
  answers depleted prepaid credits (Vertex AI bills a Cloud account and documents no balance).
  Over the key's rate limit or the account's concurrency limit: 429 `RESOURCE_EXHAUSTED`, with
  `Retry-After`. `fetchPredictOperation` is a read, despite being a POST.
"""

import base64
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from reelforge.api.auth import CallerDep, CreatorDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.google import wire
from reelforge.api.dialects.google.wire import (
    GoogleError,
    GoogleOperationError,
    GoogleStartedOperation,
    Message,
)
from reelforge.api.openapi import error_responses
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import Job, JobExtras, JobStatus, Output
from reelforge.core.request import FPS, MAX_URI
from reelforge.service.jobs import JobService
from reelforge.service.media import Media

PREFIXES = ("/v1/projects/", "/v1/publishers/", "/v1beta1/")
MAX_INLINE_VIDEO_BYTES = 16 * 1024 * 1024  # a larger video is answered as a URL, even without storageUri
router = APIRouter(tags=["Vertex AI"], responses=error_responses(GoogleError, 401, 429, 500))
render_error = wire.render_error


# the bodies ------------------------------------------------------------------------------------


class VertexParameters(wire.GoogleParameters):
    storageUri: str | None = Field(default=None, max_length=MAX_URI)
    resizeMode: Literal["pad", "crop"] | None = None
    compressionQuality: Literal["optimized", "lossless"] | None = None
    fps: wire.ProtoInt | None = None
    pubsubTopic: str | None = Field(default=None, max_length=MAX_URI)


class VertexPredictBody(wire.GooglePredictBody):
    """The body of predictLongRunning: Gemini's, with Vertex AI's parameters."""

    parameters: VertexParameters = Field(default_factory=VertexParameters)


class VertexFetchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    operationName: str = Field(min_length=1, max_length=MAX_URI)


# the answers -----------------------------------------------------------------------------------


class VertexVideo(Message):
    """One video: inline, or (when the request had `storageUri`) at a URL."""

    gcsUri: str | None = Field(
        default=None,
        description="With `storageUri`, or for a video over 16 MiB: the http(s) URL of the MP4, downloadable "
        "without a key.",
    )
    bytesBase64Encoded: str | None = Field(
        default=None, description="Without `storageUri`, for a video of at most 16 MiB: the MP4, base64."
    )
    mimeType: Literal["video/mp4"] = "video/mp4"


class VertexGenerateVideoResponse(Message):
    type: Literal["type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"] = Field(
        default="type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse", alias="@type"
    )
    raiMediaFilteredCount: int = Field(description="Videos withheld by safety filters: always 0 here.")
    videos: list[VertexVideo] = Field(description="One per requested sample.")


class VertexOperation(Message):
    """A video generation, as fetchPredictOperation and operations.get read it."""

    name: str = Field(description="The operation's resource name, as it was asked for.")
    done: bool = Field(
        description="False while queued or running; true once it succeeded, failed or was canceled."
    )
    response: VertexGenerateVideoResponse | None = Field(
        default=None, description="The videos, once it succeeded."
    )
    error: GoogleOperationError | None = Field(default=None, description="Why it failed or was canceled.")


def _video(media: Media, job: Job, output: Output) -> VertexVideo:
    if job.extras.storage_uri or output.video_bytes > MAX_INLINE_VIDEO_BYTES:
        return VertexVideo(gcsUri=media.url(output.video_key))
    return VertexVideo(bytesBase64Encoded=base64.b64encode(media.read(output.video_key)).decode())


def operation(media: Media, job: Job, name: str) -> VertexOperation:
    response = None
    if job.status is JobStatus.SUCCEEDED:
        videos = [_video(media, job, out) for out in job.outputs]
        response = VertexGenerateVideoResponse(raiMediaFilteredCount=0, videos=videos)
    return VertexOperation(
        name=name, done=job.status.is_terminal, response=response, error=wire.operation_error(job)
    )


def check_parameters(model: str, p: VertexParameters) -> None:
    """Vertex's own rule on top of the shared body: `fps`, when given, is the one reelforge renders at."""
    if p.fps is not None and p.fps != FPS:
        raise InvalidRequest(f"parameters.fps: {model} renders at {FPS} fps only", "parameters.fps")


async def _predict(
    scope: str, model: str, body: VertexPredictBody, service: JobService, owner: str
) -> GoogleStartedOperation:
    check_parameters(model, body.parameters)
    extras = JobExtras(dialect="vertex", storage_uri=body.parameters.storageUri)
    job = await wire.submit(service, owner, model, body, extras)
    return GoogleStartedOperation(name=f"{scope}publishers/google/models/{model}/operations/{job.id}")


def operation_id_in(name: str) -> str:
    """The operation id an `operationName` ends in; NotFound unless it names one under `/operations/`."""
    prefix, sep, operation_id = name.rpartition("/operations/")
    if not sep or not prefix or "/" in operation_id:
        raise NotFound(f"operation {name} not found")
    return operation_id


def _fetch(body: VertexFetchBody, service: JobService, owner: str) -> VertexOperation:
    name = body.operationName.strip("/")
    job = wire.job_of(service, owner, operation_id_in(name), name)
    return operation(service.media, job, name)


def _get(scope: str, model: str, operation_id: str, service: JobService, owner: str) -> VertexOperation:
    name = f"{scope}publishers/google/models/{model}/operations/{operation_id}"
    return operation(service.media, wire.job_of(service, owner, operation_id, name), name)


def _scope(project: str, location: str) -> str:
    return f"projects/{project}/locations/{location}/"


# routes: each operation under /v1 and /v1beta1, with a project and location and without them -----
# (Vertex AI express mode); every route has an operation id of its own


V1 = "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}"
V1BETA1 = "/v1beta1/projects/{project}/locations/{location}/publishers/google/models/{model}"
V1_EXPRESS = "/v1/publishers/google/models/{model}"
V1BETA1_EXPRESS = "/v1beta1/publishers/google/models/{model}"

Project = Annotated[str, PathParam(examples=["my-project"])]
Location = Annotated[str, PathParam(examples=["us-central1"])]
Model = Annotated[str, PathParam(examples=["veo-3.1-lite-generate-001"])]

CANCEL = {"response_model": wire.GoogleEmpty, "responses": error_responses(GoogleError, 404)}
PREDICT = {"response_model": GoogleStartedOperation, "responses": error_responses(GoogleError, 400, 402, 404)}
FETCH = {"response_model": VertexOperation, "responses": error_responses(GoogleError, 400, 404)}
GET = {"response_model": VertexOperation, "responses": error_responses(GoogleError, 404)}


@router.post(f"{V1}:predictLongRunning", operation_id="vertex_v1_predict_long_running", **PREDICT)
@router.post(f"{V1BETA1}:predictLongRunning", operation_id="vertex_v1beta1_predict_long_running", **PREDICT)
async def predict_long_running(
    project: Project,
    location: Location,
    model: Model,
    body: VertexPredictBody,
    service: ServiceDep,
    caller: CreatorDep,
) -> GoogleStartedOperation:
    return await _predict(_scope(project, location), model, body, service, caller.id)


@router.post(f"{V1}:fetchPredictOperation", operation_id="vertex_v1_fetch_predict_operation", **FETCH)
@router.post(
    f"{V1BETA1}:fetchPredictOperation", operation_id="vertex_v1beta1_fetch_predict_operation", **FETCH
)
def fetch_predict_operation(
    project: Project,
    location: Location,
    model: Model,
    body: VertexFetchBody,
    service: ServiceDep,
    caller: CallerDep,
) -> VertexOperation:
    return _fetch(body, service, caller.id)


@router.get(f"{V1}/operations/{{operation_id}}", operation_id="vertex_v1_get_operation", **GET)
@router.get(f"{V1BETA1}/operations/{{operation_id}}", operation_id="vertex_v1beta1_get_operation", **GET)
def get_operation(
    project: Project,
    location: Location,
    model: Model,
    operation_id: str,
    service: ServiceDep,
    caller: CallerDep,
) -> VertexOperation:
    return _get(_scope(project, location), model, operation_id, service, caller.id)


@router.post(f"{V1}/operations/{{operation_id}}:cancel", operation_id="vertex_v1_cancel_operation", **CANCEL)
@router.post(
    f"{V1BETA1}/operations/{{operation_id}}:cancel", operation_id="vertex_v1beta1_cancel_operation", **CANCEL
)
def cancel_operation(
    project: Project,
    location: Location,
    model: Model,
    operation_id: str,
    service: ServiceDep,
    caller: CallerDep,
) -> dict:
    wire.cancel(service, caller.id, operation_id)
    return {}


@router.post(
    f"{V1_EXPRESS}:predictLongRunning", operation_id="vertex_v1_express_predict_long_running", **PREDICT
)
@router.post(
    f"{V1BETA1_EXPRESS}:predictLongRunning",
    operation_id="vertex_v1beta1_express_predict_long_running",
    **PREDICT,
)
async def express_predict_long_running(
    model: Model, body: VertexPredictBody, service: ServiceDep, caller: CreatorDep
) -> GoogleStartedOperation:
    return await _predict("", model, body, service, caller.id)


@router.post(
    f"{V1_EXPRESS}:fetchPredictOperation", operation_id="vertex_v1_express_fetch_predict_operation", **FETCH
)
@router.post(
    f"{V1BETA1_EXPRESS}:fetchPredictOperation",
    operation_id="vertex_v1beta1_express_fetch_predict_operation",
    **FETCH,
)
def express_fetch_predict_operation(
    model: Model, body: VertexFetchBody, service: ServiceDep, caller: CallerDep
) -> VertexOperation:
    return _fetch(body, service, caller.id)


@router.get(
    f"{V1_EXPRESS}/operations/{{operation_id}}", operation_id="vertex_v1_express_get_operation", **GET
)
@router.get(
    f"{V1BETA1_EXPRESS}/operations/{{operation_id}}",
    operation_id="vertex_v1beta1_express_get_operation",
    **GET,
)
def express_get_operation(
    model: Model, operation_id: str, service: ServiceDep, caller: CallerDep
) -> VertexOperation:
    return _get("", model, operation_id, service, caller.id)


@router.post(
    f"{V1_EXPRESS}/operations/{{operation_id}}:cancel",
    operation_id="vertex_v1_express_cancel_operation",
    **CANCEL,
)
@router.post(
    f"{V1BETA1_EXPRESS}/operations/{{operation_id}}:cancel",
    operation_id="vertex_v1beta1_express_cancel_operation",
    **CANCEL,
)
def express_cancel_operation(model: Model, operation_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    wire.cancel(service, caller.id, operation_id)
    return {}
