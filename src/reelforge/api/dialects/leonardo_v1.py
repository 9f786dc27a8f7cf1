"""Leonardo.AI REST v1 (seeds 001 and 003, specs/leonardo): video generations, reading and deleting
generations, init-image uploads and the user endpoint, under `/api/rest/v1`.

Defaults follow Leonardo's docs: model MOTION2; duration and size from the model's catalog entry
(a model with one fixed length ignores `duration`, which the official SDK always sends as 8);
audio on whenever the model can make it (v1 has no audio switch; Veo models sing by default).
Unknown ids answer 200 with a null object, as Leonardo's GraphQL-backed REST API does.
Integers and booleans must be JSON integers and booleans (`"8"` and `"false"` are refused, see
leonardo_common); `endFrameImage` needs a model whose catalog entry takes an end frame.
"""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep, SettingsDep
from reelforge.api.dialects import leonardo_common as common
from reelforge.catalog import ModelSpec
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.request import SEED_MAX, build_request

router = APIRouter(prefix=common.V1, tags=["Leonardo v1"])

Resolution = Literal["RESOLUTION_480", "RESOLUTION_720", "RESOLUTION_1080"]


class _VideoBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=9999)
    model: str | None = None
    resolution: Resolution | None = None
    width: common.JsonInt | None = Field(default=None, gt=0)
    height: common.JsonInt | None = Field(default=None, gt=0)
    duration: common.JsonInt | None = Field(default=None, gt=0)
    negativePrompt: str | None = Field(default=None, max_length=1000)
    seed: common.JsonInt | None = Field(default=None, ge=0, le=SEED_MAX)
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


def _duration(spec: ModelSpec, asked: int | None) -> int:
    """Models with one fixed length (Motion 2.0) ignore `duration`: the official SDK always sends
    8, and Leonardo documents durations only for the Veo and Kling models."""
    if asked is None or len(spec.durations) == 1:
        return spec.default_duration
    return asked


def _submit(service, caller, body: _VideoBody, start: str | None = None, end: str | None = None):
    with common.client_fields(CLIENT_FIELDS):
        model = body.model or "MOTION2"
        spec = service.catalog.get(model)
        width, height = common.size_for(spec, body.resolution, body.width, body.height)
        request = build_request(
            model=model,
            prompt=body.prompt,
            negative_prompt=body.negativePrompt,
            duration=_duration(spec, body.duration),
            width=width,
            height=height,
            seed=body.seed,
            audio=spec.audio,
            start_image=start,
            end_image=end,
        )
        job = service.submit(request, caller.id, extra={"public": bool(body.isPublic), "dialect": "leonardo"})
    return {"generationId": job.id, "apiCreditCost": None, "cost": common.cost(job)}


@router.post("/generations-text-to-video")
def text_to_video(body: TextToVideoBody, service: ServiceDep, caller: CallerDep) -> dict:
    return {"motionVideoGenerationJob": _submit(service, caller, body)}


@router.post("/generations-image-to-video")
def image_to_video(body: ImageToVideoBody, service: ServiceDep, caller: CallerDep) -> dict:
    start = common.image_ref(body.imageId, body.imageType, "imageId")
    end = (
        common.image_ref(body.endFrameImage.id, body.endFrameImage.type, "endFrameImage")
        if body.endFrameImage
        else None
    )
    return {"motionVideoGenerationJob": _submit(service, caller, body, start, end)}


@router.get("/generations/{generation_id}")
def get_generation(generation_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    try:
        job = service.get(generation_id, caller.id)
    except NotFound:
        return {"generations_by_pk": None}
    return {"generations_by_pk": common.generation(service, job)}


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
    return {"generations": [common.generation(service, job) for job in jobs]}


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
    asset, target = service.create_upload(caller.id, body.extension)
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
        asset = service.get_asset(image_id, caller.id)
    except NotFound:
        return {"init_images_by_pk": None}
    return {
        "init_images_by_pk": {
            "id": asset.id,
            "url": service.media_url(asset.key),
            "createdAt": service.timestamp(asset.created_at),
        }
    }


@router.delete("/init-image/{image_id}")
def delete_init_image(image_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    try:
        service.delete_asset(image_id, caller.id)
    except NotFound:
        return {"delete_init_images_by_pk": None}
    return {"delete_init_images_by_pk": {"id": image_id}}


# SVD motion (seed 003) -----------------------------------------------------------------------------
#
# `POST /generations-motion-svd` animates one image with the catalog's `SVD` model (Stable Video
# Diffusion: a short, silent clip, no prompt, no end frame). Decisions [open]:
# - `imageId` is one of the caller's uploaded init images, whatever `isInitImage` says when absent
#   or true; `isInitImage: false` (a generated image) and `isVariation: true` are refused with 400,
#   as reelforge has neither generated nor variation images (same rule as `GENERATED` frames).
# - The clip is the SVD entry's only length (4 s) and silent; its size is the entry's landscape
#   size, or its portrait size when the image is taller than wide; the image is centre-cropped.
# - `motionStrength` is an integer 1..10 (Leonardo's range in its app; default 5), recorded with
#   the generation; the preview engine's camera move does not vary with it.
# - The generation's `prompt` reads "SVD motion" (SVD takes no prompt; the core needs one).
SVD_MODEL = "SVD"
SVD_PROMPT = "SVD motion"


class MotionSvdBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    imageId: str = Field(min_length=1)
    isPublic: StrictBool | None = None
    isInitImage: StrictBool | None = None
    isVariation: StrictBool | None = None
    motionStrength: common.JsonInt | None = Field(default=None, ge=1, le=10)


@router.post("/generations-motion-svd")
def motion_svd(body: MotionSvdBody, service: ServiceDep, caller: CallerDep) -> dict:
    if body.isVariation:
        raise InvalidRequest("isVariation: only uploaded init images can be animated here", "isVariation")
    if body.isInitImage is False:
        raise InvalidRequest("isInitImage: only uploaded init images can be animated here", "isInitImage")
    with common.client_fields(CLIENT_FIELDS):
        spec = service.catalog.get(SVD_MODEL)
        try:
            asset = service.get_asset(body.imageId, caller.id)
        except NotFound:
            raise InvalidRequest(f"imageId: image {body.imageId} not found", "imageId") from None
        portrait = bool(asset.width and asset.height and asset.height > asset.width)
        try:
            width, height = spec.resolve_size(portrait=portrait)
        except InvalidRequest:  # the catalog entry has no size of that orientation
            width, height = spec.default_size
        request = build_request(
            model=SVD_MODEL,
            prompt=SVD_PROMPT,
            duration=spec.default_duration,
            width=width,
            height=height,
            audio=False,
            start_image=body.imageId,
        )
        extra = {
            "public": bool(body.isPublic),
            "dialect": "leonardo",
            "motionStrength": 5 if body.motionStrength is None else body.motionStrength,
        }
        job = service.submit(request, caller.id, extra=extra)
    return {
        "motionSvdGenerationJob": {"generationId": job.id, "apiCreditCost": None, "cost": common.cost(job)}
    }
