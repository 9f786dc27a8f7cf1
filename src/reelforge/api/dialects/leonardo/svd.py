"""Leonardo SVD motion (seed 003): `POST /api/rest/v1/generations-motion-svd` animates one image
with the catalog's `SVD` model (Stable Video Diffusion: a short, silent clip, no prompt, no end
frame). Results are read like every Leonardo generation (v1 `GET /generations/{id}`).

Decisions [open]:
- `imageId` is one of the caller's uploaded init images, whatever `isInitImage` says when absent
  or true; `isInitImage: false` (a generated image) and `isVariation: true` are refused with 400:
  SVD animates uploads only (image-to-video takes generated images as `GENERATED` frames).
- The clip is the SVD entry's only length (4 s) and silent; its size is the entry's landscape
  size, or its portrait size when the image is taller than wide; the image is centre-cropped.
- `motionStrength` is an integer 1..10 (Leonardo's range in its app; default 5), recorded with
  the generation; the preview engine's camera move does not vary with it.
- The generation's `prompt` reads "SVD motion" (SVD takes no prompt; the core needs one).
"""

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from reelforge.api.auth import CreatorDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.leonardo import wire
from reelforge.api.dialects.leonardo.v1 import CLIENT_FIELDS, LeonardoGenerationJob, created
from reelforge.api.dialects.leonardo.wire import WireModel
from reelforge.api.wire import JsonInt, client_fields
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import JobExtras
from reelforge.core.request import MAX_NAME, Draft, FrameInput, FrameKind, Orientation

router = APIRouter(prefix=wire.V1, tags=["Leonardo v1"], responses=wire.errors(401, 429, 500))

SVD_MODEL = "SVD"
SVD_PROMPT = "SVD motion"
DEFAULT_MOTION_STRENGTH = 5


class MotionSvdBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    imageId: str = Field(min_length=1, max_length=MAX_NAME)
    isPublic: StrictBool | None = None
    isInitImage: StrictBool | None = None
    isVariation: StrictBool | None = None
    motionStrength: JsonInt | None = Field(default=None, ge=1, le=10)


def to_draft(body: MotionSvdBody) -> Draft:
    if body.isVariation:
        raise InvalidRequest("isVariation: only uploaded init images can be animated here", "isVariation")
    if body.isInitImage is False:
        raise InvalidRequest("isInitImage: only uploaded init images can be animated here", "isInitImage")
    return Draft(
        model=SVD_MODEL,
        prompt=SVD_PROMPT,
        audio=False,
        orientation=Orientation.START_FRAME,
        start=FrameInput(FrameKind.UPLOAD, body.imageId),
    )


def extras(body: MotionSvdBody, key_id: str) -> JobExtras:
    strength = DEFAULT_MOTION_STRENGTH if body.motionStrength is None else body.motionStrength
    return JobExtras(dialect="leonardo", public=bool(body.isPublic), motion_strength=strength, key_id=key_id)


class LeonardoMotionSvdResponse(WireModel):
    motionSvdGenerationJob: LeonardoGenerationJob


@router.post(
    "/generations-motion-svd", response_model=LeonardoMotionSvdResponse, responses=wire.errors(400, 402)
)
def motion_svd(body: MotionSvdBody, service: ServiceDep, caller: CreatorDep) -> LeonardoMotionSvdResponse:
    draft = to_draft(body)
    with client_fields(CLIENT_FIELDS):
        job = service.submit(draft, caller.id, extras(body, caller.key_id))
    return LeonardoMotionSvdResponse(motionSvdGenerationJob=created(job))
