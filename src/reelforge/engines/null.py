"""The `null` engine, for capacity planning and load tests of a deployment (like vLLM's dummy
weights): it waits a set time per sample without using the CPU, then hands over black frames and
silence of the requested size and length. What remains is reelforge's own cost (queue, leases,
database, encode, storage), measured without a model in the way. A deployer selects it in a
catalog entry (`"engine": "null", "engine_options": {"delay_seconds": 0.5}`); the default catalog
never does, so no client gets black videos by accident."""

import time
from collections.abc import Iterator

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from reelforge.engines.base import RenderContext
from reelforge.media.clip import Clip

SAMPLE_RATE = 48_000
_TICK = 0.05  # seconds between two cancel checks (and progress reports) while waiting


class NullOptions(BaseModel):
    """The null engine's engine_options."""

    model_config = ConfigDict(extra="forbid")

    delay_seconds: float = Field(default=0.5, ge=0, le=3600, description="Wait per sample, before frames.")


class NullEngine:
    name = "null"

    def __init__(self, options: NullOptions):
        self.delay = options.delay_seconds

    def generate(self, ctx: RenderContext) -> Clip:
        _wait(self.delay, ctx)
        request = ctx.request
        audio = np.zeros((2, request.duration * SAMPLE_RATE), np.float32) if request.audio else None
        return Clip(
            frames=_black(ctx),
            frame_count=request.frame_count,
            fps=request.fps,
            audio=audio,
            sample_rate=SAMPLE_RATE,
        )


def _wait(delay: float, ctx: RenderContext) -> None:
    """Sleep `delay` seconds in ticks, reporting the first half of the progress and honouring cancel."""
    start = time.monotonic()
    while (waited := time.monotonic() - start) < delay:
        ctx.check_cancel()
        ctx.progress(0.5 * waited / delay)
        time.sleep(min(_TICK, delay - waited))
    ctx.check_cancel()


def _black(ctx: RenderContext) -> Iterator[np.ndarray]:
    frame = np.zeros((ctx.request.height, ctx.request.width, 3), np.uint8)
    count = ctx.request.frame_count
    for index in range(count):
        ctx.check_cancel()
        ctx.progress(0.5 + 0.5 * (index + 1) / count)
        yield frame
