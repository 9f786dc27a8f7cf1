"""Live progress of one video as server-sent events: `GET /v1/videos/{id}/events` (reelforge's;
OpenAI documents no stream). The service follows the job in the database (service/progress.py),
so the stream works on any API node; this module only turns its snapshots into events.

Decisions [open]:
- Authenticated and owner-scoped like `GET /v1/videos/{id}`: an unknown id or another account's
  is 404 in the OpenAI error shape before the stream starts. Opening a stream counts once against
  the key's read limit.
- `event:` is `progress` while the video is queued or in progress, then `completed` or `failed`
  (canceled included, as the status words have it); `id:` counts up from 1; `data:` is the video
  object `GET /v1/videos/{id}` answers plus `eta_seconds` (from the progress rate since the render
  started; null when unknown) and `urls` (absolute URLs of `/v1/videos/{id}/content` per variant,
  on the `completed` event only, null otherwise).
- The first event is the video as it is when the stream opens; then one per change of status or
  progress; the stream ends after the terminal event, or without one if the video is deleted.
  A `: ping` comment every 15 s keeps idle connections open (FastAPI's EventSourceResponse).
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.openai import ids
from reelforge.api.dialects.openai.wire import STATUS_WORDS, OpenAIError, OpenAIVideo, video_object
from reelforge.api.openapi import json_error_responses
from reelforge.core.job import Job, JobStatus
from reelforge.service.progress import Snapshot

router = APIRouter(prefix="/v1", tags=["OpenAI videos (native)"])
VARIANTS = ("video", "thumbnail", "spritesheet")


class ContentUrls(BaseModel):
    video: str
    thumbnail: str
    spritesheet: str


class OpenAIVideoEvent(OpenAIVideo):
    """The `data:` of each event."""

    eta_seconds: float | None = Field(description="Estimated seconds until the video is finished, if known.")
    urls: ContentUrls | None = Field(
        description="On the `completed` event: absolute URLs of the video's content variants."
    )


def _owned(video_id: str, service: ServiceDep, caller: CallerDep) -> Job:
    """The caller's video, looked up before the stream starts, so an unknown id is a plain 404."""
    with ids.looking_up(video_id) as job_id:
        return service.get(job_id, caller.id)


def event_of(snapshot: Snapshot, number: int, base_url: str) -> ServerSentEvent:
    job = snapshot.job
    word = STATUS_WORDS[job.status]
    urls = None
    if job.status is JobStatus.SUCCEEDED:
        content = f"{base_url.rstrip('/')}/v1/videos/{ids.video_id(job.id)}/content"
        urls = {variant: f"{content}?variant={variant}" for variant in VARIANTS}
    data = {**video_object(job), "eta_seconds": snapshot.eta_seconds, "urls": urls}
    return ServerSentEvent(event=word if job.status.is_terminal else "progress", id=str(number), data=data)


@router.get(
    "/videos/{video_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "A `text/event-stream`: `event: progress|completed|failed`, `id: 1, 2, ...`, "
            "`data:` an OpenAIVideoEvent as JSON; it ends after the `completed` or `failed` event.",
            "content": {"text/event-stream": {"itemSchema": OpenAIVideoEvent.model_json_schema()}},
        },
        **json_error_responses(OpenAIError, 401, 404, 429, 500),
    },
)
async def video_events(
    video: Annotated[Job, Depends(_owned)], service: ServiceDep, caller: CallerDep
) -> AsyncIterator[ServerSentEvent]:
    number, base_url = 0, service.base_url  # the request's origin, as every URL the API hands out
    async for snapshot in service.progress.watch(video.id, caller.id):
        number += 1
        yield event_of(snapshot, number, base_url)
