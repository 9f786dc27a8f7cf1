"""One frame of a rendered MP4 as a PNG, so a finished video can be the start or end frame of the
next one (Leonardo's GENERATED images, the native API's extensions)."""

import io
from typing import Literal

import av
from PIL import Image


def video_frame(video: bytes, which: Literal["first", "last"]) -> bytes:
    """The video's first or last frame, PNG-encoded. The last is found by decoding every frame
    (an H.264 stream has no cheaper exact way); ValueError if the video has no frame."""
    picked = None
    with av.open(io.BytesIO(video)) as container:
        for frame in container.decode(video=0):
            picked = frame
            if which == "first":
                break
    if picked is None:
        raise ValueError("the video has no frame")
    out = io.BytesIO()
    Image.fromarray(picked.to_ndarray(format="rgb24")).save(out, format="PNG")
    return out.getvalue()
