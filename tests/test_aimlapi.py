"""AI/ML API dialect (seed 002, specs/aimlapi) over real HTTP against a live server, down to decoded
MP4s, and through the official `aimlapi-sdk-python` client.

`aimlapi-sdk-python` (2.24.0rc1, the newest release; an overlay on `openai`) exposes video
generation as `client.videos.generate_with_polling(...)`: it POSTs `/v2/video/generations` at the
root of the client's base URL, polls `GET /v2/video/generations?generation_id=` while the status
is `queued` or `generating`, and downloads `video.url`. The tests drive create -> poll -> download
through it, and `client.models.list()` reads `GET /models`.

Decisions asserted here are written in the dialect's docstring (api/dialects/aimlapi.py).
"""

import io
import time
import uuid
from datetime import datetime

import aimlapi
import httpx
import numpy as np
import pytest
from PIL import Image

from reelforge.engines.preview import reference_boxes
from testkit.bodies import MISSING, merged
from testkit.images import gif_bytes
from testkit.support import (
    UNKNOWN_ID,
    assert_halves,
    b64,
    client,
    download_mp4,
    make_image,
    probe_mp4,
)

PATH = "/v2/video/generations"
V1 = "/api/rest/v1"
RED, BLUE, GREEN, WHITE = (220, 40, 40), (40, 60, 220), (40, 200, 60), (250, 250, 250)

# The spec's own code sample (specs/aimlapi/veo-3.1-lite-generate-001.openapi.json), verbatim.
SPEC_SAMPLE = {
    "model": "veo-3.1-lite-generate-001",
    "prompt": "A menacing evil dragon appears in a distance above the tallest mountain, then rushes toward "
    "the camera with its jaws open, revealing massive fangs. We see it\u2019s coming.",
}


# helpers -----------------------------------------------------------------------------------------


