"""Shared media helpers: MP4 encoding (decoded back with PyAV) and untrusted image intake."""

import io
import struct
import threading
import weakref
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from reelforge.core.errors import InvalidRequest
from reelforge.engines.base import Canceled
from reelforge.media.clip import Clip
from reelforge.media.encode import READ_AHEAD, encode_mp4
from reelforge.media.images import (
    MAX_IMAGE_BYTES,
    decode_image,
    fit_to_size,
    image_size,
    sniff_image_format,
)
from testkit.images import png_chunk

W, H, FPS = 320, 180, 24


# --- helpers ------------------------------------------------------------------------------------------


def flat_frames(count: int, width: int = W, height: int = H) -> Iterator[np.ndarray]:
    """Frame i is a flat colour whose red channel encodes i, so frames can be told apart after H.264."""
    for i in range(count):
        frame = np.empty((height, width, 3), dtype=np.uint8)
        frame[...] = (min(255, 5 * i), 128, 255 - min(255, 5 * i))
        yield frame


def tone(seconds: float, channels: int = 2, rate: int = 48_000) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.tile(0.3 * np.sin(2 * np.pi * 440 * t), (channels, 1)).astype(np.float32)


def encode(tmp_path: Path, clip: Clip, width: int = W, height: int = H):
    video, poster = tmp_path / "out.mp4", tmp_path / "out.jpg"
    return encode_mp4(clip, width, height, video, poster), video, poster


