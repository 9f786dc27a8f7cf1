"""`POST /v1/videos`'s body: JSON, multipart or a urlencoded form, read with a size cap, validated
(unknown parameters refused) and translated into a `Draft`. Decisions are listed in videos.py."""

from typing import Annotated, Literal

from fastapi import Request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from starlette.datastructures import UploadFile

from reelforge.api.bodies import capped_body, capped_form, parse_json
from reelforge.api.dialects.openai.wire import validation_error
from reelforge.core.catalog import ModelSpec
from reelforge.core.errors import InvalidRequest
from reelforge.core.request import (
    MAX_IMAGE_BYTES,
    MAX_NAME,
    MAX_NEGATIVE_PROMPT,
    MAX_PROMPT,
    SEED_MAX,
    Draft,
    FrameInput,
    FrameKind,
    Orientation,
)

# two images of at most 20 MB each, as files or as base64 text, plus the other fields
_BODY_LIMIT = 3 * MAX_IMAGE_BYTES


def _image_value(value: object) -> object:
    """An image given in JSON: a string, or `{"image_url": "<string>"}` (reduced to the string)."""
    if isinstance(value, dict):
        if set(value) != {"image_url"} or not isinstance(value["image_url"], str):
            raise PydanticCustomError(
                "image_type", 'must be an image URL, data URI or base64 string, or {"image_url": "..."}'
            )
        return value["image_url"]
    if not isinstance(value, str):
        raise PydanticCustomError(
            "image_type", 'must be an image URL, data URI or base64 string, or {"image_url": "..."}'
        )
    return value


