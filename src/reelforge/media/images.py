"""Untrusted image intake: sniff, bound, decode and fit uploaded start/end frames.

Uploaded images come from strangers, so every limit is checked as early and as cheaply as possible
(byte size, then the header's pixel count) before any pixel is decoded. Every refusal is an
`InvalidRequest`, which every dialect reports as HTTP 400.
"""

import io
import warnings

from PIL import Image, ImageOps

from reelforge.core.errors import InvalidRequest
from reelforge.core.request import MAX_IMAGE_BYTES

# 40 MP covers any real camera or phone photo (a 48 MP sensor saves 12 MP by default) while
# capping a decoded RGB image at ~120 MB, so a tiny, highly compressed file cannot exhaust memory.
MAX_IMAGE_PIXELS = 40_000_000
MIN_IMAGE_SIDE = 16

_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}  # the orientations that swap width and height


def sniff_image_format(data: bytes) -> str | None:
    """The image format by magic bytes: "jpeg", "png", "webp", or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _open_checked(data: bytes) -> Image.Image:
    """Open the image lazily (header only) and enforce every limit that the header can tell."""
    if not data:
        raise InvalidRequest("image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidRequest(f"image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    fmt = sniff_image_format(data)
    if fmt is None:
        raise InvalidRequest("image must be JPEG, PNG or WebP")
    # Pillow's own bomb limit is above ours; turning its warning into an error stops it being
    # printed. The explicit pixel check below is the real guard (warning filters are process-wide).
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidRequest(f"image has more than {MAX_IMAGE_PIXELS} pixels") from None
    except Exception:  # Pillow's parsers raise many types on hostile input; all mean "bad file"
        raise InvalidRequest("image is corrupt or truncated") from None
    width, height = img.size
    if width * height > MAX_IMAGE_PIXELS:
        raise InvalidRequest(f"image has more than {MAX_IMAGE_PIXELS} pixels")
    if min(width, height) < MIN_IMAGE_SIDE:
        raise InvalidRequest(f"image sides must be at least {MIN_IMAGE_SIDE} pixels")
    return img


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) as displayed (EXIF orientation applied), read from the header only."""
    img = _open_checked(data)
    try:
        orientation = img.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # a malformed EXIF block; decode_image would refuse it too
        raise InvalidRequest("image is corrupt or truncated") from None
    width, height = img.size
    return (height, width) if orientation in _TRANSPOSED_ORIENTATIONS else (width, height)


def decode_image(data: bytes) -> Image.Image:
    """Decode an uploaded image to an upright RGB image; transparent areas become black."""
    img = _open_checked(data)
    try:
        img.load()
        img = ImageOps.exif_transpose(img)
    except Exception:  # Pillow's decoders raise many types on hostile input; all mean "bad file"
        raise InvalidRequest("image is corrupt or truncated") from None
    if img.mode == "RGB":
        return img
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (0, 0, 0))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def fit_to_size(img: Image.Image, width: int, height: int) -> Image.Image:
    """Centre-crop `img` to the target aspect ratio, then scale it to exactly width x height.

    This is Veo's documented rule for input images: they are centre-cropped, then scaled, to the
    output size. The crop box may be fractional; Pillow resamples it exactly.
    """
    src_w, src_h = img.size
    target_aspect = width / height
    if src_w / src_h > target_aspect:  # too wide: trim left and right
        crop_w = src_h * target_aspect
        box = ((src_w - crop_w) / 2, 0.0, (src_w + crop_w) / 2, float(src_h))
    else:  # too tall: trim top and bottom
        crop_h = src_w / target_aspect
        box = (0.0, (src_h - crop_h) / 2, float(src_w), (src_h + crop_h) / 2)
    return img.resize((width, height), Image.Resampling.LANCZOS, box=box)
