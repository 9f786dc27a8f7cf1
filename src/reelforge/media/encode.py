"""Turn an engine's `Clip` into a streamable MP4 (H.264 + optional AAC) and a JPEG poster.

Every engine shares this one encoder so all outputs look alike to clients: yuv420p H.264 tagged
BT.709, exact frame timestamps, AAC audio cut to the video's length, and the `moov` atom up front
(faststart) so a browser can play the file before it has downloaded. Frames are consumed lazily
and audio is interleaved as the video advances, so memory stays flat however long the clip is.
The engine makes its frames in a thread of their own, at most `READ_AHEAD` frames ahead of the
encoder, so rendering and encoding overlap (numpy, Pillow, torch and x264 release the GIL).
Files appear at their destination atomically (temp file + `os.replace`) or not at all.
"""

import contextlib
import os
import queue
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc
from PIL import Image

from reelforge.media.clip import Clip

VIDEO_CODEC = "libx264"
VIDEO_OPTIONS = {"preset": "veryfast", "crf": "20"}
AUDIO_CODEC = "aac"
AUDIO_BIT_RATE = 160_000
POSTER_QUALITY = 90
_AVCOL_SPC_BT709 = 1  # AVColorSpace value for the stream tag (Colorspace is swscale's enum)
_LAYOUTS = {1: "mono", 2: "stereo"}
READ_AHEAD = 8  # frames the engine may render before the encoder takes them
_END = object()


@dataclass(frozen=True)
class EncodedMedia:
    """What was written, for the job record (also what media/adopt.py reads off a ready-made MP4)."""

    width: int
    height: int
    fps: int
    frame_count: int
    has_audio: bool
    video_bytes: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps


def encode_mp4(clip: Clip, width: int, height: int, video_path: Path, poster_path: Path) -> EncodedMedia:
    """Encode `clip` to `video_path` (MP4) and a poster frame to `poster_path` (JPEG).

    Raises ValueError if the clip breaks its own contract (frame shape, frame count, audio shape).
    On any error, including `Canceled` raised by the frame iterator, neither file is left behind.
    """
    _check_clip(clip, width, height)
    audio = _fit_audio(clip) if clip.audio is not None else None
    video_path, poster_path = Path(video_path), Path(poster_path)
    video_tmp, poster_tmp = _temp_beside(video_path), _temp_beside(poster_path)
    placed: list[Path] = []
    try:
        poster = _write_mp4(clip, audio, width, height, video_tmp)
        Image.fromarray(poster).save(poster_tmp, format="JPEG", quality=POSTER_QUALITY)
        os.replace(poster_tmp, poster_path)
        placed.append(poster_path)
        os.replace(video_tmp, video_path)
        placed.append(video_path)
    except BaseException:
        for path in (video_tmp, poster_tmp, *placed):
            path.unlink(missing_ok=True)
        raise
    return EncodedMedia(
        width=width,
        height=height,
        fps=clip.fps,
        frame_count=clip.frame_count,
        has_audio=audio is not None,
        video_bytes=video_path.stat().st_size,
    )


def _check_clip(clip: Clip, width: int, height: int) -> None:
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"width and height must be positive and even, got {width}x{height}")
    if clip.frame_count <= 0:
        raise ValueError(f"frame_count must be positive, got {clip.frame_count}")
    if clip.fps <= 0:
        raise ValueError(f"fps must be positive, got {clip.fps}")
    if clip.audio is not None and clip.sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {clip.sample_rate}")


