"""What Google's Gemini API and Vertex AI share: the predict body, protobuf-JSON integers, the
translation of a body into a draft, errors (`{"error": {"code", "message", "status"}}`), the
answer to predictLongRunning and the error of a failed operation. Decisions are listed in
gemini.py and vertex.py.

Answers are `Message`s: like protobuf's JSON mapping, a field left None is omitted from the body
rather than sent as null, and the OpenAPI document shows it optional, not nullable.
"""

import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from reelforge.api.wire import client_fields
from reelforge.core.errors import InvalidRequest, NotFound, StorageFull
from reelforge.core.job import FailureCode, Job, JobExtras, JobStatus
from reelforge.core.request import (
    MAX_NAME,
    MAX_NEGATIVE_PROMPT,
    MAX_PROMPT,
    MAX_URI,
    SEED_MAX,
    Draft,
    FrameInput,
    FrameKind,
    Orientation,
)
from reelforge.service.jobs import JobService

GrpcStatus = Literal[
    "INVALID_ARGUMENT",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "UNIMPLEMENTED",
    "FAILED_PRECONDITION",
    "RESOURCE_EXHAUSTED",
    "INTERNAL",
    "UNAVAILABLE",
]
GRPC_STATUS: dict[int, GrpcStatus] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "RESOURCE_EXHAUSTED",  # the Gemini API's answer when prepaid credits run out
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "FAILED_PRECONDITION",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
# google.rpc has no 507: a full disk is 503 UNAVAILABLE, which Google's clients retry
STATUSES = {StorageFull: 503}
# google.rpc.Code of a failed operation, by reelforge's failure code
OPERATION_ERROR = {
    FailureCode.INVALID_INPUT: 3,
    FailureCode.UPSTREAM_REJECTED: 3,  # INVALID_ARGUMENT: the upstream refused the request
    FailureCode.UPSTREAM_UNAVAILABLE: 14,  # UNAVAILABLE
}
CANCELLED = 1
INTERNAL = 13
_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


def google_field(field: str | None) -> str | None:
    """`instances.0.image` -> `instances[0].image`, as Google names fields."""
    return _INDEX.sub(r"[\1]", field) if field else field


def _schema_of_what_is_sent(schema: dict[str, Any]) -> None:
    """A field that defaults to None is left out of the body, never sent as null: in the schema it
    is optional, of its own type only. Every other field is always sent, so it is required (see
    `json_schema_serialization_defaults_required`)."""
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [])
        if prop.get("default", ...) is None and {"type": "null"} in options:
            del prop["default"]
            options.remove({"type": "null"})
            if len(options) == 1:
                prop.update(prop.pop("anyOf")[0])
            if name in schema.get("required", ()):  # the serialization schema
                schema["required"].remove(name)


class Message(BaseModel):
    """A protobuf message as JSON: fields left None are omitted, as proto3's JSON mapping does."""

    model_config = ConfigDict(
        json_schema_serialization_defaults_required=True, json_schema_extra=_schema_of_what_is_sent
    )

    # no return annotation: pydantic would document the serialized model as that type
    @model_serializer(mode="wrap")
    def _omit_none(self, handler: SerializerFunctionWrapHandler):
        return {key: value for key, value in handler(self).items() if value is not None}


# errors ----------------------------------------------------------------------------------------


class GoogleFieldViolation(Message):
    field: str = Field(description="The request field at fault, e.g. `instances[0].image`.")
    description: str = Field(description="What is wrong with it (the error's message).")


class GoogleBadRequest(Message):
    type: Literal["type.googleapis.com/google.rpc.BadRequest"] = Field(
        default="type.googleapis.com/google.rpc.BadRequest", alias="@type"
    )
    fieldViolations: list[GoogleFieldViolation]


class GoogleErrorStatus(Message):
    code: int = Field(description="The HTTP status code.")
    message: str = Field(description="What went wrong, in words.")
    status: GrpcStatus = Field(description="The google.rpc.Code name of the HTTP status.")
    details: list[GoogleBadRequest] | None = Field(
        default=None,
        description="Present on a 400 that is about one field: a google.rpc.BadRequest naming it.",
    )


class GoogleError(Message):
    """Every error the Gemini API and Vertex AI answer."""

    error: GoogleErrorStatus


def render_error(status: int, message: str, field: str | None, code: str) -> dict:
    named = google_field(field)
    if field and named != field and message.startswith(field):
        message = named + message[len(field) :]
    details = None
    if named and status == 400:
        details = [GoogleBadRequest(fieldViolations=[GoogleFieldViolation(field=named, description=message)])]
    error = GoogleErrorStatus(
        code=status,
        message=message,
        status=GRPC_STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"),
        details=details,
    )
    return GoogleError(error=error).model_dump(by_alias=True)


# operations ------------------------------------------------------------------------------------


class GoogleStartedOperation(Message):
    """The answer to predictLongRunning: the long-running operation to poll."""

    name: str = Field(description="The operation's resource name; its last segment is the operation id.")


class GoogleOperationError(Message):
    """Why an operation ended without videos (a google.rpc.Status)."""

    code: Literal[1, 3, 13, 14] = Field(
        description="google.rpc.Code: 1 CANCELLED (canceled or deleted elsewhere), 3 INVALID_ARGUMENT "
        "(an input could not be used, or an upstream provider refused it), 13 INTERNAL (the render "
        "failed), 14 UNAVAILABLE (no upstream provider could take it)."
    )
    message: str


