"""A finished MP4 made elsewhere (an upstream provider's), kept as it is: checked to hold a video
stream, described for the job record, and given a JPEG poster of its first frame, as the encoder
gives its own outputs. Re-encoding would cost CPU and quality for nothing."""

from fractions import Fraction
from pathlib import Path

import av

from reelforge.media.encode import POSTER_QUALITY, EncodedMedia


def adopt_mp4(video_path: Path, poster_path: Path) -> EncodedMedia:
    """Describe the MP4 at `video_path` and write its poster; ValueError if it holds no video."""
    try:
        with av.open(str(video_path)) as container:
            if not container.streams.video:
                raise ValueError("the file has no video stream")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise ValueError("the video has no frame")
            first.to_image().save(poster_path, format="JPEG", quality=POSTER_QUALITY)
            rate = stream.average_rate or Fraction(24)
            frames = stream.frames or round(float(stream.duration * stream.time_base) * rate)
            return EncodedMedia(
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                fps=round(rate),
                frame_count=frames,
                has_audio=bool(container.streams.audio),
                video_bytes=video_path.stat().st_size,
            )
    except av.FFmpegError as exc:
        raise ValueError(f"not a readable video: {exc}") from None
