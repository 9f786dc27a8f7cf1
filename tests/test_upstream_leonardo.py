"""The Leonardo upstream adapter against the session's reelforge server acting as Leonardo: text,
first frame and first+last frame (init-image uploads) to decoded MP4s, the DOLLARS cost of the
create, refusals in Leonardo's words (never the key), the doctor's probe of `/v1/me`, and a cancel
forwarded as a delete (the generation then reads as gone)."""

from decimal import Decimal

import pytest

from reelforge.engines.base import UpstreamRejected
from testkit.support import UNKNOWN_KEY, assert_halves, make_image
from testkit.upstream import connect, job, render, wait_while_running

RED, BLUE, GREEN, WHITE = (220, 40, 40), (40, 60, 220), (40, 200, 60), (235, 235, 235)


@pytest.fixture(scope="module")
def upstream(server):
    return connect(server, "leonardo", "veo-3.1-lite", base_path="/api/rest")


def test_text_to_video(upstream, tmp_path):
    probe = render(*upstream, job(), tmp_path / "v.mp4")
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")


def test_the_cost_in_dollars_is_recorded(upstream):
    adapter, http = upstream
    submitted = adapter.submit(http, job(audio=False))
    assert submitted.cost_usd == Decimal("0.1200")  # 720p silent: $0.03/s x 4 s
    adapter.cancel(http, submitted.id)


def test_first_frame_portrait_silent(upstream, tmp_path):
    start = make_image(720, 1280, left=RED, right=BLUE)
    probe = render(*upstream, job(width=720, height=1280, audio=False, start_image=start), tmp_path / "v.mp4")
    assert (probe.width, probe.height, probe.audio_codec) == (720, 1280, None)
    assert_halves(probe.first, RED, BLUE)


def test_first_and_last_frame(upstream, tmp_path):
    start = make_image(1280, 720, left=RED, right=BLUE)
    end = make_image(1280, 720, left=GREEN, right=WHITE)
    probe = render(*upstream, job(start_image=start, end_image=end, duration=6), tmp_path / "v.mp4")
    assert probe.frames == 144
    assert_halves(probe.first, RED, BLUE)
    assert_halves(probe.last, GREEN, WHITE)


def test_a_refusal_is_the_providers_message(upstream):
    adapter, http = upstream
    with pytest.raises(UpstreamRejected, match="leonardo: parameters.duration: Input should be 4, 6 or 8"):
        adapter.submit(http, job(duration=5))


def test_a_bad_key_is_rejected_without_the_key_in_the_message(server):
    adapter, http = connect(server, "leonardo", "veo-3.1-lite", base_path="/api/rest", key=UNKNOWN_KEY)
    with pytest.raises(UpstreamRejected) as refused:
        adapter.probe(http)
    assert UNKNOWN_KEY not in str(refused.value)


def test_the_probe_passes_with_a_good_key(upstream):
    adapter, http = upstream
    adapter.probe(http)


def test_cancel_is_forwarded_as_a_delete(upstream):
    adapter, http = upstream
    submitted = adapter.submit(http, job(duration=8, width=1920, height=1080))
    adapter.cancel(http, submitted.id)
    status = wait_while_running(adapter, http, submitted.id)
    assert (status.state, status.message) == (
        "failed",
        f"generation {submitted.id} not found (deleted, or not this key's)",
    )
    adapter.cancel(http, submitted.id)  # again: nothing to do, no error
