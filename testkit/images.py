"""Image bytes that intake code must refuse or handle: GIFs, forged and decompression-bomb PNGs.

(`testkit.support.make_image` makes the ordinary JPEG, PNG and WebP test pictures.)
"""

import io
import struct
import zlib

from PIL import Image


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def forged_png(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG header that claims `width` x `height` (the pixel data is a stub)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + png_chunk(b"IEND", b"")
    )


def compressible_png(width: int, height: int) -> bytes:
    """A real, complete, black greyscale PNG: huge in pixels, tiny in bytes."""
    raw = (b"\x00" + b"\x00" * width) * height  # filter byte + one row, `height` times
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw, 9))
        + png_chunk(b"IEND", b"")
    )


def gif_bytes() -> bytes:
    """A real 64x64 GIF: a well-formed image in a format reelforge does not take."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, "GIF")
    return buf.getvalue()
