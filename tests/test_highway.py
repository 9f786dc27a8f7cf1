"""HighwayAPI dialect (seed 004, Novita-style async tasks) over real HTTP against a live server, down
to decoded MP4s, and read back with Novita's official Python SDK.

HighwayAPI publishes no SDK. Its task API is Novita's (`/v3/async/...` + `GET /v3/async/task-result`),
so `novita-client` (Novita's official SDK, 0.7.1) is the client that proves the task object: its
`wait_for_task_v3` polls `task-result` and parses it into its own dataclasses, and
`download_videos()` fetches every `videos[].video_url`. Tasks are created with plain HTTP as in
HighwayAPI's docs (the SDK has no Veo method).

Decisions asserted here are written in the dialect's docstring (api/dialects/highway.py).
"""

import time
import uuid

import httpx
import pytest
from novita_client import NovitaClient
from novita_client.proto import V3TaskResponseStatus

from reelforge.api.dialects import highway
from testkit.bodies import MISSING, merged
from testkit.images import gif_bytes
from testkit.support import (
    UNKNOWN_ID,
    ServerProcess,
    assert_halves,
    b64,
    client,
    download_mp4,
    make_image,
    probe_mp4,
)

A = "/v3/async"
I2V, T2V, FLF = f"{A}/veo-3.1-lite-i2v", f"{A}/veo-3.1-lite-t2v", f"{A}/veo-3.1-lite-firstlastframe"
RESULT = f"{A}/task-result"
V1 = "/api/rest/v1"
RED, BLUE, GREEN, WHITE = (220, 40, 40), (40, 60, 220), (40, 200, 60), (250, 250, 250)

# seed 004's curl example, verbatim: placeholders, and "duration": 123 is not an allowed value
SEED_004 = {
    "seed": 123,
    "image": "<string>",
    "prompt": "<string>",
    "duration": 123,
    "resolution": "<string>",
    "aspect_ratio": "<string>",
    "sample_count": 123,
    "generate_audio": True,
    "negative_prompt": "<string>",
    "person_generation": "<string>",
}


