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

from reelforge.api.wire import iso_z
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import Job, JobStatus
from reelforge.core.request import FrameInput, FrameKind
from reelforge.service.media import Media

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


def image_ref(image_id: str, image_type: str, field: str) -> FrameInput:
    """A frame given as `{id, type}`: one of the caller's uploaded init images."""
    if image_type not in UPLOADED_TYPES:
        raise InvalidRequest(
            f"{field}: only uploaded init images can be used as frames here (type UPLOADED)", field
        )
    return FrameInput(FrameKind.UPLOAD, image_id)


def tier(resolution: str | None) -> str | None:
    """`RESOLUTION_720` -> `720p`."""
    return RESOLUTION_TIERS.get(resolution) if resolution else None


def output_id(job: Job, index: int) -> str:
    return str(uuid.uuid5(uuid.UUID(job.id), str(index)))


def generation(media: Media, job: Job) -> dict:
    """The `generations_by_pk` object of `GET /generations/{id}`."""
    req = job.request
    images = [
        {
            "id": output_id(job, out.index),
            "url": media.url(out.poster_key),
            "nsfw": False,
            "likeCount": 0,
            "motion": True,
            "motionModel": req.model,
            "motionMP4URL": media.url(out.video_key),
            "motionStrength": job.extras.motion_strength,
            "imageToVideo": req.start_image is not None,
            "generated_image_variation_generics": [],
        }
        for out in job.outputs
    ]
    return {
        "id": job.id,
        "createdAt": iso_z(job.created_at),
        "status": STATUS_WORDS[job.status],
        "prompt": req.prompt,
        "negativePrompt": req.negative_prompt,
        "imageHeight": req.height,
        "imageWidth": req.width,
        "modelId": req.model,
        "public": job.extras.public,
        "seed": job.seed,
        "inferenceSteps": None,
        "guidanceScale": None,
        "photoReal": False,
        "promptMagic": False,
        "generated_images": images,
        "generation_elements": [],
    }
