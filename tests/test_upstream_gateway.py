"""reelforge as a gateway: a `reelforge serve` whose catalog routes models to upstream engines, in
front of the session's reelforge server acting as every provider (its preview engine renders, its
keys mode checks the gateway's credential). Through each adapter: text, first+last frame, decoded
MP4s. Then the routing: 429 then success, an upstream down falling back to a local entry (and
failing `upstream_unavailable` without one), a refusal as `upstream_rejected`, cancel forwarded,
and a gateway killed while waiting resuming the same upstream job after its restart; `reelforge
doctor` on the gateway's catalog."""

import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from reelforge.core.job import Job
from reelforge.db.connect import open_database
from reelforge.db.repository import Repository
from testkit.catalogs import catalog_with
from testkit.support import (
    UNKNOWN_KEY,
    ServerProcess,
    assert_halves,
    b64,
    client,
    free_port,
    make_image,
    probe_mp4,
)
from testkit.upstream import AS_PROVIDER, catalog_entry

RED, BLUE, GREEN, WHITE = (220, 40, 40), (40, 60, 220), (40, 200, 60), (235, 235, 235)
ACCOUNT = f"gateway-{uuid.uuid4()}"  # the gateway's account at the upstream
LIMITED = f"gateway-limited-{uuid.uuid4()}"  # another, allowed one job at a time