def assert_aiml_error(resp: httpx.Response, status: int, says: str | None = None, path: str = PATH) -> dict:
    """AI/ML API's error body: {message, path, requestId, statusCode, timestamp}."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    body = resp.json()
    assert set(body) == {"message", "path", "requestId", "statusCode", "timestamp"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["statusCode"] == status and body["path"] == path
    uuid.UUID(body["requestId"])
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    if says is not None:
        assert says.lower() in body["message"].lower(), body
    return body


def wait(api: httpx.Client, generation_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        resp = api.get(PATH, params={"generation_id": generation_id})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen.append(body["status"])
        assert body["status"] in ("queued", "generating", "completed", "error")
        if body["status"] in ("completed", "error"):
            return body
        assert body["video"] is None and body["meta"] is None and body["error"] is None
        time.sleep(0.2)
    raise TimeoutError(f"{generation_id} still {seen[-1]}")


# Fixtures from conftest.py: `api` (a key of the module's own), `jobs` (its Leonardo generation
# list), `anonymous`, `image_host` (an image server on 127.0.0.1) and `trusting_server` (a server
# whose image-fetch allowlist trusts loopback).


# the spec's sample and the official SDK ------------------------------------------------------------


def test_spec_sample_replayed_verbatim(api):
    """8 s, 1280x720 (720P is Lite 001's default), with sound, at $0.05/s."""
    resp = api.post(PATH, json=SPEC_SAMPLE)
    assert resp.status_code == 200, resp.text
    created = resp.json()
    assert created == {"id": created["id"], "status": "queued", "video": None, "error": None, "meta": None}
    done = wait(api, created["id"])
    assert done["status"] == "completed" and done["error"] is None
    assert done["meta"] == {"usage": {"credits_used": 800_000, "usd_spent": 0.4}}
    probe = probe_mp4(download_mp4(done["video"]["url"]))
    assert (probe.width, probe.height, probe.frames, probe.fps) == (1280, 720, 192, 24.0)
    assert (probe.codec, probe.audio_codec) == ("h264", "aac")
    assert probe.audio_seconds == pytest.approx(8.0, abs=0.05)


@pytest.fixture(scope="module")
def sdk(server):
    return aimlapi.AIMLAPI(
        api_key=server.key(f"aimlapi-sdk-{uuid.uuid4()}"), base_url=server.url, max_retries=0
    )


def test_official_sdk_create_poll_download_mp4(sdk):
    statuses: list[str] = []
    video = sdk.videos.generate_with_polling(
        model="google/veo-3.1-lite-generate-001",
        prompt="a paper boat drifting down a rain gutter",
        aspect_ratio="9:16",
        duration=4,
        seed=77,
        negative_prompt="blurry",
        extra_body={"resolution": "720p", "generate_audio": False, "person_generation": "dont_allow"},
        poll_interval=0.2,
        poll_timeout=120,
        return_bytes=True,
        status_callback=lambda payload: statuses.append(payload["status"]),
    )
    probe = probe_mp4(video)
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (720, 1280, 96, None)
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert set(statuses) <= {"queued", "generating", "completed"}

    # without return_bytes the SDK returns the final JSON payload
    final = sdk.videos.generate_with_polling(
        model="veo-3.1-lite-generate-001",
        prompt="a paper boat drifting down a rain gutter",
        aspect_ratio="9:16",
        duration=4,
        seed=77,
        negative_prompt="blurry",
        extra_body={"resolution": "720P", "generate_audio": False, "person_generation": "dont_allow"},
        poll_interval=0.2,
        poll_timeout=120,
    )
    assert final["status"] == "completed"
    assert final["meta"]["usage"] == {"credits_used": 240_000, "usd_spent": 0.12}  # 4 s silent 720p
    again = probe_mp4(download_mp4(final["video"]["url"]))
    assert (again.width, again.height, again.frames, again.audio_codec) == (720, 1280, 96, None)


def test_official_sdk_sees_api_errors(sdk):
    with pytest.raises(aimlapi.BadRequestError) as info:
        sdk.videos.generate_with_polling(model="veo-9-ultra", prompt="x", poll_interval=0.2)
    assert info.value.status_code == 400
    assert info.value.body["statusCode"] == 400 and "unknown model" in info.value.body["message"]


def test_official_sdk_lists_models(sdk):
    ids = {model.id for model in sdk.models.list()}
    assert {"google/veo-3.1-lite-generate-001", "veo-3.1-lite-generate-001", "veo-3.1-lite"} <= ids
    assert "google/veo-3-1-lite-generate-preview" in ids


def test_models_listing_needs_no_key(anonymous):
    resp = anonymous.get("/models")
    assert resp.status_code == 200
    body = resp.json()
    assert body["object"] == "list"
    [lite] = [m for m in body["data"] if m["id"] == "google/veo-3.1-lite-generate-001"]
    assert lite["type"] == "video" and lite["info"]["name"] == "veo-3.1-lite"
    assert {"text-to-video", "image-to-video", "first-last-frame-to-video", "audio"} <= set(lite["features"])
    assert lite["endpoints"] == [PATH]
    assert_aiml_error(anonymous.post("/models"), 405, path="/models")


# spellings -------------------------------------------------------------------------------------------

SPELLINGS = [
    ({"model": "google/veo-3.1-lite-generate-001"}, (1280, 720), 8, "veo-3.1-lite"),
    ({"model": "veo-3.1-lite-generate-001"}, (1280, 720), 8, "veo-3.1-lite"),
    ({"resolution": "720P", "aspect_ratio": "9:16"}, (720, 1280), 8, "veo-3.1-lite"),
    ({"resolution": "720p", "aspect_ratio": "16:9"}, (1280, 720), 8, "veo-3.1-lite"),
    ({"resolution": "1080P"}, (1920, 1080), 8, "veo-3.1-lite"),
    ({"resolution": "1080p", "aspect_ratio": "9:16"}, (1080, 1920), 8, "veo-3.1-lite"),
    ({"duration": 4}, (1280, 720), 4, "veo-3.1-lite"),
    ({"duration": "6"}, (1280, 720), 6, "veo-3.1-lite"),
    ({"duration": "8"}, (1280, 720), 8, "veo-3.1-lite"),
    ({"duration": 4.0}, (1280, 720), 4, "veo-3.1-lite"),
    # 1080p, its default; a catalog entry of its own (a last frame needs 8 s there)
    ({"model": "google/veo-3-1-lite-generate-preview"}, (1920, 1080), 8, "veo-3-1-lite-generate-preview"),
    ({"model": "google/veo-3.1-t2v-fast", "resolution": "720p"}, (1280, 720), 8, "VEO3_1FAST"),
    ({"model": "google/veo-3.1-t2v"}, (1920, 1080), 8, "VEO3_1"),
    ({"aspect_ratio": None, "resolution": None, "duration": None}, (1280, 720), 8, "veo-3.1-lite"),
]


@pytest.mark.parametrize("changes, size, duration, model", SPELLINGS)
def test_documented_spellings_are_accepted(api, changes, size, duration, model):
    body = merged({"model": "google/veo-3.1-lite-generate-001", "prompt": "spellings"}, changes)
    resp = api.post(PATH, json=body)
    assert resp.status_code == 200, resp.text
    generation_id = resp.json()["id"]
    try:
        assert api.get(PATH, params={"generation_id": generation_id}).json()["id"] == generation_id
        gen = api.get(f"{V1}/generations/{generation_id}").json()["generations_by_pk"]
        assert (gen["imageWidth"], gen["imageHeight"]) == size
        assert api.get(f"/v1/videos/{generation_id}").json()["model"] == model  # Leonardo's modelId is null
    finally:
        api.delete(f"{V1}/generations/{generation_id}")


# images --------------------------------------------------------------------------------------------


def test_first_and_last_frame_as_data_uri_and_raw_base64(api):
    start = make_image(1600, 900, "PNG", left=RED, right=BLUE)
    end = make_image(1280, 720, "JPEG", left=GREEN, right=WHITE)
    body = {
        "model": "google/veo-3.1-lite-generate-001",
        "prompt": "from red/blue to green/white",
        "image_url": "data:image/png;base64," + b64(start),
        "last_image_url": b64(end),
        "duration": 4,
        "generate_audio": False,
    }
    resp = api.post(PATH, json=body)
    assert resp.status_code == 200, resp.text
    done = wait(api, resp.json()["id"])
    assert done["status"] == "completed", done
    probe = probe_mp4(download_mp4(done["video"]["url"]))
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, None)
    assert_halves(probe.first, RED, BLUE)
    assert_halves(probe.last, GREEN, WHITE)