class GoogleEmpty(Message):
    """google.protobuf.Empty: the answer to an operation's `:cancel`."""


def job_of(service: JobService, owner: str, operation_id: str, name: str | None = None) -> Job:
    """The caller's job behind an operation id; NotFound naming the operation (`name`, else the id),
    in Google's words rather than the service's "generation"."""
    try:
        return service.get(job_id_of(operation_id), owner)
    except NotFound:
        raise NotFound(f"operation {name or operation_id} not found") from None


def cancel(service: JobService, owner: str, operation_id: str) -> None:
    """Operations.CancelOperation: best effort, as Google documents it. A queued or running
    operation ends `done` with error 1 CANCELLED (a running one once its render stops); one that is
    already done stays as it was. NotFound for an unknown operation."""
    try:
        service.cancel(job_id_of(operation_id), owner)
    except NotFound:
        raise NotFound(f"operation {operation_id} not found") from None


# the predict body ------------------------------------------------------------------------------


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


class GoogleInlineData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mimeType: str | None = Field(default=None, max_length=MAX_NAME)
    data: str = Field(min_length=1)


class GoogleImage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bytesBase64Encoded: str | None = None
    inlineData: GoogleInlineData | None = None
    gcsUri: str | None = Field(default=None, max_length=MAX_URI)
    uri: str | None = Field(default=None, max_length=MAX_URI)
    mimeType: str | None = Field(default=None, max_length=MAX_NAME)


class GoogleInstance(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    image: GoogleImage | None = None
    lastFrame: GoogleImage | None = None
    video: dict | None = None
    referenceImages: list | None = None
    mask: dict | None = None


class GoogleParameters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    aspectRatio: Literal["16:9", "9:16"] | None = None
    durationSeconds: ProtoInt | None = Field(default=None, gt=0)
    resolution: str | None = Field(default=None, max_length=MAX_NAME)
    negativePrompt: str | None = Field(default=None, max_length=MAX_NEGATIVE_PROMPT)
    personGeneration: Literal["allow_adult", "dont_allow", "allow_all"] | None = None
    seed: ProtoInt | None = Field(default=None, ge=0, le=SEED_MAX)
    sampleCount: ProtoInt | None = Field(default=None, ge=1, le=4)
    generateAudio: StrictBool | None = None
    enhancePrompt: StrictBool | None = None


class GooglePredictBody(BaseModel):
    """The body of predictLongRunning as the Gemini API takes it (Vertex AI adds parameters)."""

    model_config = ConfigDict(extra="ignore")

    instances: list[GoogleInstance] = Field(min_length=1, max_length=1)
    parameters: GoogleParameters = Field(default_factory=GoogleParameters)


def frame(image: GoogleImage | None, field: str) -> FrameInput | None:
    """An `image` / `lastFrame` object as an input frame, whichever way it carries the image."""
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
        return FrameInput(FrameKind.BASE64, value, sub)
    if value.lower().startswith("gs://"):
        raise InvalidRequest(
            f"{field}.{name}: gs:// URIs cannot be read here; send bytesBase64Encoded or an http(s) URL",
            f"{field}.{name}",
        )
    return FrameInput(FrameKind.SOURCE, value, f"{field}.{name}")


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


def to_draft(model: str, body: GooglePredictBody) -> Draft:
    """A predict body as the canonical draft: 16:9 unless asked, the model's defaults otherwise."""
    instance, p = body.instances[0], body.parameters
    for name in ("video", "referenceImages", "mask"):
        if getattr(instance, name) is not None:
            raise InvalidRequest(f"instances.0.{name}: not supported by {model}", f"instances.0.{name}")
    return Draft(
        model=model,
        prompt=instance.prompt,
        negative_prompt=p.negativePrompt,
        duration=p.durationSeconds,
        resolution=p.resolution.strip().lower() if p.resolution is not None else None,
        orientation=Orientation.PORTRAIT if p.aspectRatio == "9:16" else Orientation.LANDSCAPE,
        audio=p.generateAudio,
        seed=p.seed,
        samples=p.sampleCount or 1,
        person_generation=p.personGeneration or "allow_adult",
        start=frame(instance.image, "instances.0.image"),
        end=frame(instance.lastFrame, "instances.0.lastFrame"),
    )


async def submit(
    service: JobService, owner: str, model: str, body: GooglePredictBody, extras: JobExtras
) -> Job:
    if model not in service.catalog:  # the model is part of the URL: an unknown one is a 404
        raise NotFound(f"models/{model} is not found, or is not supported for predictLongRunning")
    with client_fields(CLIENT_FIELDS):
        return await service.submit_async(to_draft(model, body), owner, extras)


def operation_error(job: Job) -> GoogleOperationError | None:
    """google.rpc.Status of a failed or canceled job; None otherwise."""
    if job.status is JobStatus.CANCELED:
        return GoogleOperationError(code=CANCELLED, message="the operation was canceled")
    if job.status is JobStatus.FAILED:
        return GoogleOperationError(
            code=OPERATION_ERROR.get(job.error_code, INTERNAL),
            message=job.error_message or "video generation failed",
        )
    return None


def job_id_of(operation_id: str) -> str:
    """The job id in an operation id (a UUID, with or without dashes); NotFound otherwise."""
    try:
        return str(uuid.UUID(operation_id))
    except ValueError:
        raise NotFound(f"operation {operation_id} not found") from None
