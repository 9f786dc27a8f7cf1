"""The one job model: `queued -> running -> succeeded | failed | canceled`.

Every dialect's status words are a pure function of `JobStatus`; nothing else decides a job's state.
A run ends in an `Outcome`; a failed job carries a `FailureCode` that every layer shares.
"""

import enum
from dataclasses import asdict, dataclass, field
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


class FailureCode(enum.StrEnum):
    """Why a job failed; dialects map these onto their own error codes."""

    INVALID_INPUT = "invalid_input"  # an input could not be used (e.g. its image was deleted)
    ENGINE_UNAVAILABLE = "engine_unavailable"  # packages or weights missing: `reelforge doctor`
    RENDER_FAILED = "render_failed"  # the engine or the encoder failed
    STORAGE_FULL = "storage_full"  # the disk or the database filled up while the job ran
    STORAGE_UNAVAILABLE = "storage_unavailable"  # another file-system error while the job ran
    WORKER_LOST = "worker_lost"  # the worker went silent `max_attempts` times
    UPSTREAM_REJECTED = "upstream_rejected"  # an upstream provider refused the job (its message)
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"  # no upstream (nor fallback) could take it


@dataclass(frozen=True)
class Output:
    """One rendered sample: its video and poster live in blob storage under these keys."""

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
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """How one run of a job ended: the terminal status, its outputs, or why it failed."""

    status: JobStatus
    outputs: tuple[Output, ...] = ()
    failure: FailureCode | None = None
    message: str | None = None


@dataclass(frozen=True)
class JobExtras:
    """What a dialect records with a job so it can answer about it in its own terms later."""

    dialect: str | None = None  # the API that created the job
    public: bool = False  # Leonardo's `public` / `isPublic`
    motion_strength: int | None = None  # Leonardo SVD's `motionStrength`
    requested_model: str | None = None  # the model id as the client spelled it (AI/ML API)
    task_type: str | None = None  # HighwayAPI's task type
    storage_uri: str | None = None  # Vertex's `storageUri`: answer with URLs, not inline bytes
    webhook_uris: tuple[str, ...] = ()  # per-request webhooks (Gemini's `webhookConfig.uris`)
    webhook_metadata: dict | None = None  # sent back with them (Gemini's `user_metadata`)
    key_id: str | None = None  # the API key that made the job, whose callback it gets (Leonardo)
    remixed_from: str | None = None  # the job this one remixes (OpenAI's `remixed_from_video_id`)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, False, ())}

    @classmethod
    def from_dict(cls, data: dict | None) -> "JobExtras":
        data = dict(data or {})
        if "webhook_uris" in data:
            data["webhook_uris"] = tuple(data["webhook_uris"])
        return cls(**data)


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
    error_code: FailureCode | None = None
    error_message: str | None = None
    outputs: list[Output] = field(default_factory=list)
    cancel_requested: bool = False
    attempts: int = 0
    extras: JobExtras = field(default_factory=JobExtras)
    lease_token: str | None = None  # the token of the run that owns the job while it runs
    # what upstream engines recorded (db/tables.py): the providers' jobs, the entries tried
    upstream: dict = field(default_factory=dict)

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
