"""Jobs and their rendered samples built in memory, as the dialect mappings read them: no server, no
database. `make_job` makes a job in any status, `make_output` one sample of it as a worker records it.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from reelforge.core.job import Job, JobStatus, Output
from reelforge.core.request import GenerationRequest

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # when a made job was created, unless told
REQUEST = {"model": "veo-3.1-lite", "prompt": "p", "duration": 4}  # what it renders, unless told


def make_job(
    status: JobStatus = JobStatus.QUEUED,
    *,
    outputs: int | Sequence[Output] = 0,
    request: dict[str, Any] | None = None,
    **job_fields: Any,
) -> Job:
    """A job in `status` rendering REQUEST updated with `request`; it is job "j1" of owner "o", seed 7,
    listed at $0.2000 and created at CREATED, and `job_fields` set these or any other Job field.
    `outputs` is the samples it holds: a count of `make_output`'s samples 0, 1, ..., or the Outputs."""
    fields = {"id": "j1", "owner": "o", "seed": 7, "cost_usd": Decimal("0.2000"), "created_at": CREATED}
    request_fields = REQUEST | (request or {})
    job = Job(request=GenerationRequest(**request_fields), status=status, **fields | job_fields)
    job.outputs = [make_output(job, i) for i in range(outputs)] if isinstance(outputs, int) else list(outputs)
    return job


def make_output(job: Job, index: int, *, prefix: str | None = None) -> Output:
    """Sample `index` of `job`: seed `job.seed + index`, the size, frames, fps and audio of its request,
    1000 + index bytes, stored as `<prefix>/<index>.mp4` and `.jpg` (by default under
    `outputs/<job id>/1`, the folder of a job's first attempt)."""
    folder = prefix or f"outputs/{job.id}/1"
    req = job.request
    return Output(
        index=index,
        seed=job.seed + index,
        video_key=f"{folder}/{index}.mp4",
        poster_key=f"{folder}/{index}.jpg",
        width=req.width,
        height=req.height,
        frame_count=req.frame_count,
        fps=req.fps,
        has_audio=req.audio,
        video_bytes=1000 + index,
    )
