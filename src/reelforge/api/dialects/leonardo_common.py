"""What Leonardo's v1 and v2 APIs share: the error body, cost, status words, the generation object
and how an image reference (`{id, type}`) becomes an input frame.

Decisions where Leonardo documents nothing [open]:
- Errors carry the documented ApiError fields (`message`, `path`, `locations`, `extensions.code`)
  plus `error` (the same text), which is what Leonardo's live API puts first.
- `cost` is reported in DOLLARS from the catalog's list price; `apiCreditCost` is null.
- Frames may reference uploaded init images (`UPLOADED` / `INIT`). Generated images do not exist
  in reelforge, so `GENERATED`, `GENERATION` and `VARIATION` references are refused with 400.
- Canceled jobs read as `FAILED`, the only terminal failure word Leonardo has.
- Types are JSON types, as Leonardo's docs give them (integer, boolean) and as its GraphQL-backed
  API coerces them: a number or boolean sent as a string (`"8"`, `"false"`), or a boolean where
  an integer belongs, is refused with 400 rather than silently coerced. An integral float (`8.0`)
  is the same JSON number as `8` and is accepted.
- `path` names the field of the client's own request (`["parameters", "duration"]` in v2,
  `["duration"]` in v1), also for the checks the catalog makes with canonical names; a size
  that is not allowed points at the width (`["width"]`, `["parameters", "width"]`).
"""

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from reelforge.catalog import ModelSpec
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import Job, JobStatus
from reelforge.core.service import JobService

V1 = "/api/rest/v1"
V2 = "/api/rest/v2"

UPLOADED_TYPES = {"UPLOADED", "INIT"}
RESOLUTION_TIERS = {"RESOLUTION_480": "480p", "RESOLUTION_720": "720p", "RESOLUTION_1080": "1080p"}
STATUS_WORDS = {
    JobStatus.QUEUED: "PENDING",
    JobStatus.RUNNING: "PENDING",
    JobStatus.SUCCEEDED: "COMPLETE",
    JobStatus.FAILED: "FAILED",
    JobStatus.CANCELED: "FAILED",
}


def _json_number(value: object) -> object:
    if isinstance(value, str | bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_number)]
"""An integer that must arrive as a JSON number: no `"8"`, no `true`."""


@contextmanager
def client_fields(names: Mapping[str, str]) -> Iterator[None]:
    """Re-label an InvalidRequest raised with a canonical field name (`duration`, `size`,
    `start_image`, ...) with the name of the field the client sent, so `path` points into its body."""
    try:
        yield
    except InvalidRequest as exc:
        if exc.field not in names:
            raise
        field = names[exc.field]
        message = exc.message
        if message.startswith(f"{exc.field}:"):
            message = field + message[len(exc.field) :]
        raise InvalidRequest(message, field) from None


def render_error(status: int, message: str, field: str | None, code: str) -> dict:
    return {
        "error": message,
        "message": message,
        "path": field.split(".") if field else [],
        "locations": [],
        "extensions": {"code": code, "status": status},
    }


def cost(job: Job) -> dict:
    return {"amount": str(job.cost_usd), "unit": "DOLLARS"}


def image_ref(image_id: str, image_type: str, field: str) -> str:
    if image_type not in UPLOADED_TYPES:
        raise InvalidRequest(
            f"{field}: only uploaded init images can be used as frames here (type UPLOADED)", field
        )
    return image_id


def size_for(
    spec: ModelSpec, resolution: str | None, width: int | None, height: int | None
) -> tuple[int, int]:
    return spec.resolve_size(RESOLUTION_TIERS.get(resolution) if resolution else None, width, height)


def output_id(job: Job, index: int) -> str:
    return str(uuid.uuid5(uuid.UUID(job.id), str(index)))


def generation(service: JobService, job: Job) -> dict:
    """The `generations_by_pk` object of `GET /generations/{id}`."""
    req = job.request
    images = [
        {
            "id": output_id(job, out.index),
            "url": service.media_url(out.poster_key),
            "nsfw": False,
            "likeCount": 0,
            "motion": True,
            "motionModel": req.model,
            "motionMP4URL": service.media_url(out.video_key),
            "motionStrength": job.extra.get("motionStrength"),
            "imageToVideo": req.start_image is not None,
            "generated_image_variation_generics": [],
        }
        for out in job.outputs
    ]
    return {
        "id": job.id,
        "createdAt": JobService.timestamp(job.created_at),
        "status": STATUS_WORDS[job.status],
        "prompt": req.prompt,
        "negativePrompt": req.negative_prompt,
        "imageHeight": req.height,
        "imageWidth": req.width,
        "modelId": req.model,
        "public": bool(job.extra.get("public", False)),
        "seed": job.seed,
        "inferenceSteps": None,
        "guidanceScale": None,
        "photoReal": False,
        "promptMagic": False,
        "generated_images": images,
        "generation_elements": [],
    }
