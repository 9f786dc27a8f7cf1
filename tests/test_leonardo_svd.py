"""Leonardo v1 `POST /api/rest/v1/generations-motion-svd` (seed 003, `motionSvdGenerationJob`) over
real HTTP and through the official `leonardo-ai-sdk`: an uploaded init image becomes a short,
silent SVD clip that starts on the image. Decisions are in leonardo_v1.py's SVD section."""

import time
import uuid

import httpx
import pytest
from leonardo_ai_sdk import LeonardoAiSDK
from leonardo_ai_sdk.models import errors, operations, shared

from testkit.bodies import MISSING, merged
from testkit.leonardo import assert_leonardo_error
from testkit.support import (
    client,
    download_mp4,
    make_image,
    probe_mp4,
    upload_init_image,
    wait_for_generation,
)

SVD = "/api/rest/v1/generations-motion-svd"
V1 = "/api/rest/v1"
RED, BLUE = (220, 40, 40), (40, 60, 220)


# Fixtures from conftest.py: `api` (a key of the module's own) and `jobs` (its generation list).


@pytest.fixture(scope="module")
def landscape(api) -> str:
    return upload_init_image(api, make_image(1280, 720, "PNG", left=RED, right=BLUE))


def left_right(frame):
    h, w = frame.shape[:2]
    return frame[h // 2, w // 4], frame[h // 2, 3 * w // 4]


def test_svd_from_an_init_image(api, landscape):
    resp = api.post(
        SVD, json={"imageId": landscape, "isInitImage": True, "motionStrength": 7, "isPublic": True}
    )
    assert resp.status_code == 200, resp.text
    job = resp.json()["motionSvdGenerationJob"]
    assert set(job) == {"generationId", "apiCreditCost", "cost"}
    assert job["apiCreditCost"] is None
    assert job["cost"] == {"amount": "0.0200", "unit": "DOLLARS"}  # 4 s at the SVD entry's $0.005/s

    gen = wait_for_generation(api, job["generationId"])
    assert gen["status"] == "COMPLETE" and gen["modelId"] is None and gen["public"] is True
    assert (gen["imageWidth"], gen["imageHeight"]) == (1024, 576)
    [image] = gen["generated_images"]
    assert image["motion"] is True and image["imageToVideo"] is True and image["motionModel"] == "SVD"
    probe = probe_mp4(download_mp4(image["motionMP4URL"]))
    assert (probe.width, probe.height, probe.frames, probe.fps) == (1024, 576, 96, 24.0)
    assert probe.audio_codec is None
    left, right = left_right(probe.first)
    assert left[0] > 180 and left[2] < 90 and right[2] > 180 and right[0] < 90


def test_portrait_image_gives_a_portrait_clip(api):
    image_id = upload_init_image(api, make_image(600, 900, "JPEG"), "jpg")
    resp = api.post(SVD, json={"imageId": image_id})
    assert resp.status_code == 200, resp.text
    gen = wait_for_generation(api, resp.json()["motionSvdGenerationJob"]["generationId"])
    assert gen["status"] == "COMPLETE"
    probe = probe_mp4(download_mp4(gen["generated_images"][0]["motionMP4URL"]))
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (576, 1024, 96, None)


def test_svd_through_the_official_sdk(server):
    """create -> poll -> download with `leonardo-ai-sdk`, whose pydantic models validate every answer."""
    name = f"svd-sdk-{uuid.uuid4()}"
    sdk = LeonardoAiSDK(bearer_auth=server.key(name), server_url=f"{server.url}{V1}", timeout_ms=30_000)
    with client(server, key=name) as api:
        image_id = upload_init_image(api, make_image(1280, 720, "PNG", left=RED, right=BLUE))

    res = sdk.motion.create_svd_motion_generation(
        request={"image_id": image_id, "is_init_image": True, "is_public": False, "motion_strength": 5}
    )
    assert res.status_code == 200
    out = res.object.motion_svd_generation_job
    assert isinstance(out, operations.MotionSvdGenerationOutput)
    assert out.cost.amount == "0.0200" and out.cost.unit == "DOLLARS"

    deadline = time.monotonic() + 120
    while True:
        generation = sdk.image.get_generation_by_id(id=out.generation_id).object.generations_by_pk
        if generation.status != shared.JobStatus.PENDING:
            break
        assert time.monotonic() < deadline
        time.sleep(0.25)
    assert generation.status == shared.JobStatus.COMPLETE
    [video] = generation.generated_images
    probe = probe_mp4(download_mp4(video.motion_mp4_url))
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1024, 576, 96, None)

    # the SDK sees a refusal as an API error with Leonardo's body
    with pytest.raises(errors.SDKError) as info:
        sdk.motion.create_svd_motion_generation(request={"image_id": str(uuid.uuid4())})
    assert info.value.status_code == 400


BAD = [
    pytest.param({"imageId": MISSING}, ["imageId"], None, id="imageId-missing"),
    pytest.param({"imageId": ""}, ["imageId"], None, id="imageId-empty"),
    pytest.param({"imageId": None}, ["imageId"], None, id="imageId-null"),
    pytest.param({"imageId": 5}, ["imageId"], None, id="imageId-number"),
    pytest.param({"imageId": str(uuid.uuid4())}, ["imageId"], "not found", id="imageId-unknown"),
    pytest.param({"isVariation": True}, ["isVariation"], "init images", id="variation"),
    pytest.param({"isInitImage": False}, ["isInitImage"], "init images", id="not-init-image"),
    pytest.param({"isInitImage": "true"}, ["isInitImage"], None, id="isInitImage-string"),
    pytest.param({"isPublic": "false"}, ["isPublic"], None, id="isPublic-string"),
    pytest.param({"motionStrength": 0}, ["motionStrength"], None, id="motion-0"),
    pytest.param({"motionStrength": 11}, ["motionStrength"], None, id="motion-11"),
    pytest.param({"motionStrength": "5"}, ["motionStrength"], None, id="motion-string"),
    pytest.param({"motionStrength": 2.5}, ["motionStrength"], None, id="motion-fraction"),
]


@pytest.mark.parametrize("changes, path, says", BAD)
def test_invalid_svd_requests_are_400_and_create_nothing(api, jobs, landscape, changes, path, says):
    with jobs.unchanged():
        resp = api.post(SVD, json=merged({"imageId": landscape}, changes))
    assert_leonardo_error(resp, 400, path, says)


def test_accepted_nullable_fields(api, landscape):
    body = {
        "imageId": landscape,
        "isPublic": None,
        "isInitImage": None,
        "isVariation": False,
        "motionStrength": None,
    }
    resp = api.post(SVD, json=body)
    assert resp.status_code == 200, resp.text
    api.delete(f"{V1}/generations/{resp.json()['motionSvdGenerationJob']['generationId']}")


def test_another_keys_image_and_missing_key(server, landscape):
    with client(server, key=f"svd-other-{uuid.uuid4()}") as other:
        assert_leonardo_error(other.post(SVD, json={"imageId": landscape}), 400, ["imageId"], "not found")
    resp = httpx.post(f"{server.url}{SVD}", json={"imageId": landscape}, timeout=30)
    assert_leonardo_error(resp, 401)
    resp = httpx.post(f"{server.url}{SVD}", content=b"{", headers={"content-type": "application/json"})
    assert_leonardo_error(resp, 401)
