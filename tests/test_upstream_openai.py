"""The OpenAI-shape upstream adapter against the session's reelforge server acting as the provider:
text, first frame and first+last frame to decoded MP4s, refusals in the provider's words (never
the key), a missing model for the doctor's probe, and a forwarded cancel."""

import pytest

from reelforge.engines.base import UpstreamRejected
from testkit.support import UNKNOWN_KEY, assert_halves, make_image
from testkit.upstream import connect, job, render, wait_while_running

RED, BLUE, GREEN, WHITE = (220, 40, 40), (40, 60, 220), (40, 200, 60), (235, 235, 235)


@pytest.fixture(scope="module")
def upstream(server):
    return connect(server, "openai", "veo-3.1-lite")


def test_text_to_video(upstream, tmp_path):
    probe = render(*upstream, job(), tmp_path / "v.mp4")
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")


def test_first_frame_portrait_silent(upstream, tmp_path):
    start = make_image(720, 1280, left=RED, right=BLUE)
    probe = render(*upstream, job(width=720, height=1280, audio=False, start_image=start), tmp_path / "v.mp4")
    assert (probe.width, probe.height, probe.audio_codec) == (720, 1280, None)
    assert_halves(probe.first, RED, BLUE)


def test_first_and_last_frame(upstream, tmp_path):
    start = make_image(1280, 720, left=RED, right=BLUE)
    end = make_image(1280, 720, left=GREEN, right=WHITE)
    probe = render(*upstream, job(start_image=start, end_image=end, duration=8), tmp_path / "v.mp4")
    assert probe.frames == 192
    assert_halves(probe.first, RED, BLUE)
    assert_halves(probe.last, GREEN, WHITE)


def test_a_refusal_is_the_providers_message(upstream):
    adapter, http = upstream
    with pytest.raises(UpstreamRejected, match="openai: duration must be one of 4, 6, 8"):
        adapter.submit(http, job(duration=5))


def test_a_bad_key_is_rejected_without_the_key_in_the_message(server):
    adapter, http = connect(server, "openai", "veo-3.1-lite", key=UNKNOWN_KEY)
    with pytest.raises(UpstreamRejected) as refused:
        adapter.probe(http)
    assert UNKNOWN_KEY not in str(refused.value)


def test_the_probe_knows_the_model(server):
    adapter, http = connect(server, "openai", "veo-3.1-lite")
    adapter.probe(http)
    adapter, http = connect(server, "openai", "no-such-model")
    with pytest.raises(UpstreamRejected, match="no-such-model"):
        adapter.probe(http)


def test_cancel_is_forwarded(upstream):
    adapter, http = upstream
    submitted = adapter.submit(http, job(duration=8, width=1920, height=1080))
    adapter.cancel(http, submitted.id)
    assert wait_while_running(adapter, http, submitted.id).state == "canceled"
    adapter.cancel(http, submitted.id)  # again: nothing to do, no error