def assert_novita_error(resp: httpx.Response, status: int, reason: str, says: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    body = resp.json()
    assert set(body) == {"code", "reason", "message", "metadata"}, body
    assert body["code"] == status and body["reason"] == reason, body
    assert isinstance(body["message"], str) and body["message"] and isinstance(body["metadata"], dict)
    if says is not None:
        assert says.lower() in body["message"].lower(), body
    return body


def wait(api: httpx.Client, task_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = api.get(RESULT, params={"task_id": task_id})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        task = body["task"]
        assert task["task_id"] == task_id
        assert isinstance(task["eta"], int) and isinstance(task["progress_percent"], int)
        assert 0 <= task["progress_percent"] <= 100
        if task["status"] in ("TASK_STATUS_SUCCEED", "TASK_STATUS_FAILED"):
            return body
        assert task["status"] in ("TASK_STATUS_QUEUED", "TASK_STATUS_PROCESSING")
        assert body["videos"] == []
        time.sleep(0.2)
    raise TimeoutError(task_id)


# Fixtures from conftest.py: `api` (a key of the module's own), `jobs` (its Leonardo generation
# list), `anonymous` and `image_host` (an image server on 127.0.0.1).


@pytest.fixture(scope="module")
def novita(server, api):
    return NovitaClient(api.headers["authorization"].removeprefix("Bearer "), base_url=server.url)


# end to end ----------------------------------------------------------------------------------------


def test_image_to_video_samples_through_novitas_sdk(server, api, novita):
    """Two samples from one base64 image: two videos, silent by default, each its own seed."""
    image = make_image(1280, 720, "PNG", left=RED, right=BLUE)
    body = {"image": b64(image), "prompt": "slow push in", "duration": 4, "sample_count": 2, "seed": 99}
    resp = api.post(I2V, json=body)
    assert resp.status_code == 200, resp.text
    assert set(resp.json()) == {"task_id"}
    task_id = resp.json()["task_id"]

    statuses = []
    result = novita.wait_for_task_v3(task_id, wait_for=240, callback=lambda r: statuses.append(r.task.status))
    assert result.task.status == V3TaskResponseStatus.TASK_STATUS_SUCCEED
    assert result.task.task_id == task_id and result.task.task_type == "VEO_3_1_LITE_I2V"
    assert result.task.progress_percent == 100 and result.task.reason == ""
    assert result.extra.seed == 99
    assert len(result.videos) == 2
    ttl = server.settings().media_url_ttl  # as long as the server's signed media URLs live
    assert all(v.video_type == "mp4" and v.video_url_ttl == ttl for v in result.videos)
    assert set(statuses) <= set(V3TaskResponseStatus)
    result.download_videos()
    probes = [probe_mp4(data) for data in result.video_bytes]
    for probe in probes:
        assert (probe.width, probe.height, probe.frames, probe.fps) == (1280, 720, 96, 24.0)
        assert probe.audio_codec is None  # generate_audio defaults to false here
        assert_halves(probe.first, RED, BLUE)
    assert probes[0].digest != probes[1].digest  # each sample renders with its own derived seed


def test_text_to_video_four_samples_with_audio_portrait(server, api):
    body = {
        "prompt": "a lighthouse at dusk",
        "duration": 4,
        "aspect_ratio": "9:16",
        "sample_count": 4,
        "generate_audio": True,
        "enhance_prompt": True,
        "negative_prompt": "people",
        "person_generation": "dont_allow",
    }
    resp = api.post(T2V, json=body)
    assert resp.status_code == 200, resp.text
    result = wait(api, resp.json()["task_id"], timeout=240)
    assert result["task"]["status"] == "TASK_STATUS_SUCCEED", result
    assert result["task"]["task_type"] == "VEO_3_1_LITE_T2V"
    assert result["images"] == [] and result["audios"] == []
    assert isinstance(result["extra"]["seed"], str) and result["extra"]["seed"].isdigit()
    debug = result["extra"]["debug_info"]
    assert int(debug["submit_time_ms"]) <= int(debug["execute_time_ms"]) <= int(debug["complete_time_ms"])
    videos = result["videos"]
    assert len(videos) == 4 and len({v["video_url"] for v in videos}) == 4
    ttl = str(server.settings().media_url_ttl)
    assert all(v == {"video_url": v["video_url"], "video_url_ttl": ttl, "video_type": "mp4"} for v in videos)
    digests = set()
    for video in videos:
        probe = probe_mp4(download_mp4(video["video_url"]))
        assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (720, 1280, 96, "aac")
        digests.add(probe.digest)
    assert len(digests) == 4


def test_first_last_frame(api):
    body = {
        "image": "data:image/png;base64," + b64(make_image(1600, 900, "PNG", left=RED, right=BLUE)),
        "last_frame_image": b64(make_image(1280, 720, "JPEG", left=GREEN, right=WHITE)),
        "prompt": "red/blue becomes green/white",
        "duration": 4,
    }
    resp = api.post(FLF, json=body)
    assert resp.status_code == 200, resp.text
    result = wait(api, resp.json()["task_id"])
    assert result["task"]["status"] == "TASK_STATUS_SUCCEED"
    assert result["task"]["task_type"] == "VEO_3_1_LITE_FIRSTLASTFRAME"
    [video] = result["videos"]
    probe = probe_mp4(download_mp4(video["video_url"]))
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, None)
    assert_halves(probe.first, RED, BLUE)
    assert_halves(probe.last, GREEN, WHITE)


def test_defaults_are_8s_720p_landscape_one_silent_video(api):
    resp = api.post(T2V, json={"prompt": "defaults"})
    task_id = resp.json()["task_id"]
    try:
        gen = api.get(f"{V1}/generations/{task_id}").json()["generations_by_pk"]
        assert (gen["imageWidth"], gen["imageHeight"]) == (1280, 720)
        assert (
            api.get(f"/v1/videos/{task_id}").json()["model"] == "veo-3.1-lite"
        )  # Leonardo's modelId is null
        result = api.get(RESULT, params={"task_id": task_id}).json()
        assert result["task"]["status"] in ("TASK_STATUS_QUEUED", "TASK_STATUS_PROCESSING")
    finally:
        api.delete(f"{V1}/generations/{task_id}")


@pytest.mark.parametrize(
    "changes, size",
    [
        ({"resolution": "1080p"}, (1920, 1080)),
        ({"resolution": "1080p", "aspect_ratio": "9:16"}, (1080, 1920)),
        ({"aspect_ratio": "9:16"}, (720, 1280)),
        ({"duration": 6.0, "seed": 0}, (1280, 720)),
        ({"seed": 4294967295, "prompt": "x" * 2048}, (1280, 720)),
    ],
)
def test_documented_values_are_accepted(api, changes, size):
    resp = api.post(T2V, json={"prompt": "values", "duration": 4, **changes})
    assert resp.status_code == 200, resp.text
    task_id = resp.json()["task_id"]
    try:
        gen = api.get(f"{V1}/generations/{task_id}").json()["generations_by_pk"]
        assert (gen["imageWidth"], gen["imageHeight"]) == size
    finally:
        api.delete(f"{V1}/generations/{task_id}")


def test_image_url_default_refused_and_allowlisted_fetched(api, jobs, image_host, tmp_path):
    url = f"{image_host.base}/img.png"
    before = len(image_host.hits)
    with jobs.unchanged():
        resp = api.post(I2V, json={"image": url, "prompt": "from a URL", "duration": 4})
    body = assert_novita_error(resp, 400, "INVALID_REQUEST_BODY", "private or reserved")
    assert body["metadata"] == {"field": "image"}
    assert len(image_host.hits) == before

    srv = ServerProcess(tmp_path / "data", workers=1, env={"REELFORGE_IMAGE_FETCH_ALLOWLIST": "127.0.0.0/8"})
    srv.start()
    try:
        with client(srv, key="highway-url") as trusted:
            resp = trusted.post(I2V, json={"image": url, "prompt": "from a URL", "duration": 4})
            assert resp.status_code == 200, resp.text
            result = wait(trusted, resp.json()["task_id"])
            assert result["task"]["status"] == "TASK_STATUS_SUCCEED"
            probe = probe_mp4(download_mp4(result["videos"][0]["video_url"]))
            assert_halves(probe.first, RED, BLUE)
    finally:
        srv.stop()


# validation ----------------------------------------------------------------------------------------

PNG_B64 = b64(make_image(64, 64))
I2V_BASE = {"image": PNG_B64, "prompt": "validation", "duration": 4}

BAD = [
    pytest.param(I2V, {"prompt": MISSING}, "prompt", id="prompt-missing"),
    pytest.param(I2V, {"prompt": ""}, "prompt", id="prompt-empty"),
    pytest.param(I2V, {"prompt": "x" * 10_001}, "prompt", id="prompt-10001"),
    pytest.param(T2V, {"prompt": "x" * 2049}, "prompt", id="t2v-prompt-2049"),
    pytest.param(I2V, {"image": MISSING}, "image", id="image-missing"),
    pytest.param(I2V, {"image": ""}, "image", id="image-empty"),
    pytest.param(I2V, {"image": "<string>"}, "image", id="image-placeholder"),
    pytest.param(I2V, {"image": b64(gif_bytes())}, "JPEG, PNG or WebP", id="image-gif"),
    pytest.param(I2V, {"image": "http://10.0.0.1/a.png"}, "private", id="image-private"),
    pytest.param(I2V, {"image": "http://[fd00:ec2::254]/"}, "private", id="image-metadata-v6"),
    pytest.param(FLF, {"last_frame_image": MISSING}, "last_frame_image", id="flf-last-missing"),
    pytest.param(FLF, {"last_frame_image": "nope!"}, "last_frame_image", id="flf-last-garbage"),
    pytest.param(I2V, {"duration": 5}, "duration", id="duration-5"),
    pytest.param(I2V, {"duration": "8"}, "duration", id="duration-string"),
    pytest.param(I2V, {"duration": True}, "duration", id="duration-bool"),
    pytest.param(I2V, {"resolution": "720P"}, "resolution", id="resolution-upper"),
    pytest.param(I2V, {"resolution": "4k"}, "resolution", id="resolution-4k"),
    pytest.param(I2V, {"aspect_ratio": "1:1"}, "aspect_ratio", id="aspect-1:1"),
    pytest.param(I2V, {"sample_count": 0}, "sample_count", id="samples-0"),
    pytest.param(I2V, {"sample_count": 5}, "sample_count", id="samples-5"),
    pytest.param(I2V, {"sample_count": "2"}, "sample_count", id="samples-string"),
    pytest.param(I2V, {"sample_count": 1.5}, "sample_count", id="samples-fraction"),
    pytest.param(I2V, {"generate_audio": "false"}, "generate_audio", id="audio-string"),
    pytest.param(I2V, {"generate_audio": 0}, "generate_audio", id="audio-number"),
    pytest.param(I2V, {"seed": -1}, "seed", id="seed-negative"),
    pytest.param(I2V, {"seed": 4294967296}, "seed", id="seed-2**32"),
    pytest.param(I2V, {"seed": "123"}, "seed", id="seed-string"),
    pytest.param(I2V, {"person_generation": "allow_all"}, "person_generation", id="person-allow_all"),
    pytest.param(T2V, {"enhance_prompt": "yes"}, "enhance_prompt", id="enhance-string"),
]


@pytest.mark.parametrize("route, changes, field", BAD)
def test_invalid_requests_are_400_and_create_nothing(api, jobs, route, changes, field):
    base = dict(I2V_BASE)
    if route == FLF:
        base["last_frame_image"] = PNG_B64
    if route == T2V:
        base.pop("image")
    with jobs.unchanged():
        resp = api.post(route, json=merged(base, changes))
    assert_novita_error(resp, 400, "INVALID_REQUEST_BODY", field)


def test_seed_004_placeholder_body_is_refused(api, jobs):
    with jobs.unchanged():
        resp = api.post(I2V, json=SEED_004)
    assert_novita_error(resp, 400, "INVALID_REQUEST_BODY")


@pytest.mark.parametrize("route", [I2V, T2V, FLF])
@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[]", b"null", b"[" * 100_000 + b"]" * 100_000],
    ids=["bad", "empty", "list", "null", "deep"],
)
def test_malformed_bodies_are_400(api, jobs, route, raw):
    with jobs.unchanged():
        resp = api.post(route, content=raw, headers={"content-type": "application/json"})
    assert_novita_error(resp, 400, "INVALID_REQUEST_BODY")