def test_image_url_is_fetched_on_a_trusting_server(trusting_server, image_host):
    with client(trusting_server, key="aiml-url") as api:
        body = {
            "model": "veo-3.1-lite-generate-001",
            "prompt": "from a URL",
            "image_url": f"{image_host.base}/img.png",
            "duration": 4,
        }
        resp = api.post(PATH, json=body)
        assert resp.status_code == 200, resp.text
        done = wait(api, resp.json()["id"])
        assert done["status"] == "completed", done
        probe = probe_mp4(download_mp4(done["video"]["url"]))
        assert (probe.width, probe.height, probe.audio_codec) == (1280, 720, "aac")
        assert_halves(probe.first, RED, BLUE)
        assert image_host.hits[-1][0] == "/img.png"

        before = len(image_host.hits)
        resp = api.post(PATH, json={**body, "image_url": f"{image_host.base}/gif"})
        assert_aiml_error(resp, 400, "image_url: image must be JPEG, PNG or WebP")
        resp = api.post(PATH, json={**body, "image_url": "http://169.254.169.254/latest/meta-data/"})
        assert_aiml_error(resp, 400, "private or reserved")
        assert len(image_host.hits) == before + 1  # the GIF; never the metadata address


def test_loopback_image_url_is_refused_by_default(api, jobs, image_host):
    before = len(image_host.hits)
    with jobs.unchanged():
        resp = api.post(PATH, json={**SPEC_SAMPLE, "image_url": f"{image_host.base}/img.png"})
    assert_aiml_error(resp, 400, "image_url: image URL points to a private or reserved address")
    assert len(image_host.hits) == before


# reference images and the Lite preview's last-frame rule --------------------------------------------

SOLIDS = [(230, 30, 30), (30, 200, 60), (40, 60, 230)]