@pytest.fixture(scope="module")
def gateway(server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gateway")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    limited = server.key(LIMITED)
    with server.accounts() as accounts:
        accounts.update(limited, concurrency=1)
    env = {
        "REELFORGE_UPSTREAM_ALLOWLIST": "127.0.0.1",
        "GATEWAY_UPSTREAM_KEY": server.key(ACCOUNT),
        "GATEWAY_LIMITED_KEY": limited,
        "GATEWAY_DOWN_KEY": "never-sent",
    }
    down = {"retries": 1, "request_timeout": 2}
    entries = [
        *(catalog_entry(f"via-{p}", p, server.url, "GATEWAY_UPSTREAM_KEY") for p in AS_PROVIDER),
        catalog_entry("via-limited", "openai", server.url, "GATEWAY_LIMITED_KEY", options={"retries": 4}),
        catalog_entry("down", "openai", closed, "GATEWAY_DOWN_KEY", options=down, fallback=["local"]),
        catalog_entry("down-alone", "openai", closed, "GATEWAY_DOWN_KEY", options=down),
        # accepts 5 s, which the upstream refuses
        catalog_entry(
            "lenient", "openai", server.url, "GATEWAY_UPSTREAM_KEY", durations=[4, 5], default_duration=4
        ),
        {
            "id": "local",
            "durations": [4, 6, 8],
            "default_duration": 8,
            "sizes": ["1280x720"],
            "audio": True,
            "price_per_second": {"audio": {"720p": 0.05}},
        },
    ]
    env["REELFORGE_CATALOG_PATH"] = str(catalog_with(tmp / "catalog.json", *entries))
    node = ServerProcess(tmp / "data", workers=1, env=env, separate_stderr=True).start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def api(gateway):
    with client(gateway, key=f"gateway-user-{uuid.uuid4()}", timeout=60) as c:
        yield c


def create(api, model: str, **fields) -> str:
    resp = api.post(
        "/v1/videos", json={"model": model, "prompt": "a harbour at dawn", "seconds": "4", **fields}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["id"]


def wait(api, video_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (video := api.get(f"/v1/videos/{video_id}").json())["status"] in ("queued", "in_progress"):
        assert time.monotonic() < deadline, video
        time.sleep(0.2)
    return video


def job_of(gateway: ServerProcess, video_id: str) -> Job:
    repo = Repository(open_database(gateway.settings().db_url))
    try:
        return repo.get_job(video_id.removeprefix("video_"))
    finally:
        repo.close()


def upstream_of(gateway: ServerProcess, video_id: str) -> dict:
    """What the gateway recorded about the job's upstream work (jobs.upstream)."""
    return job_of(gateway, video_id).upstream


def wait_for_upstream_id(gateway, video_id: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not (samples := upstream_of(gateway, video_id).get("samples")):
        assert time.monotonic() < deadline, "no upstream job recorded"
        time.sleep(0.1)
    return samples["0"]["id"]


def upstream_videos(server, account: str) -> list[dict]:
    """The upstream's videos of one account, newest first."""
    with client(server, key=account) as http:
        return http.get("/v1/videos", params={"limit": 100}).json()["data"]


@pytest.mark.parametrize("provider", list(AS_PROVIDER))
def test_text_to_video_through_each_provider(api, gateway, provider):
    video = wait(api, create(api, f"via-{provider}", size="1280x720"))
    assert video["status"] == "completed", video
    probe = probe_mp4(api.get(f"/v1/videos/{video['id']}/content").content)
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")
    thumbnail = api.get(f"/v1/videos/{video['id']}/content", params={"variant": "thumbnail"})
    assert thumbnail.headers["content-type"] == "image/jpeg"
    [sample] = upstream_of(gateway, video["id"])["samples"].values()
    assert sample["provider"] == provider and sample["model"] == f"via-{provider}"


@pytest.mark.parametrize("provider", list(AS_PROVIDER))
def test_first_and_last_frame_through_each_provider(api, provider):
    start = "data:image/png;base64," + b64(make_image(720, 1280, left=RED, right=BLUE))
    end = "data:image/png;base64," + b64(make_image(720, 1280, left=GREEN, right=WHITE))
    video_id = create(
        api, f"via-{provider}", size="720x1280", generate_audio=False, input_reference=start, last_frame=end
    )
    video = wait(api, video_id)
    assert video["status"] == "completed", video
    probe = probe_mp4(api.get(f"/v1/videos/{video_id}/content").content)
    assert (probe.width, probe.height, probe.audio_codec) == (720, 1280, None)
    assert_halves(probe.first, RED, BLUE)
    assert_halves(probe.last, GREEN, WHITE)


def test_the_providers_cost_is_recorded(api, gateway):
    video = wait(api, create(api, "via-leonardo", generate_audio=False))
    [sample] = upstream_of(gateway, video["id"])["samples"].values()
    assert sample["cost_usd"] == "0.1200"  # the upstream's price of 4 s of silent 720p, in dollars
    shown = reelforge(
        gateway, "show", video["id"].removeprefix("video_"), "--data-dir", str(gateway.data_dir)
    )
    assert f"upstream 0 via-leonardo: leonardo job {sample['id']}, $0.1200" in shown


def test_a_429_is_waited_out_then_the_job_succeeds(api, gateway, server):
    first, second = create(api, "via-limited"), create(api, "via-limited")
    assert wait(api, first)["status"] == wait(api, second, timeout=180)["status"] == "completed"
    assert "answered HTTP 429" in gateway.stderr_path.read_text()  # the upstream's concurrency limit
    assert len(upstream_videos(server, LIMITED)) == 2


def test_an_upstream_that_is_down_falls_back(api, gateway):
    video = wait(api, create(api, "down"))
    assert video["status"] == "completed", video
    [tried] = upstream_of(gateway, video["id"])["tried"]
    assert tried["model"] == "down" and "could not be reached" in tried["error"]
    shown = reelforge(
        gateway, "show", video["id"].removeprefix("video_"), "--data-dir", str(gateway.data_dir)
    )
    assert "tried down openai could not be reached" in " ".join(shown.split())
    assert probe_mp4(api.get(f"/v1/videos/{video['id']}/content").content).frames == 96


def test_without_a_fallback_the_job_fails_upstream_unavailable(api):
    video = wait(api, create(api, "down-alone"))
    assert video["status"] == "failed"
    assert video["error"]["code"] == "upstream_unavailable"
    assert "could not be reached" in video["error"]["message"]
    assert "never-sent" not in video["error"]["message"]


def test_a_refusal_fails_upstream_rejected_with_the_providers_message(api):
    video = wait(api, create(api, "lenient", seconds="5"))
    assert video["status"] == "failed"
    assert video["error"]["code"] == "upstream_rejected"
    assert "duration must be one of 4, 6, 8" in video["error"]["message"]


def test_cancel_is_forwarded_to_the_provider(api, gateway, server):
    video_id = create(api, "via-openai", seconds="8", size="1920x1080")
    upstream_id = wait_for_upstream_id(gateway, video_id)
    assert api.post(f"/v1/videos/{video_id}/cancel").status_code == 200
    assert wait(api, video_id)["error"]["code"] == "canceled"
    with client(server, key=ACCOUNT) as http:
        deadline = time.monotonic() + 30
        while (upstream := http.get(f"/v1/videos/{upstream_id}").json())["status"] == "in_progress":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert upstream["status"] == "failed" and upstream["error"]["code"] == "canceled"


def test_waiting_on_a_provider_holds_no_render_slot(api, gateway):
    """The gateway has one render slot: a local job runs while an upstream one is waited on."""
    waiting = create(api, "via-openai", seconds="8", size="1920x1080")
    wait_for_upstream_id(gateway, waiting)
    local = create(api, "local", size="1280x720")
    assert wait(api, local)["status"] == wait(api, waiting)["status"] == "completed"
    assert job_of(gateway, local).started_at < job_of(gateway, waiting).finished_at


def test_a_killed_gateway_resumes_the_same_upstream_job(api, gateway, server):
    before = len(upstream_videos(server, ACCOUNT))
    video_id = create(api, "via-gemini", seconds="8", size="1920x1080")
    upstream_id = wait_for_upstream_id(gateway, video_id)
    gateway.kill()  # SIGKILL: nothing runs on the way out
    gateway.start()
    video = wait(api, video_id, timeout=180)
    assert video["status"] == "completed", video
    assert wait_for_upstream_id(gateway, video_id) == upstream_id
    assert len(upstream_videos(server, ACCOUNT)) == before + 1  # one upstream job, not two
    assert probe_mp4(api.get(f"/v1/videos/{video_id}/content").content).frames == 192


def test_the_key_never_reaches_the_gateways_log(gateway, server):
    log = gateway.stderr_path.read_text()
    assert server.key(ACCOUNT) not in log
    assert httpx.get(f"{gateway.url}/healthz").status_code == 200


def reelforge(gateway, *args: str) -> str:
    """What a `reelforge` command beside the gateway (its settings) prints; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **gateway.env, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def doctor(gateway, tmp_path, *args, **env) -> tuple[int, dict[str, str]]:
    """`reelforge doctor` on the gateway's catalog and settings: its exit code and its lines by
    what they check."""
    done = subprocess.run(
        [sys.executable, "-m", "reelforge", "doctor", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **gateway.env, **env},
    )
    lines = {}
    for line in done.stdout.splitlines():
        mark, _, text = line.partition(" ")
        if mark in ("ok", "problem"):
            lines[text.strip().split(":")[0]] = f"{mark} {text.strip()}"
    return done.returncode, lines


def test_doctor_calls_each_upstream_once_unless_offline(gateway, server, tmp_path):
    code, lines = doctor(gateway, tmp_path)
    assert code == 1  # the two entries whose upstream is down
    for provider in AS_PROVIDER:
        assert lines[f"upstream via-{provider}"].startswith("ok"), lines
    assert lines["upstream down"].startswith("problem") and "could not be reached" in lines["upstream down"]
    assert lines["model via-openai (upstream)"].startswith("ok")
    code, lines = doctor(gateway, tmp_path, "--offline")
    assert code == 0, lines
    assert not [name for name in lines if name.startswith("upstream")]


def test_doctor_reports_a_missing_or_refused_credential(gateway, tmp_path):
    code, lines = doctor(gateway, tmp_path, "--offline", GATEWAY_UPSTREAM_KEY="")
    assert code == 1
    problem = lines["model via-gemini (upstream)"]
    assert problem.startswith("problem") and "GATEWAY_UPSTREAM_KEY is not set" in problem
    code, lines = doctor(gateway, tmp_path, GATEWAY_UPSTREAM_KEY=UNKNOWN_KEY)
    for provider in AS_PROVIDER:
        refused = lines[f"upstream via-{provider}"]
        assert refused.startswith("problem") and UNKNOWN_KEY not in refused, refused
