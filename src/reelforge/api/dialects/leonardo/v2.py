"""Leonardo.AI REST v2 `POST /api/rest/v2/generations` (seed 000) for Veo 3.1 Lite.

Every documented parameter, default and limit: prompt <= 9999 chars, negative_prompt <= 1000,
quantity 1..1, width/height each in {720, 1080, 1280, 1920} forming one of the model's sizes and
agreeing with `mode` (default 1280x720, RESOLUTION_720), duration 4|6|8 (default 8), audio on
by default via `motion_has_audio` or `audio` (both accepted; contradicting values are refused),
`guidances.start_frame` / `end_frame` with at most one image each (an end frame needs a start
frame). `public`, `motion_has_audio` and `audio` must be JSON booleans and `quantity`, `seed`,
`width`, `height`, `duration` JSON integers: `"8"` is refused, not coerced (see leonardo/wire.py).
Results are read with v1 `GET /api/rest/v1/generations/{id}`, as Leonardo's recipe does.
"""

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from reelforge.api.auth import CreatorDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.leonardo import wire
from reelforge.api.dialects.leonardo.wire import LeonardoCost, WireModel
from reelforge.api.wire import JsonInt, client_fields
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import Job, JobExtras
from reelforge.core.request import MAX_NAME, SEED_MAX, Draft, FrameInput

router = APIRouter(prefix=wire.V2, tags=["Leonardo v2"], responses=wire.errors(401, 429, 500))

Side = Literal[720, 1080, 1280, 1920]
ImageType = Literal["INIT", "GENERATION", "UPLOADED", "GENERATED", "VARIATION"]


class GuidanceImage(BaseModel):
    id: str = Field(min_length=1, max_length=MAX_NAME)
    type: ImageType


class FrameGuidance(BaseModel):
    image: GuidanceImage


class Guidances(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start_frame: list[FrameGuidance] | None = Field(default=None, max_length=1)
    end_frame: list[FrameGuidance] | None = Field(default=None, max_length=1)


class GenerationParameters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=wire.MAX_PROMPT)
    negative_prompt: str | None = Field(default=None, max_length=wire.MAX_NEGATIVE_PROMPT)
    quantity: JsonInt = Field(default=1, ge=1, le=1)
    width: Side | None = None
    height: Side | None = None
    mode: Literal["RESOLUTION_720", "RESOLUTION_1080"] = "RESOLUTION_720"
    duration: Literal[4, 6, 8] = 8
    motion_has_audio: StrictBool | None = None
    audio: StrictBool | None = None
    seed: JsonInt | None = Field(default=None, ge=0, le=SEED_MAX)
    guidances: Guidances | None = None


class GenerationBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=MAX_NAME)
    public: StrictBool = False
    parameters: GenerationParameters


def _audio(p: GenerationParameters) -> bool:
    given = {v for v in (p.motion_has_audio, p.audio) if v is not None}
    if len(given) > 1:
        raise InvalidRequest("parameters: motion_has_audio and audio disagree", "parameters.audio")
    return given.pop() if given else True


def _frame(items: list[FrameGuidance] | None, field: str, owns: wire.Owns, end: bool) -> FrameInput | None:
    if not items:
        return None
    return wire.image_ref(items[0].image.id, items[0].image.type, field, owns, end)


# canonical field names the core and catalog report -> where they live in the v2 body
CLIENT_FIELDS = {
    "prompt": "parameters.prompt",
    "negative_prompt": "parameters.negative_prompt",
    "duration": "parameters.duration",
    "size": "parameters.width",
    "width": "parameters.width",
    "height": "parameters.height",
    "resolution": "parameters.mode",
    "seed": "parameters.seed",
    "audio": "parameters.motion_has_audio",
    "samples": "parameters.quantity",
    "start_image": "parameters.guidances.start_frame",
    "end_image": "parameters.guidances.end_frame",
}


def to_draft(body: GenerationBody, owns: wire.Owns) -> Draft:
    p = body.parameters
    guidances = p.guidances or Guidances()
    return Draft(
        model=body.model,
        prompt=p.prompt,
        negative_prompt=p.negative_prompt,
        duration=p.duration,
        resolution=wire.tier(p.mode),
        width=p.width,
        height=p.height,
        seed=p.seed,
        audio=_audio(p),
        samples=p.quantity,
        start=_frame(guidances.start_frame, "parameters.guidances.start_frame", owns, end=False),
        end=_frame(guidances.end_frame, "parameters.guidances.end_frame", owns, end=True),
    )


class LeonardoV2GenerationJob(WireModel):
    """A generation just queued: read it with v1 `GET /api/rest/v1/generations/{generationId}`."""

    generationId: str
    cost: LeonardoCost


class LeonardoV2GenerateResponse(WireModel):
    generate: LeonardoV2GenerationJob


def created(job: Job) -> LeonardoV2GenerationJob:
    return LeonardoV2GenerationJob(generationId=job.id, cost=wire.cost(job))


@router.post("/generations", response_model=LeonardoV2GenerateResponse, responses=wire.errors(400, 402))
def create_generation(
    body: GenerationBody, service: ServiceDep, caller: CreatorDep
) -> LeonardoV2GenerateResponse:
    draft = to_draft(body, wire.owned_by(service, caller.id))
    with client_fields(CLIENT_FIELDS):
        extras = JobExtras(dialect="leonardo", public=body.public, key_id=caller.key_id)
        job = service.submit(draft, caller.id, extras)
    return LeonardoV2GenerateResponse(generate=created(job))