def _fit_audio(clip: Clip) -> np.ndarray:
    """The clip's audio as contiguous float32 (channels, samples), padded/trimmed to the video length."""
    audio = np.asarray(clip.audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[0] not in _LAYOUTS:
        raise ValueError(f"audio must have shape (1 or 2 channels, samples), got {audio.shape}")
    total = clip.frame_count * clip.sample_rate // clip.fps
    fitted = np.zeros((audio.shape[0], total), dtype=np.float32)
    kept = min(total, audio.shape[1])
    fitted[:, :kept] = np.clip(audio[:, :kept], -1.0, 1.0)
    return fitted


def _temp_beside(path: Path) -> Path:
    """A hidden, unique temp path in the destination's directory, so os.replace is atomic."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")


def _write_mp4(clip: Clip, audio: np.ndarray | None, width: int, height: int, path: Path) -> np.ndarray:
    """Encode the clip to `path`; return the poster frame (the one at ~1/3 of the clip)."""
    poster_index = clip.frame_count // 3
    poster = None
    container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        video = container.add_stream(VIDEO_CODEC, rate=clip.fps, options=VIDEO_OPTIONS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, clip.fps)
        video.codec_context.colorspace = _AVCOL_SPC_BT709
        video.codec_context.color_primaries = ColorPrimaries.BT709
        video.codec_context.color_trc = ColorTrc.BT709
        video.codec_context.color_range = ColorRange.MPEG
        sound = None
        if audio is not None:
            sound = container.add_stream(AUDIO_CODEC, rate=clip.sample_rate, layout=_LAYOUTS[audio.shape[0]])
            sound.bit_rate = AUDIO_BIT_RATE
        audio_done = 0
        produced = 0
        for rgb in _read_ahead(clip.frames, READ_AHEAD):
            if produced == clip.frame_count:
                raise ValueError(f"engine yielded more than the promised {clip.frame_count} frames")
            _check_frame(rgb, width, height, produced)
            if produced == poster_index:
                poster = np.array(rgb)  # a copy: an engine may reuse its array
            container.mux(video.encode(_video_frame(rgb, produced, clip.fps)))
            produced += 1
            audio_end = produced * clip.sample_rate // clip.fps
            if sound is not None and audio_end > audio_done:
                # Audio up to the end of the frame just encoded, so the muxer can interleave.
                container.mux(sound.encode(_audio_frame(audio, audio_done, audio_end, clip.sample_rate)))
                audio_done = audio_end
        if produced != clip.frame_count:
            raise ValueError(f"engine yielded {produced} frames, promised {clip.frame_count}")
        container.mux(video.encode(None))
        if sound is not None:
            container.mux(sound.encode(None))
    except BaseException:
        _abandon(container)
        raise
    container.close()
    return poster


def _read_ahead(frames: Iterator, depth: int) -> Iterator:
    """`frames`, produced in a thread of their own up to `depth` ahead of the consumer. The
    producer's exception (Canceled included) is raised here after the frames before it; when the
    consumer stops early, the producer stops at its next frame and closes the engine's iterator."""
    ready: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    break
            else:
                put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    producer = threading.Thread(target=produce, name="frames", daemon=True)
    producer.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()


def _abandon(container: av.container.OutputContainer) -> None:
    """Close a container after a failure; its file is deleted anyway, so close errors don't matter."""
    with contextlib.suppress(Exception):  # the original error is the one worth reporting
        container.close()


def _check_frame(rgb: object, width: int, height: int, index: int) -> None:
    if isinstance(rgb, Image.Image):
        if rgb.mode != "RGB" or rgb.size != (width, height):
            got = f"{rgb.mode} {rgb.size}"
            raise ValueError(f"frame {index}: expected an RGB {width}x{height} image, got {got}")
        return
    if not isinstance(rgb, np.ndarray) or rgb.shape != (height, width, 3) or rgb.dtype != np.uint8:
        got = f"{rgb.shape} {rgb.dtype}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ValueError(f"frame {index}: expected ({height}, {width}, 3) uint8, got {got}")


def _video_frame(rgb: np.ndarray | Image.Image, index: int, fps: int) -> av.VideoFrame:
    if isinstance(rgb, Image.Image):
        frame = av.VideoFrame.from_image(rgb)
    else:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    frame = frame.reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )
    frame.time_base = Fraction(1, fps)
    frame.pts = index
    return frame


def _audio_frame(audio: np.ndarray, start: int, end: int, sample_rate: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(audio[:, start:end]), format="fltp", layout=_LAYOUTS[audio.shape[0]]
    )
    frame.sample_rate = sample_rate
    frame.time_base = Fraction(1, sample_rate)
    frame.pts = start
    return frame
