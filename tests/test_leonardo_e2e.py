"""The seeds' requests, replayed verbatim against a live server, down to decoded MP4s."""

import time

import httpx
import numpy as np
import pytest

from testkit.support import make_image, probe_mp4, upload_init_image, wait_for_generation

SEED_000 = {
    "model": "veo-3.1-lite",
    "public": False,
    "parameters": {
        "prompt": "A koala and a cat playing together in a sunlit meadow",
        "quantity": 1,
        "width": 1280,
        "height": 720,
        "mode": "RESOLUTION_720",
        "duration": 8,
        "motion_has_audio": True,
    },
}


def _seed_001(start_id: str, end_id: str) -> dict:
    return {
        "prompt": "<YOUR_PROMPT>",
        "imageId": start_id,
        "imageType": "UPLOADED",
        "endFrameImage": {"id": end_id, "type": "UPLOADED"},
        "resolution": "RESOLUTION_1080",
        "duration": 8,
        "height": 1080,
        "width": 1920,
        "model": "VEO3_1",
    }


def _download(url: str) -> bytes:
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200
    return resp.content


def test_seed_000_v2_text_to_video(http):
    resp = http.post("/api/rest/v2/generations", json=SEED_000)
    assert resp.status_code == 200, resp.text
    created = resp.json()["generate"]
    # 8 s at 720p with audio at the list price of $0.05/s
    assert created["cost"] == {"amount": "0.4000", "unit": "DOLLARS"}

    gen = wait_for_generation(http, created["generationId"])
    assert gen["status"] == "COMPLETE"
    assert gen["id"] == created["generationId"]
    assert (gen["imageWidth"], gen["imageHeight"]) == (1280, 720)
    assert gen["prompt"] == SEED_000["parameters"]["prompt"]
    assert gen["public"] is False
    [image] = gen["generated_images"]
    assert image["motion"] is True and image["imageToVideo"] is False

    video = _download(image["motionMP4URL"])
    probe = probe_mp4(video)
    assert (probe.width, probe.height, probe.frames, probe.fps) == (1280, 720, 192, 24.0)
    assert (probe.codec, probe.pix_fmt, probe.audio_codec) == ("h264", "yuv420p", "aac")
    assert probe.audio_seconds == pytest.approx(8.0, abs=0.05)

    poster = httpx.get(image["url"])
    assert poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:3] == b"\xff\xd8\xff"


def test_seed_001_v1_first_and_last_frame_at_1080p(http):
    # Both inputs are larger and of another aspect: they are centre-cropped and scaled to 1920x1080.
    start_id = upload_init_image(http, make_image(2400, 1800, "PNG"), "png")
    end_id = upload_init_image(
        http, make_image(1600, 1200, "JPEG", left=(30, 200, 30), right=(250, 250, 250)), "jpg"
    )
    resp = http.post("/api/rest/v1/generations-image-to-video", json=_seed_001(start_id, end_id))
    assert resp.status_code == 200, resp.text
    job = resp.json()["motionVideoGenerationJob"]
    assert job["cost"] == {"amount": "3.2000", "unit": "DOLLARS"}  # Veo 3.1: $0.40/s x 8 s
    assert job["apiCreditCost"] is None

    gen = wait_for_generation(http, job["generationId"])
    assert gen["status"] == "COMPLETE"
    [image] = gen["generated_images"]
    assert image["imageToVideo"] is True
    probe = probe_mp4(_download(image["motionMP4URL"]))
    assert (probe.width, probe.height, probe.frames, probe.fps) == (1920, 1080, 192, 24.0)
    assert probe.audio_codec == "aac"  # Veo 3.1 makes sound; v1 has no switch for it

    # first frame is the start image, last frame the end image (allowing for H.264 loss)
    def centre(frame):
        return frame[400:680, 760:1160].astype(int)

    left_start, right_start = probe.first[540, 300], probe.first[540, 1620]
    assert left_start[0] > 180 and left_start[2] < 90  # red left half survives the crop
    assert right_start[2] > 180 and right_start[0] < 90  # blue right half
    left_end, right_end = probe.last[540, 300], probe.last[540, 1620]
    assert left_end[0] < 90 and left_end[2] < 90  # dark red/blue left half of the end image
    assert right_end[0] > 180 and right_end[2] > 180  # white (but for the green ramp) right half
    assert np.abs(centre(probe.first) - centre(probe.last)).mean() > 20


def test_v2_without_audio_has_no_audio_track_and_costs_less(http):
    body = {
        "model": "veo-3.1-lite",
        "parameters": {
            "prompt": "quiet portrait",
            "width": 720,
            "height": 1280,
            "duration": 4,
            "audio": False,
        },
    }
    created = http.post("/api/rest/v2/generations", json=body).json()["generate"]
    assert created["cost"]["amount"] == "0.1200"  # 720p silent: $0.03/s x 4 s
    gen = wait_for_generation(http, created["generationId"])
    probe = probe_mp4(_download(gen["generated_images"][0]["motionMP4URL"]))
    assert (probe.width, probe.height, probe.frames) == (720, 1280, 96)
    assert probe.audio_codec is None


