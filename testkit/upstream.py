"""Upstream adapters driven by hand against a reelforge server acting as the provider: build an
adapter and its HTTP for a provider, and run one sample to a decoded MP4."""

import os
import time
import uuid
from pathlib import Path

from reelforge.engines.upstream.adapter import Adapter, Status, UpstreamInput
from reelforge.engines.upstream.engine import adapter_for, http_for
from reelforge.engines.upstream.http import UpstreamHttp
from reelforge.engines.upstream.options import UpstreamOptions
from reelforge.media.fetch import Allowlist
from testkit.support import Probe, ServerProcess, probe_mp4

LOOPBACK = Allowlist.parse("127.0.0.1")
# a reelforge server as each provider: the model id it knows there, and the path of the base URL
AS_PROVIDER = {
    "openai": ("veo-3.1-lite", ""),
    "gemini": ("veo-3.1-lite-generate-preview", ""),
    "vertex": ("veo-3.1-lite-generate-001", "/v1/projects/test-project/locations/us-central1"),
    "leonardo": ("veo-3.1-lite", "/api/rest"),
    "aimlapi": ("google/veo-3.1-lite-generate-001", ""),
    "highway": ("veo-3.1-lite", ""),
}


def catalog_entry(model_id: str, provider: str, url: str, credential_env: str, **fields) -> dict:
    """A gateway's catalog entry rendering on the reelforge at `url`, spoken to as `provider`, with
    Veo 3.1 Lite's capabilities; `fields` override (engine options go in `options`)."""
    model, path = AS_PROVIDER[provider]
    options = {
        "provider": provider,
        "base_url": url + path,
        "model": model,
        "credential_env": credential_env,
        "poll_interval": 0.2,
        "max_poll_interval": 1,
        **fields.pop("options", {}),
    }
    return {
        "id": model_id,
        "engine": "upstream",
        "engine_options": options,
        "durations": [4, 6, 8],
        "default_duration": 8,
        "sizes": ["1280x720", "720x1280", "1920x1080", "1080x1920"],
        "audio": True,
        "end_frame": True,
        "price_per_second": {"audio": {"720p": 0.05, "1080p": 0.08}, "silent": {"720p": 0.03, "1080p": 0.05}},
        **fields,
    }


def job(**fields) -> UpstreamInput:
    """One sample to send: 4 s of 1280x720 with audio, seed 11, unless `fields` say otherwise."""
    defaults = {"prompt": "a lighthouse", "negative_prompt": "fog", "duration": 4, "width": 1280}
    return UpstreamInput(**{**defaults, "height": 720, "audio": True, "seed": 11, **fields})


def connect(
    server: ServerProcess,
    provider: str,
    model: str | None = None,
    base_path: str | None = None,
    key: str | None = None,
    **options,
) -> tuple[Adapter, UpstreamHttp]:
    """An adapter for `provider` and its HTTP to `server` (the model and base path of AS_PROVIDER
    unless given), with the key of a new account (or `key`) in an environment variable of its own,
    as a deployer's catalog names it."""
    env = f"REELFORGE_TEST_UPSTREAM_{uuid.uuid4().hex[:8].upper()}"
    os.environ[env] = key if key is not None else server.key(f"upstream-{uuid.uuid4()}")
    opts = UpstreamOptions(
        provider=provider,
        base_url=server.url + (AS_PROVIDER[provider][1] if base_path is None else base_path),
        model=model or AS_PROVIDER[provider][0],
        credential_env=env,
        poll_interval=0.2,
        retries=1,
        **options,
    )
    adapter = adapter_for(opts)
    return adapter, http_for(opts, adapter, LOOPBACK)


def render(
    adapter: Adapter, http: UpstreamHttp, job: UpstreamInput, dest: Path, timeout: float = 120
) -> Probe:
    """Submit one sample, poll it to the end, download the video and decode it."""
    submitted = adapter.submit(http, job)
    status = wait_while_running(adapter, http, submitted.id, timeout)
    assert status.state == "succeeded", status
    if status.video_bytes is not None:
        dest.write_bytes(status.video_bytes)
    else:
        http.download(status.video_url, dest, status.authed_download)
    return probe_mp4(dest.read_bytes())


def wait_while_running(adapter: Adapter, http: UpstreamHttp, upstream_id: str, timeout: float = 60) -> Status:
    """Poll an upstream job until it is no longer running; its last status."""
    deadline = time.monotonic() + timeout
    while (status := adapter.poll(http, upstream_id)).state == "running":
        assert time.monotonic() < deadline, f"{upstream_id} still running"
        time.sleep(0.2)
    return status