def probe(path: Path) -> dict:
    """What a client would see: stream parameters, decoded frame count and audio duration."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info = {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.codec_context.width, video.codec_context.height),
            "rate": video.average_rate,
            "audio": None,
        }
        frames = list(container.decode(video=0))
        info["frames"] = len(frames)
        info["times"] = [float(f.pts * f.time_base) for f in frames]
        info["first"] = frames[0].to_ndarray(format="rgb24")
        info["last"] = frames[-1].to_ndarray(format="rgb24")
        if container.streams.audio:
            audio = container.streams.audio[0]
            container.seek(0)
            samples = sum(f.samples for f in container.decode(audio=0))
            info["audio"] = {
                "codec": audio.codec_context.name,
                "rate": audio.codec_context.sample_rate,
                "channels": audio.codec_context.channels,
                "seconds": samples / audio.codec_context.sample_rate,
            }
    return info


def top_level_atoms(path: Path) -> list[str]:
    data = path.read_bytes()
    atoms, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif size == 0:
            size = len(data) - offset
        atoms.append(kind.decode("latin-1"))
        offset += size
    return atoms


# --- encode_mp4 ---------------------------------------------------------------------------------------


def test_encodes_h264_with_aac_matching_the_video_length(tmp_path):
    media, video, poster = encode(tmp_path, Clip(flat_frames(48), 48, FPS, audio=tone(1.3)))
    info = probe(video)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (W, H))
    assert info["rate"] == 24
    assert info["frames"] == 48
    assert info["times"] == [i / FPS for i in range(48)]
    assert info["audio"]["codec"] == "aac"
    assert (info["audio"]["rate"], info["audio"]["channels"]) == (48_000, 2)
    assert info["audio"]["seconds"] == pytest.approx(2.0, abs=0.03)  # 1.3 s of audio padded to 2 s
    assert (media.frame_count, media.duration_s, media.has_audio) == (48, 2.0, True)
    assert media.video_bytes == video.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg", "out.mp4"]


def test_long_mono_audio_is_trimmed_and_keeps_its_rate(tmp_path):
    clip = Clip(flat_frames(24), 24, FPS, audio=tone(3.0, channels=1, rate=44_100), sample_rate=44_100)
    _, video, _ = encode(tmp_path, clip)
    audio = probe(video)["audio"]
    assert (audio["rate"], audio["channels"]) == (44_100, 1)
    assert audio["seconds"] == pytest.approx(1.0, abs=0.03)


def test_no_audio_means_no_audio_stream(tmp_path):
    media, video, _ = encode(tmp_path, Clip(flat_frames(24), 24, FPS))
    info = probe(video)
    assert info["audio"] is None
    assert info["frames"] == 24
    assert media.has_audio is False


def test_moov_atom_comes_before_mdat(tmp_path):
    _, video, _ = encode(tmp_path, Clip(flat_frames(24), 24, FPS, audio=tone(1.0)))
    atoms = top_level_atoms(video)
    assert atoms[0] == "ftyp"
    assert atoms.index("moov") < atoms.index("mdat")


def test_audio_is_interleaved_with_video(tmp_path):
    _, video, _ = encode(tmp_path, Clip(flat_frames(96), 96, FPS, audio=tone(4.0)))
    with av.open(str(video)) as container:
        kinds = [packet.stream.type for packet in container.demux() if packet.size]
    first_audio, last_audio = kinds.index("audio"), len(kinds) - 1 - kinds[::-1].index("audio")
    assert first_audio < len(kinds) * 0.2
    assert last_audio > len(kinds) * 0.8


def test_poster_is_a_jpeg_of_the_frame_at_a_third(tmp_path):
    _, _, poster = encode(tmp_path, Clip(flat_frames(48), 48, FPS))
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(poster) as img:
        assert (img.format, img.size) == ("JPEG", (W, H))
        red = np.asarray(img.convert("RGB"))[..., 0].mean()
    assert red == pytest.approx(5 * 16, abs=3)  # frame 48 // 3 == 16


def test_poster_of_a_one_frame_clip_is_its_first_frame(tmp_path):
    _, video, poster = encode(tmp_path, Clip(flat_frames(1), 1, FPS))
    assert probe(video)["frames"] == 1
    with Image.open(poster) as img:
        assert img.size == (W, H)


def test_frames_are_consumed_lazily_at_most_read_ahead_frames_early(tmp_path):
    alive: list[weakref.ref] = []
    peak = 0
    threads = set()

    def frames():
        nonlocal peak
        for frame in flat_frames(48):
            alive.append(weakref.ref(frame))
            peak = max(peak, sum(ref() is not None for ref in alive))
            threads.add(threading.current_thread().name)
            yield frame

    encode(tmp_path, Clip(frames(), 48, FPS))
    # the queue, the frame being put, the one being encoded, the poster's copy's source
    assert READ_AHEAD <= peak <= READ_AHEAD + 3
    assert threads == {"frames"}  # rendered beside the encoder, not in the encoding thread


def test_an_encoder_failure_stops_and_closes_the_engines_frames(tmp_path):
    closed = threading.Event()

    def frames():
        try:
            yield from flat_frames(3)
            yield np.zeros((H, W, 4), np.uint8)  # refused by the encoder
            while True:
                yield np.zeros((H, W, 3), np.uint8)
        finally:
            closed.set()

    with pytest.raises(ValueError, match="frame 3"):
        encode(tmp_path, Clip(frames(), 48, FPS))
    assert closed.is_set() and not any(t.name == "frames" for t in threading.enumerate())


@pytest.mark.parametrize("produced", [0, 10, 30])
def test_wrong_frame_count_raises_and_leaves_no_files(tmp_path, produced):
    with pytest.raises(ValueError, match="frames"):
        encode(tmp_path, Clip(flat_frames(produced), 20, FPS, audio=tone(1.0)))
    assert list(tmp_path.iterdir()) == []


def test_too_many_frames_stops_at_the_first_extra_one(tmp_path):
    pulled = 0

    def endless():
        nonlocal pulled
        while True:
            pulled += 1
            yield np.zeros((H, W, 3), np.uint8)

    with pytest.raises(ValueError, match="more than"):
        encode(tmp_path, Clip(endless(), 5, FPS))
    assert 6 <= pulled <= 6 + READ_AHEAD + 1  # the extra one, and what was rendered ahead of it


@pytest.mark.parametrize(
    "bad",
    [np.zeros((H, W + 2, 3), np.uint8), np.zeros((H, W, 4), np.uint8), np.zeros((H, W, 3), np.float32)],
    ids=["wrong-width", "rgba", "float"],
)
def test_wrong_frame_shape_raises_and_leaves_no_files(tmp_path, bad):
    def frames():
        yield from flat_frames(3)
        yield bad

    with pytest.raises(ValueError, match="frame 3"):
        encode(tmp_path, Clip(frames(), 6, FPS))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("before_cancel", [0, 10])
def test_cancel_inside_the_iterator_leaves_no_files(tmp_path, before_cancel):
    def frames():
        yield from flat_frames(before_cancel)
        raise Canceled()

    with pytest.raises(Canceled):
        encode(tmp_path, Clip(frames(), 48, FPS, audio=tone(2.0)))
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_replaced_whole(tmp_path):
    encode(tmp_path, Clip(flat_frames(24), 24, FPS))
    encode(tmp_path, Clip(flat_frames(48), 48, FPS))
    assert probe(tmp_path / "out.mp4")["frames"] == 48
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg", "out.mp4"]


def test_bad_audio_shape_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="audio"):
        encode(tmp_path, Clip(flat_frames(24), 24, FPS, audio=np.zeros((3, 48_000), np.float32)))
    assert list(tmp_path.iterdir()) == []


def test_time_base_is_exact_for_the_stream(tmp_path):
    _, video, _ = encode(tmp_path, Clip(flat_frames(24), 24, FPS))
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.duration * stream.time_base == Fraction(1)


# --- images -------------------------------------------------------------------------------------------


def image_bytes(fmt: str, size=(64, 48), colour=(200, 30, 60), mode="RGB", **save) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, format=fmt, **save)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size in its header but carries no real pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", b"\x00" * 8)
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_each_supported_format_decodes_to_rgb(fmt):
    data = image_bytes(fmt)
    assert sniff_image_format(data) == fmt.lower()
    img = decode_image(data)
    assert (img.mode, img.size) == ("RGB", (64, 48))
    assert image_size(data) == (64, 48)
    assert np.abs(np.asarray(img).astype(int) - (200, 30, 60)).max() < 12


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(image_bytes("GIF"), "JPEG, PNG or WebP", id="gif"),
        pytest.param(b"not an image, just some text", "JPEG, PNG or WebP", id="garbage"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES, "larger than", id="too-big"),
        pytest.param(png_header_only(8000, 6000), "pixels", id="too-many-pixels"),
        pytest.param(png_header_only(20000, 20000), "pixels", id="past-pillow-bomb-limit"),
        pytest.param(image_bytes("PNG", size=(8, 64)), "at least", id="too-small"),
        pytest.param(image_bytes("JPEG", size=(400, 300))[:600], "corrupt or truncated", id="cut-jpeg"),
        pytest.param(image_bytes("PNG", size=(400, 300))[:60], "corrupt or truncated", id="cut-png"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "corrupt or truncated", id="bad-png"),
    ],
)
def test_unacceptable_images_are_refused(data, message):
    with pytest.raises(InvalidRequest, match=message):
        decode_image(data)


def test_truncated_noisy_jpeg_is_refused():
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(buf, format="JPEG")
    data = buf.getvalue()
    with pytest.raises(InvalidRequest, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_header_size_check_refuses_without_decoding():
    with pytest.raises(InvalidRequest, match="pixels"):
        image_size(png_header_only(8000, 6000))


def test_exif_orientation_is_applied():
    # Stored 40x20, left half red, right half blue; orientation 6 means "rotate 90 degrees clockwise".
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif, quality=95)
    data = buf.getvalue()
    upright = decode_image(data)
    assert upright.size == (20, 40) == image_size(data)
    pixels = np.asarray(upright).astype(int)
    assert pixels[5, 10, 0] > 200 and pixels[5, 10, 2] < 60  # the red half is now on top
    assert pixels[35, 10, 2] > 200 and pixels[35, 10, 0] < 60


def test_transparency_is_composited_on_black():
    img = Image.new("RGBA", (32, 32), (255, 255, 255, 0))
    img.paste((255, 255, 255, 255), (0, 0, 16, 32))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    pixels = np.asarray(decode_image(buf.getvalue()))
    assert pixels[:, :16].min() == 255
    assert pixels[:, 16:].max() == 0


def banded(width: int, height: int, band: int, axis: int) -> Image.Image:
    """Green with a red band at the start and a blue band at the end of `axis` (0 = x, 1 = y)."""
    img = Image.new("RGB", (width, height), (0, 255, 0))
    if axis == 0:
        img.paste((255, 0, 0), (0, 0, band, height))
        img.paste((0, 0, 255), (width - band, 0, width, height))
    else:
        img.paste((255, 0, 0), (0, 0, width, band))
        img.paste((0, 0, 255), (0, height - band, width, height))
    return img


def test_fit_to_size_crops_the_sides_of_a_wide_image():
    # 400x100 to 16:9 keeps the centre 177.8 px: the 100 px red and blue side bands are cut away.
    fitted = fit_to_size(banded(400, 100, band=100, axis=0), 320, 180)
    pixels = np.asarray(fitted).astype(int)
    assert fitted.size == (320, 180)
    assert pixels[..., 0].max() < 8 and pixels[..., 2].max() < 8
    assert pixels[..., 1].min() > 245


def test_fit_to_size_crops_top_and_bottom_of_a_tall_image():
    fitted = fit_to_size(banded(100, 400, band=100, axis=1), 160, 90)
    pixels = np.asarray(fitted).astype(int)
    assert fitted.size == (160, 90)
    assert pixels[..., 0].max() < 8 and pixels[..., 2].max() < 8


def test_fit_to_size_keeps_everything_when_the_aspect_matches():
    fitted = fit_to_size(banded(640, 360, band=64, axis=0), 320, 180)
    pixels = np.asarray(fitted).astype(int)
    assert fitted.size == (320, 180)
    assert pixels[90, 5, 0] > 245 and pixels[90, 314, 2] > 245  # both bands survive, halved to 32 px
