"""The CPU preview engine renders exactly what a request asks for, deterministically and cancelably."""

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from reelforge.core.request import SEED_MAX, GenerationRequest
from reelforge.engines.base import Canceled, RenderContext
from reelforge.engines.preview import SAMPLE_RATE, PreviewEngine, reference_boxes
from reelforge.media.encode import encode_mp4

W, H = 320, 180


# --- helpers ------------------------------------------------------------------------------------------


def request(**fields) -> GenerationRequest:
    defaults = {
        "model": "veo-3.1-lite",
        "prompt": "A red fox trotting through fresh snow",
        "width": W,
        "height": H,
        "duration": 1,
        "audio": False,
    }
    return GenerationRequest(**{**defaults, **fields})


def context(
    req: GenerationRequest, seed: int = 7, start=None, end=None, progress=None, canceled=None, references=()
):
    return RenderContext(
        request=req,
        seed=seed,
        start_image=start,
        end_image=end,
        progress=progress or (lambda fraction: None),
        is_canceled=canceled or (lambda: False),
        reference_images=tuple(references),
    )


def picture(width: int, height: int, sky, ground) -> Image.Image:
    """A simple scene with edges and a gradient, so motion and fades are measurable."""
    img = Image.new("RGB", (width, height), sky)
    draw = ImageDraw.Draw(img)
    for y in range(height // 2):
        draw.line((0, y, width, y), fill=tuple(int(c * (0.5 + y / height)) for c in sky))
    draw.rectangle((0, height * 0.6, width, height), fill=ground)
    draw.ellipse(
        (width * 0.6, height * 0.15, width * 0.75, height * 0.15 + width * 0.15), fill=(255, 220, 120)
    )
    for x in range(0, width, 20):
        draw.line((x, height * 0.6, x - 60, height), fill=(20, 40, 20), width=2)
    return img


def render(ctx: RenderContext):
    """The clip and its frames as arrays (the engine hands over Pillow images)."""
    clip = PreviewEngine().generate(ctx)
    return clip, [np.asarray(frame) for frame in clip.frames]


def encode_and_probe(ctx: RenderContext, tmp_path) -> dict:
    clip = PreviewEngine().generate(ctx)
    req = ctx.request
    media = encode_mp4(clip, req.width, req.height, tmp_path / "v.mp4", tmp_path / "p.jpg")
    with av.open(str(tmp_path / "v.mp4")) as container:
        video = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        info = {
            "media": media,
            "size": (video.codec_context.width, video.codec_context.height),
            "rate": video.average_rate,
            "frames": frames,
            "audio_seconds": None,
        }
        if container.streams.audio:
            container.seek(0)
            samples = sum(f.samples for f in container.decode(audio=0))
            info["audio_seconds"] = samples / container.streams.audio[0].codec_context.sample_rate
    return info


def mean_abs_diff(a, b) -> float:
    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


# --- what comes out -----------------------------------------------------------------------------------


def test_engine_is_named_preview():
    assert PreviewEngine.name == "preview"


def test_title_card_matches_the_request(tmp_path):
    req = request(duration=2, audio=True)
    info = encode_and_probe(context(req), tmp_path)
    assert info["size"] == (W, H)
    assert info["rate"] == 24
    assert len(info["frames"]) == req.frame_count == 48
    assert info["audio_seconds"] == pytest.approx(2.0, abs=0.03)
    assert info["media"].has_audio


def test_title_card_changes_every_frame():
    clip, frames = render(context(request(duration=1)))
    assert clip.fps == 24 and clip.frame_count == len(frames) == 24
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)
    assert all(np.any(a != b) for a, b in zip(frames, frames[1:], strict=False))


def test_title_card_survives_odd_prompts_and_tiny_frames():
    for prompt in [
        "x",
        "   spaced    out  ",
        "w" * 3000,
        "word " * 500,
        "snow \u2603 \u00e9t\u00e9 \u4e2d\u6587",
    ]:
        _, frames = render(context(request(prompt=prompt, width=64, height=64)))
        assert len(frames) == 24 and frames[0].shape == (64, 64, 3)


