"""The AI/ML API and HighwayAPI upstream adapters against the session's reelforge server acting as
the provider: text (with AI/ML's reported cost), first frame and first+last frame to decoded MP4s,
refusals in the provider's words, a bad key refused by the probe (never in the message), a good
one passed (at the API only), and cancel, which neither provider has, a no-op the job runs on through."""

from decimal import Decimal

import pytest

from reelforge.engines.base import UpstreamRejected
from testkit.support import UNKNOWN_KEY, assert_halves, make_image, probe_mp4
from testkit.upstream import AS_PROVIDER, connect, job, render, wait_while_running

RED, BLUE, GREEN, WHITE = (220, 40, 40), (40, 60, 220), (40, 200, 60), (235, 235, 235)
MODELS = {provider: AS_PROVIDER[provider][0] for provider in ("aimlapi", "highway")}


@pytest.fixture(scope="module", params=sorted(MODELS))
def provider(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def upstream(server, provider):
    return connect(server, provider, MODELS[provider])


def test_text_to_video_runs_on_through_a_cancel(upstream, provider, tmp_path):
    adapter, http = upstream
    submitted = adapter.submit(http, job())
    adapter.cancel(http, submitted.id)  # no cancel at either provider: nothing happens
    status = wait_while_running(adapter, http, submitted.id)
    assert status.state == "succeeded", status
    # AI/ML reports usd_spent once completed (4 s of 720p with audio at $0.05/s); Highway no cost
    assert status.cost_usd == (Decimal("0.2") if provider == "aimlapi" else None)
    http.download(status.video_url, tmp_path / "v.mp4", status.authed_download)
    probe = probe_mp4((tmp_path / "v.mp4").read_bytes())
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")


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


def test_a_refusal_is_the_providers_message(upstream, provider):
    adapter, http = upstream
    with pytest.raises(UpstreamRejected, match=f"^{provider}: duration: .*4, 6 or 8"):
        adapter.submit(http, job(duration=5))


def test_a_bad_key_is_refused_by_the_probe_without_the_key_in_the_message(server, provider):
    adapter, http = connect(server, provider, MODELS[provider], key=UNKNOWN_KEY)
    with pytest.raises(UpstreamRejected) as refused:
        adapter.probe(http)
    assert UNKNOWN_KEY not in str(refused.value)


def test_the_probe_passes_with_a_good_key_at_the_api_only(server, upstream, provider):
    adapter, http = upstream
    adapter.probe(http)
    adapter, http = connect(server, provider, MODELS[provider], base_path="/elsewhere")
    with pytest.raises(UpstreamRejected, match="Not Found"):  # a 404 that does not name the probe's id
        adapter.probe(http)
