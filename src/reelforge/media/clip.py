"""What an engine hands the encoder: lazily produced RGB frames and an optional soundtrack."""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass
class Clip:
    """What an engine produces. `frames` yields HxWx3 uint8 RGB arrays, exactly `frame_count` of them."""

    frames: Iterator[np.ndarray]
    frame_count: int
    fps: int
    audio: np.ndarray | None = None  # float32, shape (channels, samples), values in [-1, 1]
    sample_rate: int = 48_000
