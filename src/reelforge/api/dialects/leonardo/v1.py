"""Leonardo.AI REST v1 (seeds 001 and 003, specs/leonardo): video generations, reading and deleting
generations, init-image uploads and the user endpoint, under `/api/rest/v1`.

Defaults follow Leonardo's docs: model MOTION2; duration and size from the model's catalog entry
(a model with one fixed length ignores `duration`, which the official SDK always sends as 8);
audio on whenever the model can make it (v1 has no audio switch; Veo models sing by default).
Unknown ids answer 200 with a null object, as Leonardo's GraphQL-backed REST API does, so these
routes never answer 404; their models say the object is nullable.
Integers and booleans must be JSON integers and booleans (`"8"` and `"false"` are refused, see
api/wire.py); `endFrameImage` needs a model whose catalog entry takes an end frame.
Text limits: `prompt` <= 9999 and `negativePrompt` <= 1000 characters (Leonardo's documented
limits), `promptEnhanceInstruction` <= 9999, ids and model names <= 256, at most 100 `styleIds`
and `elements` (accepted, no effect).
"""

import json
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from reelforge.api.auth import Caller, CallerDep, CreatorDep
from reelforge.api.deps import ServiceDep, SettingsDep
from reelforge.api.dialects.leonardo import wire
from reelforge.api.dialects.leonardo.wire import LeonardoCost, LeonardoGeneration, WireModel
from reelforge.api.wire import JsonInt, client_fields
from reelforge.core.accounts import Account
from reelforge.core.errors import NotFound
from reelforge.core.job import Asset, Job, JobExtras
from reelforge.core.request import MAX_NAME, SEED_MAX, Draft, FrameInput
from reelforge.service.media import Media
from reelforge.service.uploads import UploadTarget

router = APIRouter(prefix=wire.V1, tags=["Leonardo v1"], responses=wire.errors(401, 429, 500))

Resolution = Literal["RESOLUTION_480", "RESOLUTION_720", "RESOLUTION_1080"]
DEFAULT_MODEL = "MOTION2"
MAX_ITEMS = 100  # styleIds and elements, accepted and ignored
StyleId = Annotated[str, Field(max_length=MAX_NAME)]


class Element(BaseModel):
    model_config = ConfigDict(extra="ignore")

    akUUID: str = Field(min_length=1, max_length=MAX_NAME)
    weight: float | None = None


class _VideoBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=wire.MAX_PROMPT)
    model: str | None = Field(default=None, max_length=MAX_NAME)
    resolution: Resolution | None = None
    width: JsonInt | None = Field(default=None, gt=0)
    height: JsonInt | None = Field(default=None, gt=0)
    duration: JsonInt | None = Field(default=None, gt=0)
    negativePrompt: str | None = Field(default=None, max_length=wire.MAX_NEGATIVE_PROMPT)
    seed: JsonInt | None = Field(default=None, ge=0, le=SEED_MAX)
    isPublic: StrictBool | None = None
    promptEnhance: StrictBool | None = None
    promptEnhanceInstruction: str | None = Field(default=None, max_length=wire.MAX_PROMPT)
    frameInterpolation: StrictBool | None = None
    styleIds: list[StyleId] | None = Field(default=None, max_length=MAX_ITEMS)
    elements: list[Element] | None = Field(default=None, max_length=MAX_ITEMS)


class TextToVideoBody(_VideoBody):
    pass


class FrameImage(BaseModel):
    id: str = Field(min_length=1, max_length=MAX_NAME)
    type: Literal["GENERATED", "UPLOADED"]


class ImageToVideoBody(_VideoBody):
    imageId: str = Field(min_length=1, max_length=MAX_NAME)
    imageType: Literal["GENERATED", "UPLOADED"]
    endFrameImage: FrameImage | None = None


class InitImageBody(BaseModel):
    extension: str = Field(max_length=MAX_NAME)


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


def image_to_draft(body: ImageToVideoBody, owns: wire.Owns) -> Draft:
    """An image-to-video body as the canonical draft; its frames are uploaded init images or the
    caller's generated images (`owns` says which generations are the caller's)."""
    start = wire.image_ref(body.imageId, body.imageType, "imageId", owns)
    end = (
        wire.image_ref(body.endFrameImage.id, body.endFrameImage.type, "endFrameImage", owns, end=True)
        if body.endFrameImage
        else None
    )
    return to_draft(body, start, end)


# answers ---------------------------------------------------------------------------------------


class LeonardoGenerationJob(WireModel):
    """A generation just queued (also SVD's): read it with `GET /generations/{generationId}`."""

    generationId: str
    apiCreditCost: int | None = Field(
        description="Always null: Leonardo's deprecated integer API credits; the price is in `cost`."
    )
    cost: LeonardoCost


