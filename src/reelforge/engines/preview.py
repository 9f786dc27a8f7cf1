"""The CPU preview engine: a deterministic stand-in for a video model, fast enough for CI.

It needs no GPU and no weights, yet honours everything a request specifies (size, fps, frame
count, audio), so the whole server can be exercised end to end. Text-only requests get an
animated title card, a start image gets a slow camera move, a start + end pair gets a zooming
cross-fade, reference images are shown side by side in a strip at the bottom left of every frame
(`reference_boxes`), and `audio` adds a short synthesized soundtrack. Everything derives from the
sample's seed through `numpy.random.default_rng`, so a request and seed always give identical
frames and audio. Frames are handed over as Pillow images, which the encoder passes to PyAV
without a conversion to numpy (the biggest cost of a frame when it was one).
"""

import bisect
import colorsys
import functools
import math
import string
import unicodedata
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from reelforge.core.request import GenerationRequest
from reelforge.engines.base import RenderContext
from reelforge.media.clip import Clip
from reelforge.media.images import fit_to_size

SAMPLE_RATE = 48_000
_BG_SCALE = 8  # the title-card background is smooth, so it is rendered at 1/8 size and upscaled
_MOVE_ZOOM = 1.12  # camera push-in reached at the end of a start-image clip
_FADE_ZOOM = 1.06  # zoom each image has while it is hidden in a start-to-end transition
_PROMPT_LINES = 5  # a longer prompt is cut with an ellipsis
_LINE_SPACING = 1.28


class PreviewEngine:
    name = "preview"

    def generate(self, ctx: RenderContext) -> Clip:
        ctx.check_cancel()  # before laying out text and building the background
        request = ctx.request
        size = (request.width, request.height)
        for label, image in (("start", ctx.start_image), ("end", ctx.end_image)):
            if image is not None and (image.size != size or image.mode != "RGB"):
                raise ValueError(
                    f"{label} image must be RGB {size[0]}x{size[1]}, got {image.mode} {image.size}"
                )
        # Independent streams, so the soundtrack does not depend on which picture path ran.
        rng, audio_rng = np.random.default_rng(ctx.seed).spawn(2)
        if ctx.start_image is None:
            renderer = _TitleCard(request, ctx.seed, rng)
        elif ctx.end_image is None:
            renderer = _CameraMove(ctx.start_image, request.frame_count, rng)
        else:
            renderer = _Transition(ctx.start_image, ctx.end_image, request.frame_count)
        if ctx.reference_images:
            renderer = _WithReferences(renderer, ctx.reference_images, size)
        audio = _soundtrack(request.duration, audio_rng) if request.audio else None
        return Clip(
            frames=_frames(renderer, ctx),
            frame_count=request.frame_count,
            fps=request.fps,
            audio=audio,
            sample_rate=SAMPLE_RATE,
        )


def _frames(renderer: "_Renderer", ctx: RenderContext) -> Iterator[Image.Image]:
    count = ctx.request.frame_count
    for index in range(count):
        ctx.check_cancel()
        frame = renderer.frame(index)
        ctx.progress((index + 1) / count)
        yield frame


def _ease(p: float) -> float:
    """Smoothstep: starts and ends at rest."""
    return p * p * (3.0 - 2.0 * p)


def _clip_progress(index: int, count: int) -> float:
    """0 at the first frame, 1 at the last."""
    return index / (count - 1) if count > 1 else 0.0


# --- start image: slow camera move -------------------------------------------------------------


