"""The engine interface: request + progress callback + cancel check -> frames and optional audio.

An engine returns a `Clip` whose frames are produced lazily, so a long clip never sits in memory
whole and the encoder can consume frames as they are made. Engines call `progress(fraction)` as
they go and raise `Canceled` (via `RenderContext.check_cancel`) soon after a cancel is requested.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

from reelforge.core.request import GenerationRequest


class Canceled(Exception):
    """The job was canceled while rendering."""


class EngineUnavailable(RuntimeError):
    """The model cannot run here (weights or packages missing); `reelforge doctor` tells more."""


@dataclass
class RenderContext:
    """Everything an engine gets for one output sample."""

    request: GenerationRequest
    seed: int  # the seed of this sample (derived from the request seed)
    start_image: Image.Image | None  # RGB, already cropped and scaled to width x height
    end_image: Image.Image | None
    progress: Callable[[float], None]  # fraction 0..1 of this sample
    is_canceled: Callable[[], bool]

    def check_cancel(self) -> None:
        if self.is_canceled():
            raise Canceled()


@dataclass
class Clip:
    """What an engine produces. `frames` yields HxWx3 uint8 RGB arrays, exactly `frame_count` of them."""

    frames: Iterator[np.ndarray]
    frame_count: int
    fps: int
    audio: np.ndarray | None = None  # float32, shape (channels, samples), values in [-1, 1]
    sample_rate: int = 48_000


class Engine(Protocol):
    name: str

    def generate(self, ctx: RenderContext) -> Clip: ...
