"""New jobs made from one of the owner's finished jobs (OpenAI's remix, extension and edit), as
drafts for the one submission path (service/submissions.py):
- remix: the same model, size, length, seed, audio, person policy and input frames (the same
  stored assets) with a new prompt; the job records what it remixes (`JobExtras.remixed_from`);
- extend: a new clip of `duration` seconds that starts at the source's last frame (a frame input
  of kind OUTPUT), with the source's settings otherwise and without its end frame, where the
  model takes a start frame;
- edit: no engine rewrites an existing video, so every model refuses it.
A source that has not succeeded is refused: there is nothing finished to build on yet. What no
engine of the model can do is `Unsupported`, a 400 the dialects name as their vendor does.
"""

import dataclasses
from typing import NoReturn

from reelforge.core.catalog import Catalog
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import Job, JobStatus
from reelforge.core.request import Draft, FrameInput, FrameKind, OutputFrame


class Unsupported(InvalidRequest):
    """The model's engine cannot do what was asked."""

    code = "unsupported"


def _finished(source: Job, action: str, field: str | None) -> None:
    if source.status is not JobStatus.SUCCEEDED:
        raise InvalidRequest(f"only a completed video can be {action}; this one is not", field)


def _upload(asset_id: str | None, field: str) -> FrameInput | None:
    return None if asset_id is None else FrameInput(FrameKind.UPLOAD, asset_id, field)


def remix(source: Job, prompt: str) -> Draft:
    """The source's draft with a new prompt."""
    _finished(source, "remixed", None)
    req = source.request
    return Draft(
        prompt=prompt,
        model=req.model,
        negative_prompt=req.negative_prompt,
        duration=req.duration,
        width=req.width,
        height=req.height,
        audio=req.audio,
        seed=source.seed,
        samples=req.samples,
        person_generation=req.person_generation,
        start=_upload(req.start_image, "start_image"),
        end=_upload(req.end_image, "end_image"),
    )


def extend(source: Job, prompt: str, duration: int | None, catalog: Catalog, field: str) -> Draft:
    """A clip that goes on from the source's last frame; `field` names the source in errors."""
    spec = catalog.get(source.request.model)
    if not spec.start_frame:
        raise Unsupported(f"{source.request.model} cannot extend a video: it takes no start frame", "model")
    _finished(source, "extended", field)
    return dataclasses.replace(
        remix(source, prompt),
        duration=duration,
        samples=1,
        start=FrameInput(FrameKind.OUTPUT, OutputFrame(source.id, 0, "last"), field),
        end=None,
    )


def edit(source: Job) -> NoReturn:
    """Always refused: no engine edits an existing video."""
    raise Unsupported(f"{source.request.model} cannot edit a video", "model")
