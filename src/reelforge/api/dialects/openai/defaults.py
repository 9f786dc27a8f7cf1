"""OpenAI's documented defaults for `POST /v1/videos`: `seconds` "4" and `size` "720x1280"
(portrait). They apply where the model renders them; a model that cannot keeps its own
(catalog.default.json: `default_duration`, its first size). One place, used by the create body
and by the model objects' `default_duration` / `default_size`."""

import dataclasses

from reelforge.core.catalog import ModelSpec, resolution_tier
from reelforge.core.request import Draft, Orientation

SECONDS = 4
SIZE = "720x1280"


def default_seconds(spec: ModelSpec) -> int:
    return SECONDS if SECONDS in spec.durations else spec.default_duration


def default_size(spec: ModelSpec) -> str:
    return SIZE if SIZE in spec.sizes else spec.sizes[0]


def _portrait_at(spec: ModelSpec, tier: str) -> bool:
    sizes = [ModelSpec.parse_size(s) for s in spec.sizes]
    return any(h > w and resolution_tier(w, h) == tier for w, h in sizes)


def with_defaults(draft: Draft, spec: ModelSpec) -> Draft:
    """The draft with OpenAI's defaults for what it leaves open: `seconds`, and the size unless
    `size` or `aspect_ratio` is given (with `resolution` alone, the default's orientation at that
    resolution, where the model has one)."""
    changes: dict = {}
    if draft.duration is None:
        changes["duration"] = default_seconds(spec)
    if draft.width is None and draft.height is None and draft.orientation is None:
        width, height = ModelSpec.parse_size(default_size(spec))
        if draft.resolution is None:
            changes.update(width=width, height=height)
        elif height > width and _portrait_at(spec, draft.resolution):
            changes["orientation"] = Orientation.PORTRAIT
    return dataclasses.replace(draft, **changes)