def solid_png(colour, size=(400, 300)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def assert_references_shown(frame: np.ndarray, colours) -> None:
    """Each reference, a solid colour, fills its tile of the preview engine's strip."""
    height, width = frame.shape[:2]
    for (left, top, right, bottom), colour in zip(
        reference_boxes(width, height, len(colours)), colours, strict=True
    ):
        mean = frame[top + 3 : bottom - 3, left + 3 : right - 3].reshape(-1, 3).mean(axis=0)
        assert np.abs(mean - colour).max() < 12, (mean, colour)


def test_official_sdk_runs_reference_to_video(sdk):
    """The spec's reference-to-video request (three images, 8 s, 1080p by default) through the SDK."""
    statuses: list[str] = []
    final = sdk.videos.generate_with_polling(
        model="google/veo-3.1-reference-to-video",
        prompt="A graceful ballerina dancing outside a circus tent on green grass",
        extra_body={
            "image_urls": ["data:image/png;base64," + b64(solid_png(colour)) for colour in SOLIDS],
            "resolution": "720p",
            "generate_audio": False,
        },
        poll_interval=0.2,
        poll_timeout=120,
        status_callback=lambda payload: statuses.append(payload["status"]),
    )
    assert final["status"] == "completed" and statuses[-1] == "completed"
    assert final["meta"]["usage"] == {"credits_used": 3_200_000, "usd_spent": 1.6}  # 8 s x $0.20, silent
    probe = probe_mp4(download_mp4(final["video"]["url"]))
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 192, None)
    assert_references_shown(probe.first, SOLIDS)
    assert_references_shown(probe.last, SOLIDS)


def test_reference_urls_are_fetched_on_a_trusting_server(trusting_server, image_host):
    tag = uuid.uuid4().hex[:8]
    body = {
        "model": "google/veo-3.1-reference-to-video",
        "prompt": "references from URLs",
        "image_urls": [f"{image_host.base}/img.png?{tag}-0", f"{image_host.base}/img.webp?{tag}-1"],
        "resolution": "720p",
    }
    with client(trusting_server, key="aiml-reference-urls") as api:
        resp = api.post(PATH, json=body)
        assert resp.status_code == 200, resp.text
        done = wait(api, resp.json()["id"])
        assert done["status"] == "completed", done
        assert [path for path, _ in image_host.hits if tag in path] == [
            f"/img.png?{tag}-0",
            f"/img.webp?{tag}-1",
        ]
        frame = probe_mp4(download_mp4(done["video"]["url"])).first
        for left, top, right, bottom in reference_boxes(1280, 720, 2):  # testkit's red | blue image
            middle = (left + right) // 2
            assert frame[top + 20 : bottom - 20, left + 4 : middle - 4, 0].mean() > 150  # red half
            assert frame[top + 20 : bottom - 20, middle + 4 : right - 4, 2].mean() > 150  # blue half

        resp = api.post(PATH, json={**body, "image_urls": [body["image_urls"][0], f"{image_host.base}/gif"]})
        assert_aiml_error(resp, 400, "image_urls[1]: image must be JPEG, PNG or WebP")


def test_the_lite_preview_takes_first_and_last_frame_at_8_seconds(api):
    body = {
        "model": "google/veo-3-1-lite-generate-preview",
        "prompt": "first and last at 8 s",
        "image_url": b64(make_image(1280, 720, left=RED, right=BLUE)),
        "last_image_url": b64(make_image(1280, 720, left=GREEN, right=WHITE)),
        "resolution": "720p",
        "generate_audio": False,
    }
    for duration in (8, "8", None):
        resp = api.post(PATH, json=merged(body, {"duration": duration if duration else MISSING}))
        assert resp.status_code == 200, resp.text
    done = wait(api, resp.json()["id"])
    probe = probe_mp4(download_mp4(done["video"]["url"]))
    assert (probe.width, probe.height, probe.frames) == (1280, 720, 192)
    assert_halves(probe.first, RED, BLUE)
    assert_halves(probe.last, GREEN, WHITE)
    for duration in (4, 6):
        assert_aiml_error(api.post(PATH, json={**body, "duration": duration}), 400, "duration must be 8")
    one_frame = {key: value for key, value in body.items() if key != "last_image_url"}
    assert (
        api.post(PATH, json={**one_frame, "duration": 4}).status_code == 200
    )  # the rule is the last frame's


# validation ----------------------------------------------------------------------------------------

BASE = {"model": "google/veo-3.1-lite-generate-001", "prompt": "validation", "duration": 4}
PNG_B64 = b64(make_image(64, 64))