class LeonardoMotionVideoResponse(WireModel):
    motionVideoGenerationJob: LeonardoGenerationJob


class LeonardoGenerationResponse(WireModel):
    generations_by_pk: LeonardoGeneration | None = Field(
        description="The generation; null when this key has no generation of that id."
    )


class LeonardoDeleted(WireModel):
    id: str = Field(description="The id of the deleted object.")


class LeonardoDeleteGenerationResponse(WireModel):
    delete_generations_by_pk: LeonardoDeleted | None = Field(
        description="The deleted generation; null when this key has no generation of that id."
    )


class LeonardoUserGenerationsResponse(WireModel):
    generations: list[LeonardoGeneration] = Field(
        description="The user's generations, newest first; empty for any user but the caller."
    )


class LeonardoUser(WireModel):
    id: str = Field(description="The caller's user id, a v4 UUID derived from its account.")
    username: str


class LeonardoBalance(WireModel):
    amount: str = Field(description='What the account has left to spend, a decimal string ("12.3400").')
    unit: Literal["DOLLARS"] = Field(description="Always DOLLARS, the unit of `cost`.")


class LeonardoUserDetails(WireModel):
    user: LeonardoUser
    tokenRenewalDate: str | None = Field(description="Always null: there are no token plans.")
    paidTokens: int | None = Field(description="Always null.")
    subscriptionTokens: int = Field(description="Always 0.")
    subscriptionGptTokens: int = Field(description="Always 0.")
    subscriptionModelTokens: int = Field(description="Always 0.")
    apiConcurrencySlots: int = Field(
        description="How many generations the account may have queued or rendering at once; without "
        "a limit, how many the server renders at once (its workers)."
    )
    apiPaidTokens: int | None = Field(description="Always null: the balance is `apiBalance`, in dollars.")
    apiSubscriptionTokens: int = Field(description="Always 0.")
    apiPlanTokenRenewalDate: str | None = Field(description="Always null.")
    apiBalance: LeonardoBalance | None = Field(
        description="Extension: the account's balance; null when it is unlimited."
    )


class LeonardoMeResponse(WireModel):
    user_details: list[LeonardoUserDetails] = Field(description="One entry: the caller.")


class LeonardoInitImageUpload(WireModel):
    """Where to upload a reserved init image: a multipart POST of `fields` and the file to `url`."""

    id: str = Field(description="The init image's id, for `imageId` once the file is uploaded.")
    url: str = Field(description="Where to POST the multipart form.")
    key: str = Field(description="The storage key the file is stored under.")
    fields: str = Field(description="The form fields to send with the file, as a JSON object in a string.")


class LeonardoUploadInitImageResponse(WireModel):
    uploadInitImage: LeonardoInitImageUpload


class LeonardoInitImage(WireModel):
    id: str
    url: str = Field(description="The URL of the uploaded image.")
    createdAt: str = Field(description="When the upload was reserved: `2024-05-01T10:11:22.707Z`.")


class LeonardoInitImageResponse(WireModel):
    init_images_by_pk: LeonardoInitImage | None = Field(
        description="The init image; null when this key has no init image of that id."
    )


class LeonardoDeleteInitImageResponse(WireModel):
    delete_init_images_by_pk: LeonardoDeleted | None = Field(
        description="The deleted init image; null when this key has no init image of that id."
    )


def created(job: Job) -> LeonardoGenerationJob:
    return LeonardoGenerationJob(generationId=job.id, apiCreditCost=None, cost=wire.cost(job))


def user_details(caller: Caller, account: Account | None, workers: int) -> LeonardoUserDetails:
    """The caller's details: its account's limits, or (no account: open mode) the server's."""
    concurrency = account.concurrency if account else None
    balance = account.balance_usd if account else None
    slots = max(1, workers) if concurrency is None else concurrency
    return LeonardoUserDetails(
        user=LeonardoUser(id=wire.user_id(caller.id), username=caller.name),
        tokenRenewalDate=None,
        paidTokens=None,
        subscriptionTokens=0,
        subscriptionGptTokens=0,
        subscriptionModelTokens=0,
        apiConcurrencySlots=slots,
        apiPaidTokens=None,
        apiSubscriptionTokens=0,
        apiPlanTokenRenewalDate=None,
        apiBalance=None if balance is None else LeonardoBalance(amount=_amount(balance), unit="DOLLARS"),
    )


def _amount(usd: Decimal) -> str:
    return str(usd.quantize(Decimal("0.0001")))


def init_image_upload(asset: Asset, target: UploadTarget) -> LeonardoInitImageUpload:
    return LeonardoInitImageUpload(
        id=asset.id, url=target.url, key=asset.key, fields=json.dumps(target.fields)
    )