class _CameraMove:
    """A push-in from the full image (scale 1, so frame 0 is the image) toward a seed-chosen point."""

    def __init__(self, image: Image.Image, count: int, rng: np.random.Generator):
        self.image = image
        self.count = count
        width, height = image.size
        style = int(rng.integers(3))
        if style == 0:  # straight push-in
            focus = (0.5, 0.5)
        elif style == 1:  # push-in toward an off-centre point
            focus = (0.5 + rng.uniform(-0.25, 0.25), 0.5 + rng.uniform(-0.2, 0.2))
        else:  # drift to the left or right edge while pushing in
            focus = (float(rng.choice([0.0, 1.0])), 0.5)
        self.focus = (focus[0] * width, focus[1] * height)

    def frame(self, index: int) -> Image.Image:
        e = _ease(_clip_progress(index, self.count))
        width, height = self.image.size
        scale = 1.0 + (_MOVE_ZOOM - 1.0) * e
        box_w, box_h = width / scale, height / scale
        # Move the window centre from the image centre toward the focus, keeping it inside the image.
        cx = min(max(width / 2 + (self.focus[0] - width / 2) * e, box_w / 2), width - box_w / 2)
        cy = min(max(height / 2 + (self.focus[1] - height / 2) * e, box_h / 2), height - box_h / 2)
        box = (cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2)
        return self.image.resize((width, height), Image.Resampling.BILINEAR, box=box)


# --- start + end image: zooming cross-fade ---------------------------------------------------------


class _Transition:
    """Cross-fade from the start image to the end image; each is slightly zoomed while it is faded."""

    def __init__(self, start: Image.Image, end: Image.Image, count: int):
        self.start, self.end, self.count = start, end, count

    def frame(self, index: int) -> Image.Image:
        e = _ease(_clip_progress(index, self.count))
        start = _zoomed(self.start, 1.0 + (_FADE_ZOOM - 1.0) * e)
        end = _zoomed(self.end, 1.0 + (_FADE_ZOOM - 1.0) * (1.0 - e))
        return Image.blend(start, end, e)


def _zoomed(image: Image.Image, scale: float) -> Image.Image:
    if scale == 1.0:
        return image
    width, height = image.size
    dx, dy = width * (1 - 1 / scale) / 2, height * (1 - 1 / scale) / 2
    return image.resize((width, height), Image.Resampling.BILINEAR, box=(dx, dy, width - dx, height - dy))


# --- reference images: a strip of tiles over every frame ----------------------------------------------


