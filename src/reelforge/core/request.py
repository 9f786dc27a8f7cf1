"""The canonical generation request, and the draft every dialect translates into.

A dialect turns its wire body into a `Draft`: what the client asked for, in canonical names, with
the input frames as the client gave them (`FrameInput`) and unset fields left None. The service
fills the defaults from the model's catalog entry and turns the draft into a `GenerationRequest`,
the form a job stores: frames and reference images as upload (asset) ids, every value explicit.
Rules that hold whatever API a request came through (ranges, the first/last frame pairing) live
on the request; rules that depend on the model (durations, sizes, audio, reference images) live in
the catalog.
"""

import enum
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from reelforge.core.errors import invalid

SEED_MAX = 4_294_967_295
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # the largest input image accepted, however it arrives
# Server-wide text limits, in characters: what a field is held to where its provider documents no
# limit of its own (docs/api.md). Image text (base64, data URIs) is bounded by MAX_IMAGE_BYTES instead.
MAX_PROMPT = 32_000  # the largest any dialect documents (`POST /v1/videos`)
MAX_NEGATIVE_PROMPT = 10_000
MAX_NAME = 256  # model names, ids, enum-like words (sizes, MIME types, extensions)
MAX_URI = 8_192  # a URL given as a URL only, or a resource name (Vertex's operationName)
FPS = 24
PersonGeneration = Literal["allow_adult", "dont_allow", "allow_all"]


class GenerationRequest(BaseModel):
    """What to render. Images are referenced by asset id; the worker loads them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    negative_prompt: str | None = Field(default=None, max_length=MAX_NEGATIVE_PROMPT)
    duration: int = Field(default=8, gt=0, le=60)
    width: int = Field(default=1280, ge=64, le=4096)
    height: int = Field(default=720, ge=64, le=4096)
    fps: int = FPS
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)
    audio: bool = True
    start_image: str | None = None
    end_image: str | None = None
    reference_images: tuple[str, ...] = ()  # images the video should show (subjects, style), by asset id
    samples: int = Field(default=1, ge=1, le=4)
    person_generation: PersonGeneration = "allow_adult"

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be only whitespace")
        return value

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even")
        return value

    @field_validator("end_image")
    @classmethod
    def _frames_pair(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and not info.data.get("start_image"):
            raise ValueError("an end frame needs a start frame")
        return value

    @property
    def frame_count(self) -> int:
        return self.duration * self.fps


def build_request(**fields) -> GenerationRequest:
    """Build a request, turning pydantic's errors into one concise InvalidRequest."""
    try:
        return GenerationRequest(**fields)
    except ValidationError as exc:
        raise invalid(exc) from None


class FrameKind(enum.StrEnum):
    UPLOAD = "upload"  # the id of one of the caller's uploads (Leonardo's init images)
    BYTES = "bytes"  # image bytes in hand (a multipart file part)
    BASE64 = "base64"  # base64 text and nothing else (Google's bytesBase64Encoded)
    SOURCE = "source"  # an http(s) URL, a data URI or base64 text
    OUTPUT = "output"  # a frame of one of the caller's finished videos (an `OutputFrame`)


@dataclass(frozen=True)
class OutputFrame:
    """A frame of a finished video of the caller's, reused as an input frame: sample `sample` of job
    `job_id`, its `first` or `last` frame."""

    job_id: str
    sample: int = 0
    frame: Literal["first", "last"] = "last"


@dataclass(frozen=True)
class FrameInput:
    """An input frame as the client gave it. `field` names where, when errors about it should
    point somewhere more precise than the canonical `start_image` / `end_image`."""

    kind: FrameKind
    value: str | bytes | OutputFrame
    field: str | None = None


class Orientation(enum.StrEnum):
    LANDSCAPE = "landscape"
    PORTRAIT = "portrait"
    START_FRAME = "start_frame"  # as the start frame is; the model's default size if it has none such


@dataclass(frozen=True)
class Draft:
    """A request as a dialect translated it; None means "the model's default"."""

    prompt: str
    model: str | None = None  # None: the catalog's first model
    negative_prompt: str | None = None
    duration: int | None = None
    duration_is_hint: bool = False  # a model with one fixed length ignores `duration`
    resolution: str | None = None  # a tier such as "720p"
    width: int | None = None
    height: int | None = None
    orientation: Orientation | None = None
    audio: bool | None = None  # None: on when the model can make it
    seed: int | None = None
    samples: int = 1
    person_generation: str = "allow_adult"
    start: FrameInput | None = None
    end: FrameInput | None = None
    reference_images: tuple[FrameInput, ...] = ()
