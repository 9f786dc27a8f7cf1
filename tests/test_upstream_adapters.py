"""Every upstream adapter against the session's reelforge server acting as its provider (reelforge
speaks each wire form exactly): text, first frame and first+last frame to decoded MP4s, a refusal
in the provider's own words, a bad key refused by the doctor's probe (never in the message) and a
good one passed. Then what differs by provider: probes of a wrong model or base URL, cancel
(forwarded to Gemini, Vertex and reelforge, a delete at Leonardo, nothing at AI/ML API and
HighwayAPI, where the job runs on) and the costs Leonardo and AI/ML API report."""

from decimal import Decimal

import pytest

from reelforge.engines.base import UpstreamRejected
from testkit.support import UNKNOWN_KEY, assert_halves, make_image, probe_mp4
from testkit.upstream import AS_PROVIDER, connect, job, render, wait_while_running

RED, BLUE, GREEN, WHITE = (220, 40, 40), (40, 60, 220), (40, 200, 60), (235, 235, 235)
REFUSALS = {  # a 5 s job, refused in each dialect's words
    "openai": "^openai: duration must be one of 4, 6, 8 for veo-3.1-lite$",
    "gemini": "^gemini: duration must be one of 4, 6, 8 for veo-3.1-lite-generate-preview$",
    "vertex": "^vertex: duration must be one of 4, 6, 8 for veo-3.1-lite-generate-001$",
    "leonardo": "^leonardo: parameters.duration: Input should be 4, 6 or 8",
    "aimlapi": "^aimlapi: duration: .*4, 6 or 8",
    "highway": "^highway: duration: .*4, 6 or 8",
}


@pytest.fixture(scope="module", params=list(AS_PROVIDER))
def provider(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def upstream(server, provider):
    return connect(server, provider)


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
    probe = render(*upstream, job(start_image=start, end_image=end, duration=6), tmp_path / "v.mp4")
    assert probe.frames == 144
    assert_halves(probe.first, RED, BLUE)
    assert_halves(probe.last, GREEN, WHITE)


def test_a_refusal_is_the_providers_message(upstream, provider):
    adapter, http = upstream
    with pytest.raises(UpstreamRejected, match=REFUSALS[provider]):
        adapter.submit(http, job(duration=5))


def test_the_probe_refuses_a_bad_key_without_the_key_in_the_message(server, provider):
    adapter, http = connect(server, provider, key=UNKNOWN_KEY)
    with pytest.raises(UpstreamRejected) as refused:
        adapter.probe(http)
    assert UNKNOWN_KEY not in str(refused.value)


def test_the_probe_passes_a_good_key(upstream):
    adapter, http = upstream
    adapter.probe(http)


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_the_probe_knows_the_model(server, provider):
    adapter, http = connect(server, provider, model="no-such-model")
    with pytest.raises(UpstreamRejected, match="no-such-model"):
        adapter.probe(http)


@pytest.mark.parametrize(
    "provider, base_path",
    [("vertex", "/v1/projects/p"), ("aimlapi", "/elsewhere"), ("highway", "/elsewhere")],
)
def test_a_probe_by_unknown_id_refuses_a_wrong_base_url(server, provider, base_path):
    """A 404 that does not name the probe's id: the route is not there, whatever the key."""
    adapter, http = connect(server, provider, base_path=base_path)
    with pytest.raises(UpstreamRejected, match=f"{provider}: Not Found"):
        adapter.probe(http)


@pytest.mark.parametrize("provider", ["openai", "gemini", "vertex"])
def test_cancel_is_forwarded(server, provider):
    adapter, http = connect(server, provider)
    submitted = adapter.submit(http, job(duration=8, width=1920, height=1080))
    adapter.cancel(http, submitted.id)
    assert wait_while_running(adapter, http, submitted.id).state == "canceled"
    adapter.cancel(http, submitted.id)  # again: nothing to do, no error


def test_cancel_is_forwarded_to_leonardo_as_a_delete(server):
    adapter, http = connect(server, "leonardo")
    submitted = adapter.submit(http, job(duration=8, width=1920, height=1080))
    adapter.cancel(http, submitted.id)
    status = wait_while_running(adapter, http, submitted.id)
    assert (status.state, status.message) == (
        "failed",
        f"generation {submitted.id} not found (deleted, or not this key's)",
    )
    adapter.cancel(http, submitted.id)  # again: nothing to do, no error


def test_leonardo_reports_its_cost_in_dollars(server):
    adapter, http = connect(server, "leonardo")
    submitted = adapter.submit(http, job(audio=False))
    assert submitted.cost_usd == Decimal("0.1200")  # 720p silent: $0.03/s x 4 s
    adapter.cancel(http, submitted.id)


@pytest.mark.parametrize("provider, cost", [("aimlapi", Decimal("0.2")), ("highway", None)])
def test_without_a_cancel_at_the_provider_the_job_runs_on(server, provider, cost, tmp_path):
    adapter, http = connect(server, provider)
    submitted = adapter.submit(http, job())
    adapter.cancel(http, submitted.id)  # nothing to ask: nothing happens
    status = wait_while_running(adapter, http, submitted.id)
    assert status.state == "succeeded", status
    assert status.cost_usd == cost  # AI/ML's usd_spent once completed (4 s with audio at $0.05/s)
    http.download(status.video_url, tmp_path / "v.mp4", status.authed_download)
    assert probe_mp4((tmp_path / "v.mp4").read_bytes()).frames == 96
