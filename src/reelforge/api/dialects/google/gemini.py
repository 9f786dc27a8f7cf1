"""Google's Gemini API for Veo (`generativelanguage.googleapis.com`), under `/v1beta`.

Routes: `POST /v1beta/models/{model}:predictLongRunning` -> `{"name": "models/{model}/operations/{id}"}`;
`GET /v1beta/models/{model}/operations/{id}` -> the operation, with
`response.generateVideoResponse.generatedSamples[].video.uri` once `done` is true;
`POST /v1beta/models/{model}/operations/{id}:cancel` -> `{}` (Operations.CancelOperation);
`GET|HEAD /v1beta/files/{file}:download?alt=media` -> the MP4 (what `client.files.download`
requests); `GET /v1beta/files/{file}` -> the file's metadata; `GET /v1beta/files?pageSize&pageToken`
-> `{"files", "nextPageToken"}`; `DELETE /v1beta/files/{file}` -> `{}` (files.py);
`GET /v1beta/models[/{model}]` from the catalog. The key comes in `x-goog-api-key`, `?key=` or
`Authorization: Bearer` (api/auth.py). `google-genai`'s `models.generate_videos` +
`operations.get` + `files.download` / `list` / `get` / `delete` work unchanged.

Body: `{"instances": [{"prompt", "image", "lastFrame"}], "parameters": {"aspectRatio",
"durationSeconds", "resolution", "negativePrompt", "personGeneration", "seed", "sampleCount",
"generateAudio", "enhancePrompt"}}`. The parsing is shared with Vertex AI (vertex.py), which adds
`storageUri`, `resizeMode`, `compressionQuality`, `fps` and `pubsubTopic`.

Decisions where Google documents nothing, or reelforge differs [open]:
- Exactly one instance. `prompt` is required (Google lets image-to-video omit it), not only
  whitespace, and at most 32000 characters; `negativePrompt` at most 10000 (Google documents no
  limits: these are the server-wide maxima, core/request.py); names and ids at most 256, URLs
  at most 8192.
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
- Accepted and without effect: `parameters.enhancePrompt` (the prompt is rendered as given), the
  images' `mimeType` (the format is read from the bytes) and any field reelforge does not know.
- No cost is reported: Google's operation has no field for it (the account's balance is charged
  as in every dialect).
- `webhookConfig` (or `webhook_config`): `{"uris": [...], "user_metadata": {...}}` (`userMetadata`
  too). Up to 10 `uris`, each vetted as a webhook's `uri` is (400 `webhookConfig.uris[i]` when
  refused); `user_metadata` is a JSON object of at most 8 KB compact, sent back as
  `data.user_metadata` in the job's `video.generated` event (webhooks.py).
- A missing, unknown or revoked key is answered 403 `PERMISSION_DENIED` (STATUSES), also on the
  webhooks routes: the only key error Google's troubleshooting guide documents for the Gemini API
  (the live API answers a missing key so, and a malformed one 400 `API_KEY_INVALID`; Vertex AI
  keeps 401). Errors are Google's `{"error": {"code", "message", "status"}}`, plus a
  `google.rpc.BadRequest` detail naming the field for 400s; 404 `NOT_FOUND` for unknown
  operations ("operation ... not found"), downloads ("file ... not found") and models.
- Files (files.py): every sample of the caller's succeeded jobs, whichever API created them, is a
  file. `files.get` and `files.delete` of a file that is missing or another's answer 403
  `PERMISSION_DENIED`, as Google answers them ("file ... not found, or not accessible with this
  key"). `files.list` is newest job first, a job's samples in order; `pageSize` defaults to 10
  and is coerced to at most 100 (Google's); `pageToken` is the name of the next page's first
  file, and one that names none of the caller's files (deleted since) is 400. Deleting a file
  deletes the job it is a sample of, with its other samples and its operation (reelforge keeps a
  job's samples together). HEAD on a download URI answers GET's headers (Range too), no body.
- A create the account's balance does not cover: 402 `RESOURCE_EXHAUSTED`, what the Gemini API
  answers when a project's prepaid credits are depleted. Over the key's rate limit or the
  account's concurrency limit: 429 `RESOURCE_EXHAUSTED`, as Google's rate limits, with
  `Retry-After`.
- The operation's model segment is not checked: the operation id alone finds the job. Pending
  operations read `{"name", "done": false}`; a failed one has `error: {code, message}` with a
  google.rpc code (3 INVALID_ARGUMENT for unusable input or an upstream's refusal, 14 UNAVAILABLE
  when no upstream could take it, 13 INTERNAL for a render failure, 1 CANCELLED when it was
  canceled or deleted).
- `:cancel` follows google.longrunning's CancelOperation (the binding `{name=.../operations/*}:cancel`
  on the operation's own name): an empty body or `{}`, answered `{}`. It is best effort, as Google
  documents: a queued operation is canceled at once, a running one once its render stops (within
  one step); either then reads `done` with error 1 CANCELLED. An operation that is already done
  stays as it was (the client sees on its next poll that it completed despite the cancel), also
  answered `{}`; an unknown one is 404. A cancel gives back the reserved credits.
- Video URIs are `<base_url>/v1beta/files/<job hex>v<sample>:download?alt=media` and need the
  owner's key, like Google's. The download serves the file itself (Google redirects to storage;
  with bucket storage reelforge redirects too). Because the SDK only shortens `https://` URIs to a
  file name, over plain http it requests `/v1beta/files/<the whole URI>:download`; that path is
  understood too.
"""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from reelforge.api.auth import CallerDep, CreatorDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.google import files, wire
from reelforge.api.dialects.google.files import file_uri
from reelforge.api.dialects.google.wire import (
    GoogleError,
    GoogleOperationError,
    GoogleStartedOperation,
    Message,
)
from reelforge.api.openapi import error_responses
from reelforge.core.catalog import ModelSpec
from reelforge.core.errors import InvalidRequest, NotFound, Unauthorized
from reelforge.core.job import Job, JobExtras, JobStatus
from reelforge.service.jobs import JobService

