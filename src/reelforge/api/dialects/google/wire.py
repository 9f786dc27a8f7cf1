"""What Google's Gemini API and Vertex AI share: the predict body, protobuf-JSON integers, the
translation of a body into a draft, errors (`{"error": {"code", "message", "status"}}`) and the
error of a failed operation. Decisions are listed in gemini.py and vertex.py.
"""

import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

from reelforge.api.wire import client_fields
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import FailureCode, Job, JobExtras, JobStatus
from reelforge.core.request import SEED_MAX, Draft, FrameInput, FrameKind, Orientation
from reelforge.service.jobs import JobService

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
OPERATION_ERROR = {FailureCode.INVALID_INPUT: 3}
CANCELLED = 1
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


def frame(image: Image | None, field: str) -> FrameInput | None:
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


def to_draft(model: str, body: PredictBody) -> Draft:
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


def submit(service: JobService, owner: str, model: str, body: PredictBody, extras: JobExtras) -> Job:
    if model not in service.catalog:  # the model is part of the URL: an unknown one is a 404
        raise NotFound(f"models/{model} is not found, or is not supported for predictLongRunning")
    with client_fields(CLIENT_FIELDS):
        return service.submit(to_draft(model, body), owner, extras)


def operation_error(job: Job) -> dict | None:
    """google.rpc.Status of a failed or canceled job; None otherwise."""
    if job.status is JobStatus.CANCELED:
        return {"code": CANCELLED, "message": "the operation was canceled"}
    if job.status is JobStatus.FAILED:
        return {
            "code": OPERATION_ERROR.get(job.error_code, INTERNAL),
            "message": job.error_message or "video generation failed",
        }
    return None


def job_id_of(operation_id: str) -> str:
    """The job id in an operation id (a UUID, with or without dashes); NotFound otherwise."""
    try:
        return str(uuid.UUID(operation_id))
    except ValueError:
        raise NotFound(f"operation {operation_id} not found") from None
