"""A spritesheet of a stored video: evenly spaced frames tiled into one JPEG grid.

Frames are decoded with PyAV straight from the MP4's bytes (so it works for any storage) and only
the chosen ones are scaled and kept, so memory stays small whatever the video's length. Tiles run
left to right, top to bottom, in time order; a short video gives fewer tiles (one per frame).
"""

import io
import math

import av
from PIL import Image

DEFAULT_TILES = 25
DEFAULT_COLUMNS = 5
DEFAULT_TILE_WIDTH = 256
JPEG_QUALITY = 85


def _picks(total: int, tiles: int) -> list[int]:
    """`tiles` frame indexes spread evenly over `total` frames, first and last included."""
    if total <= tiles:
        return list(range(total))
    if tiles == 1:
        return [0]
    return sorted({round(i * (total - 1) / (tiles - 1)) for i in range(tiles)})


def _decode(video: bytes, tiles: int, tile_width: int) -> tuple[list[Image.Image], int]:
    with av.open(io.BytesIO(video)) as container:
        if not container.streams.video:
            raise ValueError("the file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        tile_height = max(2, round(tile_width * height / width / 2) * 2)
        total = stream.frames  # from the container's index; 0 when unknown
        wanted = set(_picks(total, tiles)) if total else None
        images: list[Image.Image] = []
        for index, frame in enumerate(container.decode(stream)):
            if wanted is None or index in wanted:
                images.append(frame.reformat(tile_width, tile_height, format="rgb24").to_image())
        if wanted is None:  # length unknown up front: every frame was kept small, pick now
            images = [images[i] for i in _picks(len(images), tiles)]
        return images, tile_height


def build_spritesheet(
    video: bytes,
    tiles: int = DEFAULT_TILES,
    columns: int = DEFAULT_COLUMNS,
    tile_width: int = DEFAULT_TILE_WIDTH,
) -> bytes:
    """JPEG bytes of a grid of up to `tiles` frames, `columns` per row, each `tile_width` wide."""
    images, tile_height = _decode(video, tiles, tile_width)
    if not images:
        raise ValueError("the video has no frames")
    cols = min(columns, len(images))
    rows = math.ceil(len(images) / cols)
    sheet = Image.new("RGB", (cols * tile_width, rows * tile_height))
    for i, image in enumerate(images):
        sheet.paste(image, ((i % cols) * tile_width, (i // cols) * tile_height))
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