def test_start_image_gets_a_camera_move_from_the_exact_image(tmp_path):
    start = picture(W, H, (60, 110, 190), (40, 120, 50))
    req = request(duration=2, start_image="img-start")
    clip, frames = render(context(req, start=start))
    assert len(frames) == 48
    assert np.array_equal(frames[0], np.asarray(start))
    assert mean_abs_diff(frames[-1], start) > 5  # the camera has moved
    info = encode_and_probe(context(req, start=start), tmp_path)
    assert (info["size"], info["rate"], len(info["frames"])) == ((W, H), 24, 48)
    assert info["audio_seconds"] is None
    assert mean_abs_diff(info["frames"][0], start) < 3


def test_start_and_end_images_are_the_first_and_last_frames(tmp_path):
    start = picture(W, H, (60, 110, 190), (40, 120, 50))
    end = picture(W, H, (30, 20, 70), (90, 60, 40))
    req = request(duration=2, start_image="a", end_image="b", audio=True)
    _, frames = render(context(req, start=start, end=end))
    assert np.array_equal(frames[0], np.asarray(start))
    assert np.array_equal(frames[-1], np.asarray(end))
    middle = frames[len(frames) // 2]
    assert mean_abs_diff(middle, start) > 5 and mean_abs_diff(middle, end) > 5
    info = encode_and_probe(context(req, start=start, end=end), tmp_path)
    assert len(info["frames"]) == 48
    assert mean_abs_diff(info["frames"][0], start) < 3
    assert mean_abs_diff(info["frames"][-1], end) < 3
    assert info["audio_seconds"] == pytest.approx(2.0, abs=0.03)


SOLIDS = [(230, 30, 30), (30, 200, 60), (40, 60, 230)]


def inside(frame: np.ndarray, box: tuple[int, int, int, int], inset: int = 2) -> np.ndarray:
    """The mean colour of `box` in `frame`, `inset` pixels in from its edges."""
    left, top, right, bottom = box
    return frame[top + inset : bottom - inset, left + inset : right - inset].reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("size", [(W, H), (H, W), (1280, 720), (64, 64)])
def test_reference_images_are_tiles_side_by_side_inside_the_frame(size):
    width, height = size
    boxes = reference_boxes(width, height, 3)
    assert len(boxes) == 3
    for (left, top, right, bottom), following in zip(boxes, [*boxes[1:], None], strict=True):
        assert right - left == bottom - top > 0  # square
        assert left > 0 and right < width and top > 0 and bottom < height
        assert following is None or (following[1] == top and following[0] > right)  # a row, apart


def test_reference_images_are_shown_on_every_frame_over_the_title_card(tmp_path):
    references = [Image.new("RGB", (300 + 40 * i, 200), colour) for i, colour in enumerate(SOLIDS)]
    req = request(duration=1, reference_images=("a", "b", "c"))
    _, frames = render(context(req, references=references))
    _, plain = render(context(request(duration=1)))
    boxes = reference_boxes(W, H, 3)
    for frame in (frames[0], frames[12], frames[-1]):
        for box, colour in zip(boxes, SOLIDS, strict=True):
            assert np.abs(inside(frame, box, inset=0) - colour).max() < 1
    left, top, right, _ = boxes[0]
    assert np.array_equal(frames[5][: top - 4], plain[5][: top - 4])  # above the strip: the title card
    assert mean_abs_diff(frames[5], plain[5]) > 1
    info = encode_and_probe(context(req, references=references), tmp_path)
    for box, colour in zip(boxes, SOLIDS, strict=True):
        assert np.abs(inside(info["frames"][-1], box) - colour).max() < 12  # after H.264


def test_reference_images_are_cropped_into_their_tiles_over_a_start_image():
    start = picture(W, H, (60, 110, 190), (40, 120, 50))
    halves = Image.new("RGB", (400, 100), (250, 250, 250))
    halves.paste((20, 20, 20), (200, 0, 400, 100))  # wide: the centre crop keeps both halves
    req = request(duration=1, start_image="s", reference_images=("r",))
    _, frames = render(context(req, start=start, references=[halves]))
    [(left, top, right, bottom)] = reference_boxes(W, H, 1)
    middle = (left + right) // 2
    assert inside(frames[0], (left, top, middle, bottom)).min() > 240
    assert inside(frames[0], (middle, top, right, bottom)).max() < 30
    assert np.array_equal(frames[0][: top - 4], np.asarray(start)[: top - 4])  # the start frame elsewhere


def test_images_of_the_wrong_size_are_refused():
    with pytest.raises(ValueError, match="start image"):
        PreviewEngine().generate(
            context(request(start_image="a"), start=picture(W + 2, H, (0, 0, 0), (9, 9, 9)))
        )


def test_audio_is_a_quiet_stereo_soundtrack_of_exact_length():
    clip, _ = render(context(request(duration=2, audio=True)))
    audio = clip.audio
    assert clip.sample_rate == SAMPLE_RATE == 48_000
    assert audio.dtype == np.float32 and audio.shape == (2, 2 * SAMPLE_RATE)
    assert 0.3 < np.abs(audio).max() < 0.8
    assert np.sqrt(np.mean(audio**2)) > 0.05  # not silence


def test_no_audio_when_not_requested():
    clip, _ = render(context(request(audio=False)))
    assert clip.audio is None


def test_full_size_clip_with_audio(tmp_path):
    req = request(width=1280, height=720, duration=4, audio=True)
    info = encode_and_probe(context(req, seed=SEED_MAX), tmp_path)
    assert info["size"] == (1280, 720)
    assert info["rate"] == 24
    assert len(info["frames"]) == 96
    assert info["audio_seconds"] == pytest.approx(4.0, abs=0.03)


# --- determinism ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "start", "start+end"])
def test_same_seed_same_output_other_seed_other_output(kind):
    start = picture(W, H, (60, 110, 190), (40, 120, 50)) if kind != "text" else None
    end = picture(W, H, (30, 20, 70), (90, 60, 40)) if kind == "start+end" else None
    req = request(audio=True, start_image=start and "a", end_image=end and "b")

    def run(seed):
        clip, frames = render(context(req, seed=seed, start=start, end=end))
        return np.stack(frames), clip.audio

    frames_a, audio_a = run(123)
    frames_b, audio_b = run(123)
    frames_c, audio_c = run(124)
    assert np.array_equal(frames_a, frames_b) and np.array_equal(audio_a, audio_b)
    assert not np.array_equal(audio_a, audio_c)
    if kind != "start+end":  # a cross-fade between two given images does not depend on the seed
        assert not np.array_equal(frames_a, frames_c)


def test_camera_moves_vary_with_the_seed():
    start = picture(W, H, (60, 110, 190), (40, 120, 50))
    req = request(start_image="a")
    last_frames = [render(context(req, seed=seed, start=start))[1][-1] for seed in range(8)]
    distinct = {frame.tobytes() for frame in last_frames}
    assert len(distinct) >= 3


# --- progress and cancel ------------------------------------------------------------------------------


@pytest.mark.parametrize("with_image", [False, True])
def test_progress_is_monotonic_and_reaches_one(with_image):
    seen: list[float] = []
    start = picture(W, H, (60, 110, 190), (40, 120, 50)) if with_image else None
    req = request(duration=2, start_image="a" if with_image else None)
    _, frames = render(context(req, start=start, progress=seen.append))
    assert len(seen) >= len(frames) // 4
    assert all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(1.0)


def test_cancel_stops_within_a_frame():
    produced = 0
    clip = PreviewEngine().generate(context(request(duration=2), canceled=lambda: produced >= 5))
    with pytest.raises(Canceled):
        for _ in clip.frames:
            produced += 1
    assert produced == 5


def test_cancel_during_encode_leaves_no_files(tmp_path):
    calls = []
    ctx = context(request(duration=2, audio=True), progress=calls.append, canceled=lambda: len(calls) >= 10)
    clip = PreviewEngine().generate(ctx)
    with pytest.raises(Canceled):
        encode_mp4(clip, W, H, tmp_path / "v.mp4", tmp_path / "p.jpg")
    assert len(calls) == 10
    assert list(tmp_path.iterdir()) == []
