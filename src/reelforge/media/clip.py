"""What an engine hands the worker: lazily produced RGB frames and an optional soundtrack for the
encoder, or a finished MP4 (`EncodedVideo`)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class Clip:
    """What an engine produces. `frames` yields exactly `frame_count` frames, each an HxWx3 uint8
    RGB array or an RGB Pillow image of the clip's size (handed to the encoder as it is)."""

    frames: Iterator[np.ndarray | Image.Image]
    frame_count: int
    fps: int
    audio: np.ndarray | None = None  # float32, shape (channels, samples), values in [-1, 1]
    sample_rate: int = 48_000


@dataclass
class EncodedVideo:
    """What an engine hands over when the MP4 is ready-made (an upstream provider's): the worker
    has `write_to` put it in its scratch file, then probes and stores it without re-encoding."""

    write_to: Callable[[Path], None]
    cost_usd: Decimal | None = None  # what the provider charged for it, when it says so in USD
