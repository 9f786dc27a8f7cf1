"""What every upstream adapter does, whatever the provider: submit a canonical request, read the
provider's job back as a `Status`, cancel it where the provider can, and make one cheap
authenticated call for `reelforge doctor`. Adapters translate; `engine.py` owns the waiting,
retries, resume and storage, and `http.py` the vetting and error mapping."""

import base64
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from reelforge.engines.base import UpstreamRejected
from reelforge.engines.upstream.http import UpstreamHttp
from reelforge.engines.upstream.options import UpstreamOptions


@dataclass(frozen=True)
class UpstreamInput:
    """One sample of a job, as a provider is asked for it."""

    prompt: str
    negative_prompt: str | None
    duration: int  # seconds
    width: int
    height: int
    audio: bool
    seed: int
    person_generation: str = "allow_adult"
    start_image: bytes | None = None  # PNG of the output size
    end_image: bytes | None = None

    @property
    def aspect_ratio(self) -> str:
        return "9:16" if self.height > self.width else "16:9"

    @property
    def resolution(self) -> str:
        """'720p' or '1080p': the short side."""
        return f"{min(self.width, self.height)}p"


@dataclass(frozen=True)
class Submitted:
    id: str  # what the provider calls the job; stored on the reelforge job before any wait
    cost_usd: Decimal | None = None  # what the provider says it charges, when it says so in USD


@dataclass(frozen=True)
class Status:
    state: Literal["running", "succeeded", "failed", "canceled"]
    progress: float | None = None  # 0..1, when the provider tells
    video_url: str | None = None  # where the finished video is (absolute or under the base URL)
    video_bytes: bytes | None = None  # or the video itself (inline base64 answers)
    authed_download: bool = False  # whether the download needs the credential (same host only)
    message: str | None = None  # why it failed, in the provider's words
    cost_usd: Decimal | None = None
    poll_after: float | None = None  # seconds the provider asks to wait before the next poll


class BearerAdapter:
    """How most adapters start: the model id at the provider, and the key sent as a Bearer token."""

    def __init__(self, options: UpstreamOptions):
        self.model = options.model

    def auth(self, credential: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}


class Adapter(Protocol):
    def __init__(self, options: UpstreamOptions): ...

    def auth(self, credential: str) -> dict[str, str]:
        """The headers that carry the credential."""
        ...

    def submit(self, http: UpstreamHttp, job: UpstreamInput) -> Submitted: ...

    def poll(self, http: UpstreamHttp, upstream_id: str) -> Status: ...

    def cancel(self, http: UpstreamHttp, upstream_id: str) -> None:
        """Ask the provider to stop the job (best effort); a provider without cancel does nothing."""
        ...

    def probe(self, http: UpstreamHttp) -> None:
        """One cheap authenticated call; raises UpstreamRejected (bad key) or UpstreamUnavailable."""
        ...


def data_uri(png: bytes) -> str:
    """A frame inline, for the providers that take images as data URIs."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def probe_unknown(http: UpstreamHttp, path: str, marker: str, **kwargs) -> None:
    """A probe for providers with no cheap authenticated read: look up something nobody owns. A good
    key gets "not found" naming it (`marker`); anything else (a refused key, a wrong base URL) is
    raised."""
    try:
        http.call("GET", path, retry=False, **kwargs)
    except UpstreamRejected as exc:
        if marker not in str(exc):
            raise
