"""The Gemini API and Vertex AI upstream adapters against the session's reelforge server acting as
the provider: text, first frame and first+last frame to decoded MP4s (Gemini's by its download URI
with the key, Vertex's inline), refusals in the provider's words (never the key), the probes, and a
forwarded cancel."""

import pytest

from reelforge.engines.base import UpstreamRejected
from testkit.support import UNKNOWN_KEY, assert_halves, make_image
from testkit.upstream import AS_PROVIDER, connect, job, render, wait_while_running

RED, BLUE, GREEN, WHITE = (220, 40, 40), (40, 60, 220), (40, 200, 60), (235, 235, 235)
PROVIDERS = {provider: AS_PROVIDER[provider] for provider in ("gemini", "vertex")}


def connect_to(server, provider: str, model: str | None = None, **options):
    default_model, base_path = PROVIDERS[provider]
    return connect(server, provider, model or default_model, base_path=base_path, **options)


@pytest.fixture(scope="module", params=list(PROVIDERS))
def provider(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def upstream(server, provider):
    return connect_to(server, provider)


def test_text_to_video(upstream, tmp_path):
    probe = render(*upstream, job(negative_prompt="fog"), tmp_path / "v.mp4")
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")


def test_first_frame_portrait_silent(upstream, tmp_path):
    start = make_image(720, 1280, left=RED, right=BLUE)
    probe = render(*upstream, job(width=720, height=1280, audio=False, start_image=start), tmp_path / "v.mp4")
    assert (probe.width, probe.height, probe.audio_codec) == (720, 1280, None)
    assert_halves(probe.first, RED, BLUE)


def test_first_and_last_frame(upstream, tmp_path):
    start = make_image(1280, 720, left=RED, right=BLUE)
    end = make_image(1280, 720, left=GREEN, right=WHITE)
    probe = render(*upstream, job(start_image=start, end_image=end), tmp_path / "v.mp4")
    assert probe.frames == 96
    assert_halves(probe.first, RED, BLUE)
    assert_halves(probe.last, GREEN, WHITE)


def test_a_refusal_is_the_providers_message(upstream, provider):
    adapter, http = upstream
    model = PROVIDERS[provider][0]
    with pytest.raises(UpstreamRejected, match=f"^{provider}: duration must be one of 4, 6, 8 for {model}$"):
        adapter.submit(http, job(duration=5))


def test_a_bad_key_is_rejected_without_the_key_in_the_message(server, provider):
    adapter, http = connect_to(server, provider, key=UNKNOWN_KEY)
    with pytest.raises(UpstreamRejected) as refused:
        adapter.probe(http)
    assert UNKNOWN_KEY not in str(refused.value)


def test_the_probe_passes_with_a_good_key(server, provider):
    adapter, http = connect_to(server, provider)
    adapter.probe(http)


def test_the_gemini_probe_knows_the_model(server):
    adapter, http = connect_to(server, "gemini", "no-such-model")
    with pytest.raises(UpstreamRejected, match="no-such-model"):
        adapter.probe(http)


def test_the_vertex_probe_refuses_a_base_url_that_is_no_location_root(server):
    adapter, http = connect(server, "vertex", "veo-3.1-lite-generate-001", base_path="/v1/projects/p")
    with pytest.raises(UpstreamRejected, match="vertex: Not Found"):
        adapter.probe(http)


def test_cancel_is_forwarded(upstream):
    adapter, http = upstream
    submitted = adapter.submit(http, job(duration=8, width=1920, height=1080))
    adapter.cancel(http, submitted.id)
    assert wait_while_running(adapter, http, submitted.id).state == "canceled"
    adapter.cancel(http, submitted.id)  # again: nothing to do, no error
