"""The one job model: `queued -> running -> succeeded | failed | canceled`.

Every dialect's status words are a pure function of `JobStatus`; nothing else decides a job's state.
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from reelforge.core.request import GenerationRequest


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED)


@dataclass(frozen=True)
class Output:
    """One rendered sample: its video and poster live in storage under these keys."""

    index: int
    seed: int
    video_key: str
    poster_key: str
    width: int
    height: int
    frame_count: int
    fps: int
    has_audio: bool
    video_bytes: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Job:
    id: str
    owner: str
    request: GenerationRequest
    seed: int
    status: JobStatus
    cost_usd: Decimal
    created_at: datetime
    progress: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    outputs: list[Output] = field(default_factory=list)
    cancel_requested: bool = False
    attempts: int = 0
    extra: dict = field(default_factory=dict)  # dialect bookkeeping (e.g. Leonardo's `public` flag)
    worker_id: str | None = None  # the lease token of the run that owns the job while it runs

    def sample_seed(self, index: int) -> int:
        """Seeds of further samples derive from the job seed, deterministically."""
        return (self.seed + index * 1_000_003) % (1 << 32)


@dataclass
class Asset:
    """An uploaded input image (e.g. a Leonardo init image), usable as a start or end frame."""

    id: str
    owner: str
    extension: str
    key: str
    created_at: datetime
    ready: bool = False
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