PREFIX = "/v1beta/"
router = APIRouter(
    prefix="/v1beta", tags=["Gemini API"], responses=error_responses(GoogleError, 403, 429, 500)
)
render_error = wire.render_error
# a missing, unknown or revoked key: 403 PERMISSION_DENIED, the only key error the Gemini API documents
STATUSES = wire.STATUSES | {Unauthorized: 403}

# Gemini's own answers ---------------------------------------------------------------------------


class GeminiVideo(Message):
    uri: str = Field(
        description="Where to download the MP4: `.../v1beta/files/{file}:download?alt=media`, with the key."
    )


class GeminiGeneratedSample(Message):
    video: GeminiVideo


class GeminiGenerateVideoResponse(Message):
    generatedSamples: list[GeminiGeneratedSample] = Field(description="One per requested sample.")


class GeminiPredictResponse(Message):
    type: Literal["type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"] = (
        Field(
            default="type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
            alias="@type",
        )
    )
    generateVideoResponse: GeminiGenerateVideoResponse


class GeminiOperation(Message):
    """A video generation, as `operations.get` reads it."""

    name: str = Field(description="`models/{model}/operations/{id}`.")
    done: bool = Field(
        description="False while queued or running; true once it succeeded, failed or was canceled."
    )
    response: GeminiPredictResponse | None = Field(default=None, description="The videos, once it succeeded.")
    error: GoogleOperationError | None = Field(default=None, description="Why it failed or was canceled.")


class GeminiModel(Message):
    """A catalog model, by one of its names."""

    name: str = Field(description="`models/{model}`.")
    baseModelId: str = Field(description="The name the model is listed under.")
    version: str = Field(description="The id of the catalog entry the name belongs to.")
    displayName: str
    description: str = Field(description="The catalog entry, its sizes and durations.")
    supportedGenerationMethods: list[Literal["predictLongRunning"]]


class GeminiModelList(Message):
    models: list[GeminiModel]
    nextPageToken: str | None = Field(
        default=None, description="Pass as `pageToken` for the next page; absent on the last."
    )


MAX_WEBHOOK_URIS = 10
MAX_USER_METADATA = 8192


class GeminiWebhookConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uris: list[str] = Field(default_factory=list, max_length=MAX_WEBHOOK_URIS)
    user_metadata: dict | None = Field(
        default=None, validation_alias=AliasChoices("user_metadata", "userMetadata")
    )


class GeminiPredictBody(wire.GooglePredictBody):
    webhookConfig: GeminiWebhookConfig | None = Field(
        default=None, validation_alias=AliasChoices("webhookConfig", "webhook_config")
    )


