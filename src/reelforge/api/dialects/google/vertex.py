"""Vertex AI's Veo API (`aiplatform.googleapis.com`): predictLongRunning + fetchPredictOperation.

Routes, under `/v1` and `/v1beta1` (google-genai's Vertex mode uses v1beta1):
- `POST /{v}/projects/{project}/locations/{location}/publishers/google/models/{model}:predictLongRunning`
  -> `{"name": "projects/{project}/locations/{location}/publishers/google/models/{model}/operations/{id}"}`
- `POST .../models/{model}:fetchPredictOperation {"operationName"}` -> the operation; when `done`,
  `response.videos[{gcsUri | bytesBase64Encoded, mimeType}]`
- `GET .../models/{model}/operations/{id}` -> the same operation
- the same three without `projects/{project}/locations/{location}/` (Vertex AI express mode,
  what google-genai sends with `vertexai=True` and an API key).
The key is the OAuth token in `Authorization: Bearer`, or an express-mode key in `x-goog-api-key`
or `?key=` (api/auth.py); like every key it names a user, projects and locations do not.

The body is Gemini's (google/wire.py: instances[0].prompt/image/lastFrame, parameters.*) plus Vertex's
`storageUri`, `resizeMode`, `compressionQuality`, `fps` and `pubsubTopic`. Images are inline base64
(`bytesBase64Encoded`) or `gcsUri` holding an http(s) URL, fetched SSRF-safely.

Decisions where Google documents nothing, or reelforge differs [open]:
- Result form: without `storageUri` the videos come back inline as `bytesBase64Encoded`, as
  Vertex does. With `storageUri` reelforge does not write to that bucket (it cannot); each video's
  `gcsUri` is instead the http(s) URL of the reelforge media file, downloadable without a key.
- `resizeMode` (`pad` | `crop`) is accepted; reelforge always centre-crops. `compressionQuality`
  and `pubsubTopic` are accepted and have no effect. `fps` must be 24 when given.
- `gs://` image URIs cannot be read: 400. Errors, defaults, integer spelling, status words and
  operation error codes are Gemini's (see gemini.py); 401 `UNAUTHENTICATED` without a key, 404
  `NOT_FOUND` for an unknown model (it is part of the URL) or operation. `operationName` must
  name an operation under `/operations/`; the project, location and model in it are not checked,
  the id finds the job.
"""

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.google import wire
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import Job, JobExtras, JobStatus
from reelforge.core.request import FPS
from reelforge.service.jobs import JobService
from reelforge.service.media import Media

PREFIXES = ("/v1/projects/", "/v1/publishers/", "/v1beta1/")
router = APIRouter(tags=["Vertex AI"])

RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
render_error = wire.render_error


class Parameters(wire.Parameters):
    storageUri: str | None = None
    resizeMode: Literal["pad", "crop"] | None = None
    compressionQuality: Literal["optimized", "lossless"] | None = None
    fps: wire.ProtoInt | None = None
    pubsubTopic: str | None = None


class PredictBody(wire.PredictBody):
    parameters: Parameters = Field(default_factory=Parameters)


class FetchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    operationName: str = Field(min_length=1)


def _video(media: Media, job: Job, key: str) -> dict:
    if job.extras.storage_uri:
        return {"gcsUri": media.url(key), "mimeType": "video/mp4"}
    return {"bytesBase64Encoded": base64.b64encode(media.read(key)).decode(), "mimeType": "video/mp4"}


def operation(media: Media, job: Job, name: str) -> dict:
    op: dict[str, Any] = {"name": name, "done": job.status.is_terminal}
    if job.status is JobStatus.SUCCEEDED:
        op["response"] = {
            "@type": RESPONSE_TYPE,
            "raiMediaFilteredCount": 0,
            "videos": [_video(media, job, out.video_key) for out in job.outputs],
        }
    elif error := wire.operation_error(job):
        op["error"] = error
    return op


def _predict(scope: str, model: str, body: PredictBody, service: JobService, owner: str) -> dict:
    p = body.parameters
    if p.fps is not None and p.fps != FPS:
        raise InvalidRequest(f"parameters.fps: {model} renders at {FPS} fps only", "parameters.fps")
    job = wire.submit(service, owner, model, body, JobExtras(dialect="vertex", storage_uri=p.storageUri))
    return {"name": f"{scope}publishers/google/models/{model}/operations/{job.id}"}


def _fetch(body: FetchBody, service: JobService, owner: str) -> dict:
    name = body.operationName.strip("/")
    prefix, sep, operation_id = name.rpartition("/operations/")
    if not sep or not prefix or "/" in operation_id:
        raise NotFound(f"operation {name} not found")
    return operation(service.media, service.get(wire.job_id_of(operation_id), owner), name)


def _get(scope: str, model: str, operation_id: str, service: JobService, owner: str) -> dict:
    job = service.get(wire.job_id_of(operation_id), owner)
    return operation(service.media, job, f"{scope}publishers/google/models/{model}/operations/{operation_id}")


def _scope(project: str, location: str) -> str:
    return f"projects/{project}/locations/{location}/"


# project-scoped routes (v1 documented in the OpenAPI document, v1beta1 the same) ---------------


Project = Annotated[str, PathParam(examples=["my-project"])]
Location = Annotated[str, PathParam(examples=["us-central1"])]
Model = Annotated[str, PathParam(examples=["veo-3.1-lite-generate-001"])]


def predict_long_running(
    project: Project,
    location: Location,
    model: Model,
    body: PredictBody,
    service: ServiceDep,
    caller: CallerDep,
) -> dict:
    return _predict(_scope(project, location), model, body, service, caller.id)


def fetch_predict_operation(
    project: str, location: str, model: str, body: FetchBody, service: ServiceDep, caller: CallerDep
) -> dict:
    return _fetch(body, service, caller.id)


def get_operation(
    project: str, location: str, model: str, operation_id: str, service: ServiceDep, caller: CallerDep
) -> dict:
    return _get(_scope(project, location), model, operation_id, service, caller.id)


# express mode: no project or location in the path ----------------------------------------------


def express_predict_long_running(
    model: str, body: PredictBody, service: ServiceDep, caller: CallerDep
) -> dict:
    return _predict("", model, body, service, caller.id)


def express_fetch_predict_operation(
    model: str, body: FetchBody, service: ServiceDep, caller: CallerDep
) -> dict:
    return _fetch(body, service, caller.id)


def express_get_operation(model: str, operation_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    return _get("", model, operation_id, service, caller.id)


_ROUTES = (
    ("/v1/projects/{project}/locations/{location}", True, ""),
    ("/v1beta1/projects/{project}/locations/{location}", False, ""),
    ("/v1", False, "express_"),
    ("/v1beta1", False, "express_"),
)
_HANDLERS = globals()
for _base, _documented, _kind in _ROUTES:
    _models = f"{_base}/publishers/google/models/{{model}}"
    for _suffix, _name, _method in (
        (":predictLongRunning", "predict_long_running", "POST"),
        (":fetchPredictOperation", "fetch_predict_operation", "POST"),
        ("/operations/{operation_id}", "get_operation", "GET"),
    ):
        router.add_api_route(
            _models + _suffix, _HANDLERS[_kind + _name], methods=[_method], include_in_schema=_documented
        )
