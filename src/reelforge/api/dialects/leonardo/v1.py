"""Leonardo.AI REST v1 (seeds 001 and 003, specs/leonardo): video generations, reading and deleting
generations, init-image uploads and the user endpoint, under `/api/rest/v1`.

Defaults follow Leonardo's docs: model MOTION2; duration and size from the model's catalog entry
(a model with one fixed length ignores `duration`, which the official SDK always sends as 8);
audio on whenever the model can make it (v1 has no audio switch; Veo models sing by default).
Unknown ids answer 200 with a null object, as Leonardo's GraphQL-backed REST API does.
Integers and booleans must be JSON integers and booleans (`"8"` and `"false"` are refused, see
api/wire.py); `endFrameImage` needs a model whose catalog entry takes an end frame.
"""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep, SettingsDep
from reelforge.api.dialects.leonardo import wire
from reelforge.api.wire import JsonInt, client_fields, iso_z
from reelforge.core.errors import NotFound
from reelforge.core.job import Job, JobExtras
from reelforge.core.request import SEED_MAX, Draft, FrameInput

router = APIRouter(prefix=wire.V1, tags=["Leonardo v1"])

Resolution = Literal["RESOLUTION_480", "RESOLUTION_720", "RESOLUTION_1080"]
DEFAULT_MODEL = "MOTION2"


class _VideoBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=9999)
    model: str | None = None
    resolution: Resolution | None = None
    width: JsonInt | None = Field(default=None, gt=0)
    height: JsonInt | None = Field(default=None, gt=0)
    duration: JsonInt | None = Field(default=None, gt=0)
    negativePrompt: str | None = Field(default=None, max_length=1000)
    seed: JsonInt | None = Field(default=None, ge=0, le=SEED_MAX)
    isPublic: StrictBool | None = None
    promptEnhance: StrictBool | None = None
    promptEnhanceInstruction: str | None = None
    frameInterpolation: StrictBool | None = None
    styleIds: list[str] | None = None
    elements: list[dict] | None = None


class TextToVideoBody(_VideoBody):
    pass


class FrameImage(BaseModel):
    id: str = Field(min_length=1)
    type: Literal["GENERATED", "UPLOADED"]


class ImageToVideoBody(_VideoBody):
    imageId: str = Field(min_length=1)
    imageType: Literal["GENERATED", "UPLOADED"]
    endFrameImage: FrameImage | None = None


class InitImageBody(BaseModel):
    extension: str


# canonical field names the core and catalog report -> the v1 body's own field names
CLIENT_FIELDS = {
    "negative_prompt": "negativePrompt",
    "size": "width",
    "start_image": "imageId",
    "end_image": "endFrameImage",
    "audio": "model",
    "samples": "model",
}


def to_draft(body: _VideoBody, start: FrameInput | None = None, end: FrameInput | None = None) -> Draft:
    """A v1 video body as the canonical draft. `duration` is a hint: models with one fixed length
    (Motion 2.0) ignore it, as the official SDK always sends 8. Audio is on whenever the model can
    make it (v1 has no audio switch)."""
    return Draft(
        model=body.model or DEFAULT_MODEL,
        prompt=body.prompt,
        negative_prompt=body.negativePrompt,
        duration=body.duration,
        duration_is_hint=True,
        resolution=wire.tier(body.resolution),
        width=body.width,
        height=body.height,
        seed=body.seed,
        start=start,
        end=end,
    )


def created(job: Job) -> dict:
    return {"generationId": job.id, "apiCreditCost": None, "cost": wire.cost(job)}


def _submit(service, caller, draft: Draft, public: bool | None) -> Job:
    with client_fields(CLIENT_FIELDS):
        return service.submit(draft, caller.id, JobExtras(dialect="leonardo", public=bool(public)))


@router.post("/generations-text-to-video")
def text_to_video(body: TextToVideoBody, service: ServiceDep, caller: CallerDep) -> dict:
    job = _submit(service, caller, to_draft(body), body.isPublic)
    return {"motionVideoGenerationJob": created(job)}


@router.post("/generations-image-to-video")
def image_to_video(body: ImageToVideoBody, service: ServiceDep, caller: CallerDep) -> dict:
    start = wire.image_ref(body.imageId, body.imageType, "imageId")
    end = (
        wire.image_ref(body.endFrameImage.id, body.endFrameImage.type, "endFrameImage")
        if body.endFrameImage
        else None
    )
    job = _submit(service, caller, to_draft(body, start, end), body.isPublic)
    return {"motionVideoGenerationJob": created(job)}


@router.get("/generations/{generation_id}")
def get_generation(generation_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    try:
        job = service.get(generation_id, caller.id)
    except NotFound:
        return {"generations_by_pk": None}
    return {"generations_by_pk": wire.generation(service.media, job)}


@router.delete("/generations/{generation_id}")
def delete_generation(generation_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    try:
        service.delete(generation_id, caller.id)
    except NotFound:
        return {"delete_generations_by_pk": None}
    return {"delete_generations_by_pk": {"id": generation_id}}


@router.get("/generations/user/{user_id}")
def user_generations(
    user_id: str,
    service: ServiceDep,
    caller: CallerDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict:
    if user_id != caller.id:
        return {"generations": []}
    jobs = service.list(caller.id, limit=limit, offset=offset)
    return {"generations": [wire.generation(service.media, job) for job in jobs]}


@router.get("/me")
def me(caller: CallerDep, settings: SettingsDep) -> dict:
    return {
        "user_details": [
            {
                "user": {"id": caller.id, "username": caller.name},
                "tokenRenewalDate": None,
                "paidTokens": None,
                "subscriptionTokens": 0,
                "subscriptionGptTokens": 0,
                "subscriptionModelTokens": 0,
                "apiConcurrencySlots": max(1, settings.workers),
                "apiPaidTokens": None,
                "apiSubscriptionTokens": 0,
                "apiPlanTokenRenewalDate": None,
            }
        ]
    }


@router.post("/init-image")
def create_init_image(body: InitImageBody, service: ServiceDep, caller: CallerDep) -> dict:
    asset, target = service.uploads.create(caller.id, body.extension)
    return {
        "uploadInitImage": {
            "id": asset.id,
            "url": target.url,
            "key": asset.key,
            "fields": json.dumps(target.fields),
        }
    }


@router.get("/init-image/{image_id}")
def get_init_image(image_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    try:
        asset = service.uploads.get(image_id, caller.id)
    except NotFound:
        return {"init_images_by_pk": None}
    return {
        "init_images_by_pk": {
            "id": asset.id,
            "url": service.media.url(asset.key),
            "createdAt": iso_z(asset.created_at),
        }
    }


@router.delete("/init-image/{image_id}")
def delete_init_image(image_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    try:
        service.uploads.delete(image_id, caller.id)
    except NotFound:
        return {"delete_init_images_by_pk": None}
    return {"delete_init_images_by_pk": {"id": image_id}}