def test_v2_defaults_to_1280x720_8s_with_audio(http):
    body = {"model": "veo-3.1-lite", "parameters": {"prompt": "defaults", "seed": 7}}
    created = http.post("/api/rest/v2/generations", json=body).json()["generate"]
    gen = wait_for_generation(http, created["generationId"])
    assert (gen["imageWidth"], gen["imageHeight"], gen["seed"]) == (1280, 720, 7)
    probe = probe_mp4(_download(gen["generated_images"][0]["motionMP4URL"]))
    assert (probe.frames, probe.audio_codec) == (192, "aac")


def test_v2_start_frame_guidance(http):
    start_id = upload_init_image(http, make_image(1280, 720, "WEBP"), "webp")
    body = {
        "model": "veo-3.1-lite",
        "parameters": {
            "prompt": "push in",
            "duration": 4,
            "guidances": {"start_frame": [{"image": {"id": start_id, "type": "UPLOADED"}}]},
        },
    }
    created = http.post("/api/rest/v2/generations", json=body).json()["generate"]
    gen = wait_for_generation(http, created["generationId"])
    assert gen["generated_images"][0]["imageToVideo"] is True
    probe = probe_mp4(_download(gen["generated_images"][0]["motionMP4URL"]))
    assert probe.first[360, 200][0] > 180  # the red left half of the start image


def test_v1_text_to_video_defaults_to_motion2(http):
    # what leonardo-ai-sdk sends for a bare prompt: it always fills in duration 8 and model MOTION2
    body = {"prompt": "a lighthouse at dusk", "duration": 8, "model": "MOTION2"}
    resp = http.post("/api/rest/v1/generations-text-to-video", json=body)
    assert resp.status_code == 200, resp.text
    gen = wait_for_generation(http, resp.json()["motionVideoGenerationJob"]["generationId"])
    assert gen["modelId"] is None and gen["generated_images"][0]["motionModel"] == "MOTION2"
    probe = probe_mp4(_download(gen["generated_images"][0]["motionMP4URL"]))
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (832, 480, 120, None)


def test_same_seed_same_frames_other_seed_other_frames(http):
    def render(seed: int):
        body = {"model": "veo-3.1-lite", "parameters": {"prompt": "determinism", "duration": 4, "seed": seed}}
        created = http.post("/api/rest/v2/generations", json=body).json()["generate"]
        gen = wait_for_generation(http, created["generationId"])
        return probe_mp4(_download(gen["generated_images"][0]["motionMP4URL"]))

    a, b, c = render(1234), render(1234), render(4321)
    assert a.digest == b.digest
    assert a.digest != c.digest


def test_list_delete_and_media_cleanup(http, server):
    me = http.get("/api/rest/v1/me").json()["user_details"][0]["user"]["id"]
    body = {"model": "veo-3.1-lite", "parameters": {"prompt": "to delete", "duration": 4}}
    gen_id = http.post("/api/rest/v2/generations", json=body).json()["generate"]["generationId"]
    gen = wait_for_generation(http, gen_id)
    listed = http.get(f"/api/rest/v1/generations/user/{me}", params={"limit": 50}).json()["generations"]
    assert gen_id in [g["id"] for g in listed]

    video_url = gen["generated_images"][0]["motionMP4URL"]
    assert http.delete(f"/api/rest/v1/generations/{gen_id}").json() == {
        "delete_generations_by_pk": {"id": gen_id}
    }
    assert http.get(f"/api/rest/v1/generations/{gen_id}").json() == {"generations_by_pk": None}
    assert httpx.get(video_url).status_code == 404
    assert not (server.data_dir / "media" / "outputs" / gen_id).exists()


def test_media_range_and_head(http):
    body = {"model": "veo-3.1-lite", "parameters": {"prompt": "ranges", "duration": 4}}
    gen_id = http.post("/api/rest/v2/generations", json=body).json()["generate"]["generationId"]
    url = wait_for_generation(http, gen_id)["generated_images"][0]["motionMP4URL"]
    full = httpx.get(url).content
    head = httpx.head(url)
    assert head.status_code == 200
    assert head.headers["content-type"] == "video/mp4"
    assert int(head.headers["content-length"]) == len(full)
    assert head.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(full)}"
    assert part.content == full[100:200]
    tail = httpx.get(url, headers={"Range": "bytes=-50"})
    assert tail.content == full[-50:]
    assert httpx.get(url, headers={"Range": f"bytes={len(full) + 10}-"}).status_code == 416


def test_delete_while_rendering_stops_the_render_and_leaves_no_files(http, server):
    body = {"model": "VEO3_1", "parameters": {"prompt": "never finished", "mode": "RESOLUTION_1080"}}
    gen_id = http.post("/api/rest/v2/generations", json=body).json()["generate"]["generationId"]
    deadline = time.monotonic() + 30
    while server.job_counts()["running"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert http.delete(f"/api/rest/v1/generations/{gen_id}").json()["delete_generations_by_pk"] == {
        "id": gen_id
    }
    stopped_at = time.monotonic()
    while server.job_counts()["running"]:
        assert time.monotonic() - stopped_at < 5, "the render did not stop promptly"
        time.sleep(0.05)
    assert not (server.data_dir / "media" / "outputs" / gen_id).exists()