def extras(service: JobService, config: GeminiWebhookConfig | None) -> JobExtras:
    """The job's extras, with its per-request webhooks (each URI vetted: InvalidRequest)."""
    if config is None:
        return JobExtras(dialect="gemini")
    for i, uri in enumerate(config.uris):
        service.webhooks.vet(uri, f"webhookConfig.uris.{i}")
    metadata = config.user_metadata
    if metadata is not None and len(json.dumps(metadata, separators=(",", ":"))) > MAX_USER_METADATA:
        field = "webhookConfig.user_metadata"
        raise InvalidRequest(f"{field}: at most {MAX_USER_METADATA} bytes of JSON", field)
    return JobExtras(dialect="gemini", webhook_uris=tuple(config.uris), webhook_metadata=metadata)


def operation(base_url: str, job: Job) -> GeminiOperation:
    response = None
    if job.status is JobStatus.SUCCEEDED:
        samples = [
            GeminiGeneratedSample(video=GeminiVideo(uri=file_uri(base_url, job, out))) for out in job.outputs
        ]
        response = GeminiPredictResponse(
            generateVideoResponse=GeminiGenerateVideoResponse(generatedSamples=samples)
        )
    return GeminiOperation(
        name=f"models/{job.request.model}/operations/{job.id}",
        done=job.status.is_terminal,
        response=response,
        error=wire.operation_error(job),
    )


def model_resource(name: str, spec: ModelSpec) -> GeminiModel:
    return GeminiModel(
        name=f"models/{name}",
        baseModelId=name,
        version=spec.id,
        displayName=name,
        description=f"reelforge catalog model {spec.id}: {', '.join(spec.sizes)}, "
        f"{'/'.join(map(str, spec.durations))} s",
        supportedGenerationMethods=["predictLongRunning"],
    )


def model_page(names: list[tuple[str, ModelSpec]], page_size: int, page_token: str | None) -> GeminiModelList:
    """One page of the listed names; a page size of 0 means 50, a token that is no offset the start."""
    start = int(page_token) if page_token and page_token.isdigit() else 0
    size = page_size or 50
    page = names[start : start + size]
    more = start + size < len(names)
    return GeminiModelList(
        models=[model_resource(n, s) for n, s in page], nextPageToken=str(start + size) if more else None
    )


# routes ------------------------------------------------------------------------------------------


ModelPath = Annotated[str, PathParam(examples=["veo-3.1-lite-generate-preview"])]


@router.post(
    "/models/{model}:predictLongRunning",
    response_model=GoogleStartedOperation,
    responses=error_responses(GoogleError, 400, 402, 404),
)
async def predict_long_running(
    model: ModelPath, body: GeminiPredictBody, service: ServiceDep, caller: CreatorDep
) -> GoogleStartedOperation:
    job_extras = await run_in_threadpool(extras, service, body.webhookConfig)
    job = await wire.submit(service, caller.id, model, body, job_extras)
    return GoogleStartedOperation(name=f"models/{model}/operations/{job.id}")


@router.get(
    "/models/{model}/operations/{operation_id}",
    response_model=GeminiOperation,
    responses=error_responses(GoogleError, 404),
)
def get_operation(model: str, operation_id: str, service: ServiceDep, caller: CallerDep) -> GeminiOperation:
    return operation(service.base_url, wire.job_of(service, caller.id, operation_id))


@router.post(
    "/models/{model}/operations/{operation_id}:cancel",
    response_model=wire.GoogleEmpty,
    responses=error_responses(GoogleError, 404),
)
def cancel_operation(model: str, operation_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    wire.cancel(service, caller.id, operation_id)
    return {}


@router.get("/models", response_model=GeminiModelList, responses=error_responses(GoogleError, 400))
def list_models(
    service: ServiceDep,
    caller: CallerDep,
    pageSize: Annotated[int, Query(ge=0, le=1000)] = 50,
    pageToken: str | None = None,
) -> GeminiModelList:
    names = [(n, s) for n, s in service.catalog.names() if "/" not in n]
    return model_page(names, pageSize, pageToken)


@router.get("/models/{model}", response_model=GeminiModel, responses=error_responses(GoogleError, 404))
def get_model(model: str, service: ServiceDep, caller: CallerDep) -> GeminiModel:
    if model not in service.catalog or "/" in model:
        raise NotFound(f"models/{model} is not found")
    return model_resource(model, service.catalog.get(model))


router.include_router(files.router)
