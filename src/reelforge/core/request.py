"""The one canonical generation request every dialect translates into.

Dialects check their own documented spellings and limits; this model holds the rules that are
true whatever API a request came through (ranges, the first/last frame pairing). Checks that
depend on the chosen model (allowed durations, sizes, audio) live in the catalog.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reelforge.core.errors import InvalidRequest

SEED_MAX = 4_294_967_295
FPS = 24
PersonGeneration = Literal["allow_adult", "dont_allow", "allow_all"]


class GenerationRequest(BaseModel):
    """What to render. Images are referenced by asset id; the worker loads them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    prompt: str = Field(min_length=1)
    negative_prompt: str | None = None
    duration: int = Field(default=8, gt=0, le=60)
    width: int = Field(default=1280, ge=64, le=4096)
    height: int = Field(default=720, ge=64, le=4096)
    fps: int = FPS
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)
    audio: bool = True
    start_image: str | None = None
    end_image: str | None = None
    samples: int = Field(default=1, ge=1, le=4)
    person_generation: PersonGeneration = "allow_adult"

    @model_validator(mode="after")
    def _frames_pair(self) -> "GenerationRequest":
        if self.end_image and not self.start_image:
            raise ValueError("an end frame needs a start frame")
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even")
        return self

    @property
    def frame_count(self) -> int:
        return self.duration * self.fps


def build_request(**fields) -> GenerationRequest:
    """Build a request, turning pydantic's errors into one concise InvalidRequest."""
    try:
        return GenerationRequest(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        message = err["msg"].removeprefix("Value error, ")
        raise InvalidRequest(f"{field}: {message}" if field else message, field=field) from None
