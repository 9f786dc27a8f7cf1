"""The engine interface: request + progress callback + cancel check -> a `Clip` (media/clip.py).

The clip's frames are produced lazily, so a long clip never sits in memory whole and the encoder
can consume frames as they are made. An engine may also render several samples at once
(`BatchEngine`). Engines call `progress(fraction)` as they go and raise
`Canceled` (via `RenderContext.check_cancel`) soon after a cancel is requested.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

from reelforge.core.request import GenerationRequest
from reelforge.media.clip import Clip


class Canceled(Exception):
    """The job was canceled while rendering."""


class RenderFailed(RuntimeError):
    """A failure the engine explains in words meant for the client (GPU out of memory, and what to
    change); any other exception is reported to the client without its details."""


class EngineUnavailable(RuntimeError):
    """The model cannot run here (weights or packages missing); `reelforge doctor` tells more."""


class UpstreamRejected(RuntimeError):
    """An upstream provider refused the job (a 4xx validation or content refusal, or a failed
    job); the message is the provider's, meant for the client. No fallback is tried."""


class UpstreamUnavailable(RuntimeError):
    """An upstream provider could not take or finish the job (429, 5xx, timeouts, refused
    connections, after retries); the catalog entry's `fallback` entries are tried next."""


@dataclass
class RenderContext:
    """Everything an engine gets for one output sample."""

    request: GenerationRequest
    seed: int  # the seed of this sample (derived from the request seed)
    start_image: Image.Image | None  # RGB, already cropped and scaled to width x height
    end_image: Image.Image | None
    progress: Callable[[float], None]  # fraction 0..1 of this sample
    is_canceled: Callable[[], bool]
    # RGB, as uploaded (any size): what the video should show; only engines whose catalog entries
    # declare `reference_images` get any (engines.registry.check_engine)
    reference_images: tuple[Image.Image, ...] = ()
    # an engine's state of this sample saved by an earlier run of the job (upstream job ids), and
    # how to save it before a long wait; `shutting_down` tells a shutdown from a cancel
    saved: dict | None = None
    save: Callable[[dict], None] = lambda state: None
    shutting_down: Callable[[], bool] = lambda: False

    def check_cancel(self) -> None:
        if self.is_canceled():
            raise Canceled()


class Engine(Protocol):
    name: str

    def generate(self, ctx: RenderContext) -> Clip: ...


@runtime_checkable
class BatchEngine(Engine, Protocol):
    """An engine that can render several samples of one request in one go."""

    def batch_limit(self, ctx: RenderContext) -> int:
        """The most samples of ctx's request one `generate_batch` call takes (1: one at a time)."""
        ...

    def generate_batch(self, contexts: list[RenderContext]) -> list[Clip]:
        """A clip per context. The contexts differ in seed only: they share one progress callback,
        told the fraction of the whole batch, and one cancel check."""
        ...
