"""What an engine hands the encoder: lazily produced RGB frames and an optional soundtrack."""

from collections.abc import Iterator
from dataclasses import dataclass

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