ImageInput = Annotated[
    str,
    BeforeValidator(_image_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": "http(s) URL, data URI or raw base64"},
                {
                    "type": "object",
                    "properties": {"image_url": {"type": "string"}},
                    "required": ["image_url"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]


def _seconds_value(value: object) -> object:
    """OpenAI's `seconds` is a string ("8"); a JSON integer is accepted too, nothing else."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PydanticCustomError("seconds_type", 'must be a string of whole seconds, such as "8"')
    return str(value)


Seconds = Annotated[
    str,
    BeforeValidator(_seconds_value),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
]


class VideoCreateBody(BaseModel):
    """`POST /v1/videos` as JSON (multipart carries the same fields, images as file parts)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    model: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    seconds: Seconds | None = Field(default=None, max_length=MAX_NAME)
    size: str | None = Field(default=None, max_length=MAX_NAME)
    input_reference: ImageInput | None = None
    # extensions: what Veo has and Sora lacks
    negative_prompt: str | None = Field(default=None, max_length=MAX_NEGATIVE_PROMPT)
    seed: StrictInt | None = Field(default=None, ge=0, le=SEED_MAX)
    generate_audio: StrictBool | None = None
    audio: StrictBool | None = None
    last_frame: ImageInput | None = None
    aspect_ratio: Literal["16:9", "9:16"] | None = None
    resolution: str | None = Field(default=None, max_length=MAX_NAME)
    person_generation: Literal["allow_adult", "dont_allow", "allow_all"] | None = None


def inline_refs(schema: dict) -> dict:
    """Pydantic's `$defs` inlined, so the schema can sit inside the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def _multipart_schema() -> dict:
    schema = inline_refs(VideoCreateBody.model_json_schema())
    props = schema["properties"]
    for name in ("input_reference", "last_frame"):
        props[name] = {"type": "string", "format": "binary", "description": "an image file (or URL/base64)"}
    for name in ("seed",):
        props[name] = {"type": "string", "pattern": "^[0-9]+$"}
    for name in ("generate_audio", "audio"):
        props[name] = {"type": "string", "enum": ["true", "false"]}
    props["seconds"] = {"type": "string"}
    return schema


CREATE_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": inline_refs(VideoCreateBody.model_json_schema())},
            "multipart/form-data": {"schema": _multipart_schema()},
        },
    }
}


_TOO_LARGE = f"request body is larger than {_BODY_LIMIT // (1024 * 1024)} MB"


async def _form_fields(request: Request) -> tuple[dict, dict[str, bytes]]:
    """A multipart body as JSON-typed fields plus the image files' bytes."""
    form = await capped_form(request, _BODY_LIMIT, _TOO_LARGE, max_files=2, max_fields=30)
    try:
        fields: dict = {}
        files: dict[str, bytes] = {}
        for name, value in form.multi_items():
            if name in fields or name in files:
                raise InvalidRequest(f"{name}: given more than once", name)
            if isinstance(value, UploadFile):
                if name not in ("input_reference", "last_frame"):
                    raise InvalidRequest(f"{name}: a file is not allowed here", name)
                data = await value.read(MAX_IMAGE_BYTES + 1)
                if len(data) > MAX_IMAGE_BYTES:
                    raise InvalidRequest(f"{name}: image is larger than 20 MB", name)
                files[name] = data
            elif name == "seed" and value.strip().isdigit():
                fields[name] = int(value)
            elif name in ("generate_audio", "audio") and value.strip().lower() in ("true", "false"):
                fields[name] = value.strip().lower() == "true"
            else:
                fields[name] = value
        return fields, files
    finally:
        await form.close()


async def read_body(request: Request) -> tuple[VideoCreateBody, dict[str, bytes]]:
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        fields, files = await _form_fields(request)
    else:
        fields = parse_json(await capped_body(request, _BODY_LIMIT, _TOO_LARGE))
        if not isinstance(fields, dict):
            raise InvalidRequest("request body must be a JSON object")
        files = {}
    try:
        return VideoCreateBody.model_validate(fields), files
    except ValidationError as exc:
        raise validation_error(exc) from None


def whole_seconds(seconds: str | None) -> int | None:
    """OpenAI's `seconds` ("8") as a number; InvalidRequest unless it is whole seconds."""
    if seconds is None:
        return None
    text = seconds.strip()
    if not text.isdigit():
        raise InvalidRequest('seconds: must be a string of whole seconds, such as "8"', "seconds")
    return int(text)


def _size(body: VideoCreateBody) -> tuple[int | None, int | None]:
    if body.size is None:
        return None, None
    try:
        return ModelSpec.parse_size(body.size.strip().lower())
    except ValueError:
        raise InvalidRequest("size: must be WIDTHxHEIGHT, e.g. 1280x720", "size") from None


def _audio(body: VideoCreateBody) -> bool | None:
    given = {v for v in (body.generate_audio, body.audio) if v is not None}
    if len(given) > 1:
        raise InvalidRequest("generate_audio and audio disagree", "generate_audio")
    return given.pop() if given else None


def _frame(value: str | None, file: bytes | None, field: str) -> FrameInput | None:
    if file is not None:
        if value is not None:
            raise InvalidRequest(f"{field}: given both as a file and as a value", field)
        return FrameInput(FrameKind.BYTES, file, field)
    if value is None:
        return None
    return FrameInput(FrameKind.SOURCE, value, field)


ORIENTATIONS = {"16:9": Orientation.LANDSCAPE, "9:16": Orientation.PORTRAIT, None: None}
CLIENT_FIELDS = {
    "duration": "seconds",
    "width": "size",
    "height": "size",
    "start_image": "input_reference",
    "end_image": "last_frame",
    "audio": "generate_audio",
}


def to_draft(body: VideoCreateBody, files: dict[str, bytes]) -> Draft:
    """The body (and its file parts) as the canonical draft; unset fields take the model's defaults."""
    width, height = _size(body)
    return Draft(
        model=body.model,
        prompt=body.prompt,
        negative_prompt=body.negative_prompt,
        duration=whole_seconds(body.seconds),
        resolution=body.resolution.strip().lower() if body.resolution else None,
        width=width,
        height=height,
        orientation=ORIENTATIONS[body.aspect_ratio],
        audio=_audio(body),
        seed=body.seed,
        person_generation=body.person_generation or "allow_adult",
        start=_frame(body.input_reference, files.get("input_reference"), "input_reference"),
        end=_frame(body.last_frame, files.get("last_frame"), "last_frame"),
    )