BAD = [
    pytest.param({"model": MISSING}, "model", id="model-missing"),
    pytest.param({"model": ""}, "model", id="model-empty"),
    pytest.param({"model": "veo-9-ultra"}, "unknown model", id="model-unknown"),
    pytest.param({"model": "google/veo-9"}, "unknown model", id="model-unknown-google"),
    pytest.param({"model": 31}, "model", id="model-number"),
    pytest.param({"prompt": MISSING}, "prompt", id="prompt-missing"),
    pytest.param({"prompt": ""}, "prompt", id="prompt-empty"),
    pytest.param({"prompt": "x" * 10_001}, "prompt", id="prompt-10001"),
    pytest.param({"prompt": None}, "prompt", id="prompt-null"),
    pytest.param({"resolution": "4K"}, "resolution", id="resolution-4k"),
    pytest.param({"resolution": "480p"}, "resolution", id="resolution-480p"),
    pytest.param({"resolution": "720"}, "resolution", id="resolution-no-unit"),
    pytest.param({"aspect_ratio": "1:1"}, "aspect_ratio", id="aspect-1:1"),
    pytest.param({"aspect_ratio": "16/9"}, "aspect_ratio", id="aspect-slash"),
    pytest.param({"duration": 5}, "duration", id="duration-5"),
    pytest.param({"duration": "5"}, "duration", id="duration-string-5"),
    pytest.param({"duration": "eight"}, "duration", id="duration-word"),
    pytest.param({"duration": "8s"}, "duration", id="duration-8s"),
    pytest.param({"duration": 8.5}, "duration", id="duration-8.5"),
    pytest.param({"duration": True}, "duration", id="duration-bool"),
    pytest.param({"duration": 0}, "duration", id="duration-0"),
    pytest.param({"generate_audio": "true"}, "generate_audio", id="audio-string"),
    pytest.param({"generate_audio": 1}, "generate_audio", id="audio-number"),
    pytest.param({"person_generation": "allow_all"}, "person_generation", id="person-allow_all"),
    pytest.param({"person_generation": "ALLOW_ADULT"}, "person_generation", id="person-upper"),
    pytest.param({"seed": -1}, "seed", id="seed-negative"),
    pytest.param({"seed": 4294967296}, "seed", id="seed-2**32"),
    pytest.param({"seed": "7"}, "seed", id="seed-string"),
    pytest.param({"image_url": ""}, "image_url", id="image-empty"),
    pytest.param({"image_url": 5}, "image_url", id="image-number"),
    pytest.param({"image_url": "!!!"}, "image_url", id="image-garbage"),
    pytest.param(
        {"image_url": "data:image/gif;base64," + b64(gif_bytes())}, "JPEG, PNG or WebP", id="image-gif"
    ),
    pytest.param({"image_url": "ftp://example.com/a.png"}, "http or https", id="image-ftp"),
    pytest.param({"image_url": "http://127.0.0.1/a.png"}, "private", id="image-loopback"),
    pytest.param({"image_url": "http://169.254.169.254/"}, "private", id="image-metadata"),
    pytest.param({"last_image_url": PNG_B64}, "last_image_url", id="last-without-first"),
    pytest.param({"image_url": PNG_B64, "last_image_url": "!!!"}, "last_image_url", id="last-garbage"),
    pytest.param(
        {"model": "google/veo-3.0-generate-001", "image_url": PNG_B64, "last_image_url": PNG_B64},
        "last_image_url",
        id="last-frame-on-veo3",
    ),
    pytest.param({"model": "google/veo-3.1-i2v"}, "image_url: is required", id="i2v-without-image"),
    pytest.param(
        {"model": "google/veo-3.1-first-last-image-to-video", "image_url": PNG_B64},
        "last_image_url: is required",
        id="first-last-without-last",
    ),
    pytest.param({"model": "MOTION2", "generate_audio": True}, "duration", id="motion2-4s"),
    pytest.param(
        {"model": "google/veo-3.1-reference-to-video"}, "image_urls: is required", id="references-missing"
    ),
    pytest.param(
        {"model": "google/veo-3.1-reference-to-video", "image_urls": []},
        "image_urls: is required",
        id="references-empty",
    ),
    pytest.param(
        {"image_urls": [PNG_B64]}, "image_urls: veo-3.1-lite takes no reference images", id="lite-refs"
    ),
    pytest.param(
        {"model": "google/veo-3.1-reference-to-video", "image_urls": [PNG_B64] * 4},
        "image_urls: VEO3_1 takes at most 3 reference images",
        id="references-4",
    ),
    pytest.param(
        {"model": "google/veo-3.1-reference-to-video", "image_urls": [PNG_B64]},
        "duration must be 8 for VEO3_1 with reference images",
        id="references-4s",
    ),
    pytest.param(
        {"model": "google/veo-3.1-reference-to-video", "duration": 8, "image_urls": [PNG_B64, "!!!"]},
        "image_urls[1]: ",
        id="references-garbage",
    ),
    pytest.param(
        {
            "model": "google/veo-3.1-reference-to-video",
            "duration": 8,
            "image_urls": "https://example.com/a.png",
        },
        "image_urls",
        id="references-not-a-list",
    ),
    pytest.param(
        {
            "model": "google/veo-3.1-reference-to-video",
            "duration": 8,
            "image_urls": ["http://127.0.0.1/a.png"],
        },
        "image_urls[0]: image URL points to a private",
        id="references-loopback",
    ),
    pytest.param(
        {"model": "google/veo-3-1-lite-generate-preview", "image_url": PNG_B64, "last_image_url": PNG_B64},
        "duration must be 8 for veo-3-1-lite-generate-preview with an end frame",
        id="lite-preview-first-last-4s",
    ),
    pytest.param(
        {
            "model": "google/veo-3-1-lite-generate-preview",
            "image_url": PNG_B64,
            "last_image_url": PNG_B64,
            "duration": "6",
        },
        "duration: ",
        id="lite-preview-first-last-6s",
    ),
]


