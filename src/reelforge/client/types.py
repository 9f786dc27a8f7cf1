"""What the client returns: a video (one snapshot of a job) and a page of them, typed."""

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class VideoError:
    code: str  # a failure code, or "canceled"
    message: str


def _time(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


@dataclass(frozen=True)
class Video:
    id: str  # "video_<job id>"
    status: str  # queued | in_progress | completed | failed (a canceled video is failed)
    progress: int  # 0..100
    model: str
    prompt: str
    seconds: int
    size: str  # "1280x720"
    created_at: datetime
    completed_at: datetime | None = None
    error: VideoError | None = None
    seed: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    generate_audio: bool | None = None
    negative_prompt: str | None = None
    eta_seconds: float | None = None  # from the event stream only
    urls: dict[str, str] | None = None  # the content variants' URLs, on the stream's completed event
    raw: dict = field(default_factory=dict, repr=False, compare=False)  # the JSON object as sent

    @classmethod
    def from_json(cls, body: dict) -> "Video":
        error = body.get("error")
        return cls(
            id=body["id"],
            status=body["status"],
            progress=body.get("progress") or 0,
            model=body.get("model", ""),
            prompt=body.get("prompt", ""),
            seconds=int(body.get("seconds") or 0),
            size=body.get("size", ""),
            created_at=_time(body.get("created_at")) or datetime.now(UTC),
            completed_at=_time(body.get("completed_at")),
            error=VideoError(error["code"], error["message"]) if error else None,
            seed=body.get("seed"),
            aspect_ratio=body.get("aspect_ratio"),
            resolution=body.get("resolution"),
            generate_audio=body.get("generate_audio"),
            negative_prompt=body.get("negative_prompt"),
            eta_seconds=body.get("eta_seconds"),
            urls=body.get("urls"),
            raw=body,
        )

    @property
    def done(self) -> bool:
        return self.status in ("completed", "failed")

    @property
    def canceled(self) -> bool:
        return self.error is not None and self.error.code == "canceled"


@dataclass(frozen=True)
class VideoPage:
    data: list[Video]
    first_id: str | None
    last_id: str | None  # the `after` of the next page
    has_more: bool

    @classmethod
    def from_json(cls, body: dict) -> "VideoPage":
        return cls(
            data=[Video.from_json(v) for v in body["data"]],
            first_id=body.get("first_id"),
            last_id=body.get("last_id"),
            has_more=bool(body.get("has_more")),
        )