def reference_boxes(width: int, height: int, count: int) -> list[tuple[int, int, int, int]]:
    """Where the reference tiles go in a width x height frame: square (left, top, right, bottom)
    boxes side by side along the bottom-left edge, each framed by a white border `gap // 2` wide."""
    gap = max(2, min(width, height) // 40)
    side = max(1, min(min(width, height) // 5, (width - gap * (count + 1)) // count))
    top = height - 2 * gap - side  # clear of the progress bar along the bottom edge
    lefts = [gap + index * (side + gap) for index in range(count)]
    return [(left, top, left + side, top + side) for left in lefts]


class _WithReferences:
    """Another renderer's frames with the reference images pasted over them, centre-cropped to tiles."""

    def __init__(self, inner: "_Renderer", references: tuple[Image.Image, ...], size: tuple[int, int]):
        self.inner = inner
        self.boxes = reference_boxes(*size, len(references))
        border = max(1, self.boxes[0][0] // 2)  # half the gap between tiles (the first tile's left)
        self.tiles = []
        for image, (left, top, right, bottom) in zip(references, self.boxes, strict=True):
            framed = Image.new("RGB", (right - left + 2 * border, bottom - top + 2 * border), (255, 255, 255))
            framed.paste(fit_to_size(image.convert("RGB"), right - left, bottom - top), (border, border))
            self.tiles.append((framed, (left - border, top - border)))

    def frame(self, index: int) -> Image.Image:
        image = self.inner.frame(index)  # a new image per frame: the tiles go straight onto it
        for tile, origin in self.tiles:
            image.paste(tile, origin)
        return image


# --- text only: animated title card ----------------------------------------------------------------


class _TitleCard:
    """A seed-coloured moving gradient with soft lights, the prompt, the model and seed, a timecode.

    The background is computed with numpy at 1/4 size and upscaled; the text is drawn once into
    an RGBA layer and pasted on each frame; only the timecode and progress bar change per frame.
    """

    def __init__(self, request: GenerationRequest, seed: int, rng: np.random.Generator):
        self.width, self.height = request.width, request.height
        self.fps, self.count = request.fps, request.frame_count
        self._init_background(rng)
        self._init_text(request, seed)

    def _init_background(self, rng: np.random.Generator) -> None:
        w, h = self.width, self.height
        lw, lh = -(-w // _BG_SCALE), -(-h // _BG_SCALE)
        aspect = w / h
        # Pixel centres in units of the frame height, origin at the frame centre.
        self.u = ((np.arange(lw, dtype=np.float32) + 0.5) / lw - 0.5) * np.float32(aspect)
        self.v = (np.arange(lh, dtype=np.float32) + 0.5) / lh - np.float32(0.5)
        # An analogous palette: a dark base hue, a lighter neighbour, lights around both.
        hue = rng.uniform()
        neighbour = hue + rng.uniform(0.05, 0.14) * rng.choice([-1.0, 1.0])
        self.dark = _hsv(hue, 0.80, 0.16)[:, None, None]
        self.light = _hsv(neighbour, 0.65, 0.50)[:, None, None]
        self.accent = _hsv(neighbour, 0.45, 1.0)
        self.angle = rng.uniform(0, 2 * math.pi)
        self.sway = (rng.uniform(12, 20), rng.uniform(0, 2 * math.pi))  # period (s), phase
        # Soft lights drifting on slow Lissajous paths and pulsing; one row per light.
        count = int(rng.integers(3, 6))
        self.light_colour = np.stack(
            [
                _hsv(hue + rng.uniform(-0.14, 0.14), rng.uniform(0.45, 0.8), rng.uniform(0.25, 0.45))
                for _ in range(count)
            ]
        )
        self.light_inv_r2 = (1.0 / rng.uniform(0.18, 0.42, size=count) ** 2).astype(np.float32)
        self.light_centre = rng.uniform(-0.45, 0.45, size=(count, 2)) * (aspect, 1.0)
        self.light_reach = rng.uniform(0.15, 0.35, size=(count, 2)) * (aspect, 1.0)
        self.light_period = rng.uniform(6, 16, size=(count, 3))  # seconds for x, y, pulse
        self.light_phase = rng.uniform(0, 2 * math.pi, size=(count, 3))
        r2 = self.u[None, :] ** 2 + self.v[:, None] ** 2
        self.vignette = np.clip(1.0 - 0.55 * r2, 0.0, 1.0) * np.float32(255.0)

    def _background(self, t: float) -> Image.Image:
        period, phase = self.sway
        angle = self.angle + 0.5 * math.sin(2 * math.pi * t / period + phase)
        ramp = 0.5 + 1.1 * (self.u[None, :] * math.cos(angle) + self.v[:, None] * math.sin(angle))
        base = self.dark + np.clip(ramp, 0.0, 1.0)[None] * (self.light - self.dark)  # (3, lh, lw)
        waves = np.sin(2 * math.pi * t / self.light_period + self.light_phase)
        cx, cy = (self.light_centre + self.light_reach * waves[:, :2]).astype(np.float32).T
        strength = (0.75 + 0.25 * waves[:, 2]).astype(np.float32)
        gx = np.exp(-((self.u[None, :] - cx[:, None]) ** 2) * self.light_inv_r2[:, None])  # (lights, lw)
        gy = np.exp(-((self.v[None, :] - cy[:, None]) ** 2) * self.light_inv_r2[:, None])  # (lights, lh)
        # Each light is separable (gy outer gx), so all lights and channels are one matmul.
        weighted = gy[:, None, :] * (self.light_colour * strength[:, None])[:, :, None]  # (lights, 3, lh)
        glow = np.matmul(weighted.transpose(1, 2, 0), gx)  # (3, lh, lw)
        lit = 1.0 - (1.0 - base) * (1.0 - np.clip(glow, 0.0, 1.0))  # "screen" blend: lights never clip
        rgb = (lit * self.vignette + 0.5).astype(np.uint8).transpose(1, 2, 0)
        # Bilinear to 1/4 size, then pixel quadrupling: the field is smooth (neighbouring blocks
        # differ by well under a level), and this is 4x faster than bilinear all the way.
        quarter = Image.fromarray(np.ascontiguousarray(rgb)).resize(
            (-(-self.width // 4), -(-self.height // 4)), Image.Resampling.BILINEAR
        )
        return quarter.resize((self.width, self.height), Image.Resampling.NEAREST)

    def _init_text(self, request: GenerationRequest, seed: int) -> None:
        w, h = self.width, self.height
        layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        margin = round(h * 0.055)

        # The prompt, as large as fits in a few lines, then a small model/seed line.
        font, lines = _fit_text(_displayable(request.prompt), max_width=w * 0.8, h=h)
        line_h = round(font.size * _LINE_SPACING)
        small = ImageFont.load_default(size=max(9, round(h * 0.032)))
        gap = round(h * 0.06)
        block_h = line_h * len(lines) + gap + small.size
        y = (h - block_h) // 2
        text_mask = Image.new("L", (w, h), 0)
        text_draw = ImageDraw.Draw(text_mask)
        for line in lines:
            text_draw.text((w / 2, y), line, font=font, fill=255, anchor="ma")
            y += line_h
        shadow = text_mask.filter(ImageFilter.GaussianBlur(max(1.0, h * 0.008)))
        layer.paste((0, 0, 0, 150), (0, 0), shadow)
        layer.paste((255, 255, 255, 255), (0, 0), text_mask)
        rule_w, rule_y = round(w * 0.06), y + gap // 2 - 1
        draw.rectangle(
            (w // 2 - rule_w // 2, rule_y, w // 2 + rule_w // 2, rule_y + max(1, h // 360)),
            fill=(*_rgb8(self.accent), 220),
        )
        draw.text(
            (w / 2, y + gap),
            f"{request.model}  \u00b7  seed {seed}",
            font=small,
            fill=(255, 255, 255, 190),
            anchor="ma",
        )
        draw.text((margin, margin), "REELFORGE PREVIEW", font=small, fill=(255, 255, 255, 130), anchor="la")

        # Timecode: a dark pill bottom-right; the digits are drawn per frame (the font's digits are
        # tabular, so the text does not jitter).
        self.timecode_font = ImageFont.load_default(size=max(10, round(h * 0.04)))
        tc_w = math.ceil(self.timecode_font.getlength("00:00.00"))
        ascent, descent = self.timecode_font.getmetrics()
        pad = round(self.timecode_font.size * 0.45)
        self.timecode_box = (w - margin - tc_w, h - margin - ascent - descent, w - margin, h - margin)
        x0, y0, x1, y1 = self.timecode_box
        draw.rounded_rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad // 2), radius=pad, fill=(0, 0, 0, 110))

        # Progress bar: a faint track along the bottom edge, filled per frame.
        self.bar_h = max(2, h // 180)
        draw.rectangle((0, h - self.bar_h, w, h), fill=(255, 255, 255, 40))

        # Paste only the regions that hold something, to keep the per-frame composite cheap.
        self.layers = [(layer.crop(box), box[:2]) for box in _alpha_bands(layer)]
        self.timecode_mask = Image.new("L", (x1 - x0, y1 - y0), 0)

    def frame(self, index: int) -> Image.Image:
        img = self._background(index / self.fps)
        for part, origin in self.layers:
            img.paste(part, origin, part)
        seconds, frames = divmod(index, self.fps)
        self.timecode_mask.paste(0, (0, 0, *self.timecode_mask.size))
        ImageDraw.Draw(self.timecode_mask).text(
            (0, 0), f"{seconds // 60:02d}:{seconds % 60:02d}.{frames:02d}", font=self.timecode_font, fill=255
        )
        img.paste((255, 255, 255), self.timecode_box[:2], self.timecode_mask)
        filled = round(self.width * (index + 1) / self.count)
        img.paste(_rgb8(self.accent), (0, self.height - self.bar_h, filled, self.height))
        return img


def _hsv(hue: float, saturation: float, value: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue % 1.0, saturation, value), dtype=np.float32)


def _rgb8(colour: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(round(c * 255)) for c in colour)
    return r, g, b


def _displayable(text: str) -> str:
    """Pillow's built-in font covers little beyond ASCII: fold accents (é -> e) and dashes so most
    Latin-script prompts render cleanly (other scripts still show as boxes); collapse whitespace."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(folded.replace("\u2013", "-").replace("\u2014", "-").split())


def _fit_text(text: str, max_width: float, h: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font (down to a floor) that fits `text` in a few lines; overflow ends in an ellipsis.
    Text beyond what the floor size could ever show is cut first, so the work is bounded whatever
    the text's length."""
    size = max(10, round(h * 0.075))
    floor = min(size, max(9, round(h * 0.04)))
    text = text[: (_PROMPT_LINES + 2) * _most_per_line(floor, max_width)]
    while True:
        font = ImageFont.load_default(size=size)
        lines = _wrap(text, font, max_width, limit=_PROMPT_LINES + 1)
        if len(lines) <= _PROMPT_LINES:
            return font, _balanced(text, font, max_width, len(lines))
        if size == floor:
            break
        size = max(floor, round(size * 0.9))
    last = f"{lines[_PROMPT_LINES - 1]} {lines[_PROMPT_LINES]}"
    keep = _fitting_prefix(last, font, max_width - font.getlength("\u2026"))
    return font, [*lines[: _PROMPT_LINES - 1], last[:keep].rstrip() + "\u2026"]


@functools.cache
def _narrowest(size: int) -> float:
    """The advance of the narrowest printable ASCII character in the built-in font at `size`."""
    font = ImageFont.load_default(size=size)
    return max(1.0, min(font.getlength(c) for c in string.printable.strip()))


def _most_per_line(size: int, max_width: float) -> int:
    """How many of the narrowest character fit in a line of `max_width` at `size`: about the most
    any line holds (kerning aside)."""
    return math.ceil(max_width / _narrowest(size))


def _balanced(text: str, font: ImageFont.FreeTypeFont, max_width: float, count: int) -> list[str]:
    """Wrap at the narrowest width that still needs only `count` lines: even lines, no lone last word."""
    narrow, wide = 0.0, max_width
    for _ in range(10):
        middle = (narrow + wide) / 2
        if len(_wrap(text, font, middle, limit=count + 1)) <= count:
            wide = middle
        else:
            narrow = middle
    return _wrap(text, font, wide, limit=count)


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: float, limit: int) -> list[str]:
    """Greedy word wrap, stopping at `limit` lines; a word wider than a line is split between characters."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while len(lines) < limit and (cut := _fitting_prefix(line, font, max_width)) < len(line):
            cut = max(1, cut)
            lines.append(line[:cut])
            line = line[cut:]
        if len(lines) >= limit:
            return lines[:limit]
    lines.append(line)
    return lines


def _fitting_prefix(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> int:
    """The length of the longest prefix of `text` no wider than `max_width`: a bisection over the
    prefixes short enough to possibly fit."""
    candidates = range(1, min(len(text), 2 * _most_per_line(font.size, max_width)) + 1)
    return bisect.bisect_right(candidates, max_width, key=lambda n: font.getlength(text[:n]))


def _alpha_bands(layer: Image.Image) -> list[tuple[int, int, int, int]]:
    """Bounding boxes of the horizontal bands of `layer` that have any opaque pixel."""
    rows = np.flatnonzero(np.asarray(layer.getchannel("A")).any(axis=1))
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > 1)
    starts = np.concatenate(([rows[0]], rows[breaks + 1]))
    ends = np.concatenate((rows[breaks], [rows[-1]])) + 1
    boxes = []
    for top, bottom in zip(starts, ends, strict=True):
        band = layer.crop((0, int(top), layer.width, int(bottom)))
        left, _, right, _ = band.getchannel("A").getbbox()
        boxes.append((left, int(top), right, int(bottom)))
    return boxes


_Renderer = _TitleCard | _CameraMove | _Transition | _WithReferences


# --- audio: seed-derived soundtrack ------------------------------------------------------------------

_PROGRESSIONS = {  # four chords each, as 0-based scale degrees
    "major": [(0, 4, 5, 3), (0, 5, 3, 4), (3, 0, 4, 5)],
    "minor": [(0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 6)],
}
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_PEAK = 0.7


def _soundtrack(duration: int, rng: np.random.Generator) -> np.ndarray:
    """One chord per bar as a soft pad, a bass note and a plucked arpeggio: stereo float32."""
    total = duration * SAMPLE_RATE
    mode = str(rng.choice(list(_SCALES)))
    scale = _SCALES[mode]
    progression = _PROGRESSIONS[mode][int(rng.integers(len(_PROGRESSIONS[mode])))]
    root = int(rng.integers(45, 53))  # MIDI A2..E3
    beat = 60.0 / rng.uniform(84, 112)
    bar, step = 4 * beat, beat / 2  # the arpeggio moves in eighth notes
    out = np.zeros((2, total), dtype=np.float32)
    for index in range(math.ceil(duration / bar)):
        degree = progression[index % len(progression)]
        triad = [root + 12 * ((degree + k) // 7) + scale[(degree + k) % 7] for k in (0, 2, 4)]
        start = index * bar
        for note in triad:
            pan = rng.uniform(-0.5, 0.5)
            _add_note(out, note + 12, start, bar + 0.6, 0.09, attack=0.5, release=0.6, pan=pan, chorus=True)
        _add_note(out, triad[0], start, bar, 0.16, attack=0.04, release=0.1, decay=1.2)
        arpeggio = [*triad, triad[0] + 12]
        for k in range(round(bar / step)):
            pan = -0.45 if k % 2 else 0.45
            _add_note(
                out, arpeggio[k % 4] + 24, start + k * step, 3 * step, 0.07, attack=0.004, decay=5.0, pan=pan
            )
    n = np.arange(total, dtype=np.float32)
    out *= np.minimum(1.0, np.minimum(n / (0.01 * SAMPLE_RATE), (total - 1 - n) / (0.4 * SAMPLE_RATE)))
    out *= _PEAK / np.abs(out).max()
    return out


def _add_note(
    out: np.ndarray,
    midi: int,
    start: float,
    length: float,
    gain: float,
    *,
    attack: float,
    release: float = 0.05,
    decay: float = 0.0,
    pan: float = 0.0,
    chorus: bool = False,
) -> None:
    """Mix one note into `out`: a sine plus a soft octave (and a detuned twin if `chorus`)."""
    first = int(start * SAMPLE_RATE)
    last = min(out.shape[1], int((start + length) * SAMPLE_RATE))
    if first >= last:
        return
    # float32 throughout (numpy 2 keeps Python floats from widening it): twice as fast as float64
    t = np.arange(last - first, dtype=np.float32) / SAMPLE_RATE
    omega = 2 * math.pi * 440.0 * 2 ** ((midi - 69) / 12)
    tone = np.sin(omega * t) + 0.3 * np.sin(2 * omega * t + 0.5)
    if chorus:
        tone += 0.8 * np.sin(1.004 * omega * t + 1.0)
    envelope = np.minimum(1.0, np.minimum(t / attack, (length - t) / release))
    if decay:
        envelope *= np.exp(-decay * t)
    note = gain * tone * envelope
    out[0, first:last] += note * math.sqrt((1 - pan) / 2)  # constant-power pan
    out[1, first:last] += note * math.sqrt((1 + pan) / 2)