@pytest.mark.parametrize("changes, says", BAD)
def test_invalid_requests_are_400_and_create_nothing(api, jobs, changes, says):
    with jobs.unchanged():
        resp = api.post(PATH, json=merged(BASE, changes))
    assert_aiml_error(resp, 400, says)


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[]", b"null", b'"prompt"', b"[" * 100_000 + b"]" * 100_000],
    ids=["truncated", "empty", "list", "null", "string", "deeply-nested"],
)
def test_malformed_bodies_are_400(api, jobs, raw):
    with jobs.unchanged():
        resp = api.post(PATH, content=raw, headers={"content-type": "application/json"})
    assert_aiml_error(resp, 400)


def test_refused_image_leaves_no_stored_asset(api, jobs, server):
    """The first frame is stored before the last one is read; a bad last frame removes it again."""
    uploads = server.data_dir / "media" / "uploads"
    before = set(uploads.iterdir()) if uploads.exists() else set()
    with jobs.unchanged():
        resp = api.post(
            PATH, json={**BASE, "image_url": PNG_B64, "last_image_url": "data:image/gif;base64,AAAA"}
        )
    assert_aiml_error(resp, 400, "last_image_url")
    after = set(uploads.iterdir()) if uploads.exists() else set()
    assert after == before


def test_missing_unknown_or_revoked_key_is_401(anonymous, jobs, refused_key):
    with jobs.unchanged():
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": f"Bearer {refused_key}"},
        ):
            assert_aiml_error(anonymous.post(PATH, json=BASE, headers=headers), 401)
            assert_aiml_error(anonymous.post(PATH, json={"duration": "x"}, headers=headers), 401)
            assert_aiml_error(anonymous.get(PATH, params={"generation_id": "x"}, headers=headers), 401)


@pytest.mark.parametrize("unknown", [str(UNKNOWN_ID), "not-a-uuid", "x" * 300, "1' OR '1'='1"])
def test_unknown_generation_is_404(api, unknown):
    assert_aiml_error(api.get(PATH, params={"generation_id": unknown}), 404, "not found")


def test_missing_generation_id_is_400(api):
    assert_aiml_error(api.get(PATH), 400, "generation_id")
    assert_aiml_error(api.get(PATH, params={"generation_id": ""}), 400, "generation_id")


def test_another_key_cannot_read_a_generation(api, server):
    resp = api.post(PATH, json={**BASE, "prompt": "mine"})
    generation_id = resp.json()["id"]
    try:
        with client(server, key=f"aimlapi-other-{uuid.uuid4()}") as other:
            assert_aiml_error(other.get(PATH, params={"generation_id": generation_id}), 404)
    finally:
        api.delete(f"{V1}/generations/{generation_id}")