def init_image(media: Media, asset: Asset) -> LeonardoInitImage:
    created = wire.timestamp(asset.created_at)
    return LeonardoInitImage(id=asset.id, url=media.url(asset.key), createdAt=created)


# routes ----------------------------------------------------------------------------------------


def _submit(service, caller, draft: Draft, public: bool | None) -> Job:
    with client_fields(CLIENT_FIELDS):
        extras = JobExtras(dialect="leonardo", public=bool(public), key_id=caller.key_id)
        return service.submit(draft, caller.id, extras)


@router.post(
    "/generations-text-to-video", response_model=LeonardoMotionVideoResponse, responses=wire.errors(400, 402)
)
def text_to_video(
    body: TextToVideoBody, service: ServiceDep, caller: CreatorDep
) -> LeonardoMotionVideoResponse:
    job = _submit(service, caller, to_draft(body), body.isPublic)
    return LeonardoMotionVideoResponse(motionVideoGenerationJob=created(job))


@router.post(
    "/generations-image-to-video", response_model=LeonardoMotionVideoResponse, responses=wire.errors(400, 402)
)
def image_to_video(
    body: ImageToVideoBody, service: ServiceDep, caller: CreatorDep
) -> LeonardoMotionVideoResponse:
    job = _submit(service, caller, image_to_draft(body, wire.owned_by(service, caller.id)), body.isPublic)
    return LeonardoMotionVideoResponse(motionVideoGenerationJob=created(job))


@router.get("/generations/{generation_id}", response_model=LeonardoGenerationResponse)
def get_generation(generation_id: str, service: ServiceDep, caller: CallerDep) -> LeonardoGenerationResponse:
    try:
        job = service.get(generation_id, caller.id)
    except NotFound:
        return LeonardoGenerationResponse(generations_by_pk=None)
    return LeonardoGenerationResponse(generations_by_pk=wire.generation(service.media, job))


@router.delete("/generations/{generation_id}", response_model=LeonardoDeleteGenerationResponse)
def delete_generation(
    generation_id: str, service: ServiceDep, caller: CallerDep
) -> LeonardoDeleteGenerationResponse:
    try:
        service.delete(generation_id, caller.id)
    except NotFound:
        return LeonardoDeleteGenerationResponse(delete_generations_by_pk=None)
    return LeonardoDeleteGenerationResponse(delete_generations_by_pk=LeonardoDeleted(id=generation_id))


@router.get(
    "/generations/user/{user_id}",
    response_model=LeonardoUserGenerationsResponse,
    responses=wire.errors(400),
)
def user_generations(
    user_id: str,
    service: ServiceDep,
    caller: CallerDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> LeonardoUserGenerationsResponse:
    if user_id != wire.user_id(caller.id):
        return LeonardoUserGenerationsResponse(generations=[])
    jobs = service.list(caller.id, limit=limit, offset=offset)
    return LeonardoUserGenerationsResponse(generations=[wire.generation(service.media, job) for job in jobs])


@router.get("/me", response_model=LeonardoMeResponse)
def me(caller: CallerDep, service: ServiceDep, settings: SettingsDep) -> LeonardoMeResponse:
    try:
        account = service.accounts.account(caller.id)
    except NotFound:  # open mode: a key is a user without an account
        account = None
    return LeonardoMeResponse(user_details=[user_details(caller, account, settings.workers)])


@router.post("/init-image", response_model=LeonardoUploadInitImageResponse, responses=wire.errors(400))
def create_init_image(
    body: InitImageBody, service: ServiceDep, caller: CreatorDep
) -> LeonardoUploadInitImageResponse:
    asset, target = service.uploads.create(caller.id, body.extension)
    return LeonardoUploadInitImageResponse(uploadInitImage=init_image_upload(asset, target))


@router.get("/init-image/{image_id}", response_model=LeonardoInitImageResponse)
def get_init_image(image_id: str, service: ServiceDep, caller: CallerDep) -> LeonardoInitImageResponse:
    try:
        asset = service.uploads.get(image_id, caller.id)
    except NotFound:
        return LeonardoInitImageResponse(init_images_by_pk=None)
    return LeonardoInitImageResponse(init_images_by_pk=init_image(service.media, asset))


@router.delete("/init-image/{image_id}", response_model=LeonardoDeleteInitImageResponse)
def delete_init_image(
    image_id: str, service: ServiceDep, caller: CallerDep
) -> LeonardoDeleteInitImageResponse:
    try:
        service.uploads.delete(image_id, caller.id)
    except NotFound:
        return LeonardoDeleteInitImageResponse(delete_init_images_by_pk=None)
    return LeonardoDeleteInitImageResponse(delete_init_images_by_pk=LeonardoDeleted(id=image_id))