@pytest.mark.parametrize("route", [I2V, T2V, FLF])
def test_missing_unknown_or_revoked_key_is_401(anonymous, jobs, refused_key, route):
    refused = {"Authorization": f"Bearer {refused_key}"}
    with jobs.unchanged():
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Token abc"}, refused):
            assert_novita_error(anonymous.post(route, json=I2V_BASE, headers=headers), 401, "INVALID_API_KEY")
            assert_novita_error(anonymous.post(route, content=b"{", headers=headers), 401, "INVALID_API_KEY")
    resp = anonymous.get(RESULT, params={"task_id": str(uuid.uuid4())})
    assert_novita_error(resp, 401, "INVALID_API_KEY")
    resp = anonymous.get(RESULT, params={"task_id": str(uuid.uuid4())}, headers=refused)
    assert_novita_error(resp, 401, "INVALID_API_KEY")


@pytest.mark.parametrize("unknown", [str(UNKNOWN_ID), "nope", "x" * 300])
def test_unknown_task_is_404(api, unknown):
    assert_novita_error(api.get(RESULT, params={"task_id": unknown}), 404, "TASK_NOT_FOUND", "not found")


def test_missing_task_id_is_400_and_unknown_route_404(api):
    assert_novita_error(api.get(RESULT), 400, "INVALID_REQUEST_BODY", "task_id")
    assert_novita_error(api.post(f"{A}/veo-3.1-lite-v2v", json={}), 404, "NOT_FOUND")
    assert_novita_error(api.get(I2V), 405, "METHOD_NOT_ALLOWED")


def test_another_key_cannot_read_a_task(api, server):
    task_id = api.post(T2V, json={"prompt": "mine", "duration": 4}).json()["task_id"]
    try:
        with client(server, key=f"highway-other-{uuid.uuid4()}") as other:
            assert_novita_error(other.get(RESULT, params={"task_id": task_id}), 404, "TASK_NOT_FOUND")
    finally:
        api.delete(f"{V1}/generations/{task_id}")


def test_status_words():
    assert highway.STATUS_WORDS == {
        "queued": "TASK_STATUS_QUEUED",
        "running": "TASK_STATUS_PROCESSING",
        "succeeded": "TASK_STATUS_SUCCEED",
        "failed": "TASK_STATUS_FAILED",
        "canceled": "TASK_STATUS_FAILED",
    }
    assert set(highway.STATUS_WORDS.values()) == {s.value for s in V3TaskResponseStatus}
