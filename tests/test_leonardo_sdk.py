"""The official `leonardo-ai-sdk` (Speakeasy, validates every response with pydantic) against a live
reelforge server: text-to-video, image-to-video from SDK-uploaded init images (start + end frame),
the user endpoint, listing and deleting, and the SDK's error path.

`leonardo-ai-sdk` 7.0.0 (the newest release) types `model` as a closed enum that predates Veo 3.1
(MOTION2, VEO3, MOTION2FAST, VEO3FAST, KLING2_1, KLING2_5): it cannot send `VEO3_1` / `VEO3_1FAST`
and silently drops a value it does not know. An SDK user who wants Veo 3.1 has to put the model into
the JSON body themselves; `ModelOverrideClient` does that through the SDK's public `client=` hook
(a custom `httpx.Client`). Everything else goes through the SDK untouched, and one test uses the
SDK's own `VEO3FAST` enum member with no override at all.
"""

import json
import time
import uuid
from decimal import Decimal

import httpx
import numpy as np
import pytest
from leonardo_ai_sdk import LeonardoAiSDK
from leonardo_ai_sdk.models import errors, operations, shared

from testkit.support import make_image, probe_mp4

DURATION = 4
FPS = 24
RED, BLUE = (220, 40, 40), (40, 60, 220)
GREEN, YELLOW = (40, 200, 60), (230, 210, 30)


class ModelOverrideClient(httpx.Client):
    """An httpx client that sets `model` in the JSON body of the video-create calls when asked to."""

    def __init__(self, **kwargs):
        super().__init__(follow_redirects=True, **kwargs)
        self.model: str | None = None

    def build_request(self, method, url, *, content=None, **kwargs):
        if self.model and content and str(url).endswith("-to-video"):
            body = json.loads(content)
            body["model"] = self.model
            content = json.dumps(body)
        return super().build_request(method, url, content=content, **kwargs)


@pytest.fixture
def transport():
    with ModelOverrideClient() as c:
        yield c


@pytest.fixture
def sdk(server, key, transport):
    """The SDK with the key of the module's own account (conftest's `key`), so its listings see only
    its own jobs."""
    return LeonardoAiSDK(
        bearer_auth=server.key(key),
        server_url=f"{server.url}/api/rest/v1",
        client=transport,
        timeout_ms=30_000,
    )


def poll(
    sdk: LeonardoAiSDK, generation_id: str, timeout: float = 120
) -> operations.GetGenerationByIDGenerations:
    """Read a generation back with the SDK until it leaves PENDING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = sdk.image.get_generation_by_id(id=generation_id)
        assert res.status_code == 200
        assert isinstance(res.object, operations.GetGenerationByIDResponseBody)
        generation = res.object.generations_by_pk
        assert isinstance(generation, operations.GetGenerationByIDGenerations)
        assert generation.id == generation_id
        if generation.status != shared.JobStatus.PENDING:
            return generation
        time.sleep(0.25)
    raise TimeoutError(f"generation {generation_id} still PENDING after {timeout}s")


def download(url: str, content_type: str) -> bytes:
    resp = httpx.get(url, timeout=30)  # media URLs are capability URLs, like Leonardo's CDN: no auth
    assert resp.status_code == 200, url
    assert resp.headers["content-type"].startswith(content_type)
    assert resp.content
    return resp.content


def check_video(data: bytes, width: int, height: int):
    probe = probe_mp4(data)
    assert (probe.width, probe.height) == (width, height)
    assert probe.frames == DURATION * FPS
    assert probe.fps == FPS
    assert probe.codec == "h264"
    assert probe.audio_codec == "aac"
    assert probe.audio_seconds == pytest.approx(DURATION, abs=0.1)
    return probe


def upload_with_sdk(sdk: LeonardoAiSDK, data: bytes) -> str:
    """Leonardo's documented init-image flow: the SDK reserves, then a presigned-style POST uploads."""
    res = sdk.init_images.upload_init_image(request={"extension": "png"})
    assert res.status_code == 200
    upload = res.object.upload_init_image
    assert isinstance(upload, operations.InitImageUploadOutput)
    assert upload.id and upload.url and upload.key
    fields = json.loads(upload.fields)
    assert isinstance(fields, dict)
    # No Authorization header, as against S3: the form fields are the authorisation.
    resp = httpx.post(upload.url, data=fields, files={"file": ("image.png", data, "image/png")}, timeout=30)
    assert resp.status_code == 204, resp.text

    got = sdk.init_images.get_init_image_by_id(id=upload.id)
    assert got.object.init_images_by_pk.id == upload.id
    assert download(got.object.init_images_by_pk.url, "image/png") == data
    return upload.id


def region_mean(frame: np.ndarray, left: bool) -> np.ndarray:
    """Mean R and B of a patch in the middle of the left or right half (G carries a gradient)."""
    h, w = frame.shape[:2]
    x = w // 4 if left else 3 * w // 4
    patch = frame[h // 2 - 40 : h // 2 + 40, x - 60 : x + 60].astype(float)
    return patch.mean(axis=(0, 1))[[0, 2]]


def assert_colours(frame: np.ndarray, left, right, tol: float = 30):
    assert np.abs(region_mean(frame, True) - np.array(left)[[0, 2]]).max() < tol
    assert np.abs(region_mean(frame, False) - np.array(right)[[0, 2]]).max() < tol


def test_text_to_video_veo3_1fast(sdk, transport):
    transport.model = "VEO3_1FAST"
    res = sdk.motion.create_text_to_video_generation(
        request={
            "prompt": "a red fox running through fresh snow",
            "negative_prompt": "blurry",
            "resolution": operations.CreateTextToVideoGenerationMotionString.RESOLUTION_720,
            "width": 1280,
            "height": 720,
            "duration": DURATION,
            "seed": 4242,
        }
    )
    sent = json.loads(res.raw_response.request.content)
    assert sent["model"] == "VEO3_1FAST" and sent["negativePrompt"] == "blurry" and sent["duration"] == 4
    assert res.status_code == 200
    job = res.object.motion_video_generation_job
    assert isinstance(job, operations.CreateTextToVideoGenerationMotionVideoGenerationOutput)
    generation_id = job.generation_id
    assert str(uuid.UUID(generation_id)) == generation_id
    assert job.cost.unit == shared.Unit.DOLLARS
    assert Decimal(job.cost.amount) == Decimal("0.15") * DURATION  # Veo 3.1 Fast, audio on, per second

    generation = poll(sdk, generation_id)
    assert generation.status == shared.JobStatus.COMPLETE
    assert generation.prompt == "a red fox running through fresh snow"
    assert generation.negative_prompt == "blurry"
    assert (generation.image_width, generation.image_height) == (1280, 720)
    assert generation.model_id is None  # a model UUID at Leonardo; the name is motionModel
    assert generation.seed == 4242
    assert generation.public is False
    assert generation.created_at
    [image] = generation.generated_images
    assert image.motion is True
    assert image.image_to_video is False
    assert image.motion_model == "VEO3_1FAST"
    assert image.id != generation_id and uuid.UUID(image.id).version == 4

    check_video(download(image.motion_mp4_url, "video/mp4"), 1280, 720)
    download(image.url, "image/")  # the poster


def test_image_to_video_with_end_frame(sdk, transport):
    assert "end_frame_image" in operations.CreateImageToVideoGenerationRequestBody.model_fields
    start_id = upload_with_sdk(sdk, make_image(1280, 720, left=RED, right=BLUE))
    end_id = upload_with_sdk(sdk, make_image(1280, 720, left=GREEN, right=YELLOW))
    assert start_id != end_id

    transport.model = "VEO3_1FAST"
    res = sdk.motion.create_image_to_video_generation(
        request={
            "prompt": "the colours melt into each other",
            "image_id": start_id,
            "image_type": operations.ImageType.UPLOADED,
            "end_frame_image": {"id": end_id, "type": operations.String.UPLOADED},
            "resolution": operations.CreateImageToVideoGenerationMotionString.RESOLUTION_720,
            "width": 1280,
            "height": 720,
            "duration": DURATION,
        }
    )
    sent = json.loads(res.raw_response.request.content)
    assert sent["imageId"] == start_id and sent["imageType"] == "UPLOADED"
    assert sent["endFrameImage"] == {"id": end_id, "type": "UPLOADED"}
    assert res.status_code == 200
    job = res.object.motion_video_generation_job
    assert isinstance(job, operations.MotionVideoGenerationOutput)

    generation = poll(sdk, job.generation_id)
    assert generation.status == shared.JobStatus.COMPLETE
    [image] = generation.generated_images
    assert image.image_to_video is True and image.motion_model == "VEO3_1FAST"

    probe = check_video(download(image.motion_mp4_url, "video/mp4"), 1280, 720)
    assert_colours(probe.first, RED, BLUE)  # first frame is the start image
    assert_colours(probe.last, GREEN, YELLOW)  # last frame is the end image


def test_user_self_list_and_delete(sdk, transport):
    me = sdk.user.get_user_self()
    assert me.status_code == 200
    [details] = me.object.user_details
    user_id = details.user.id
    assert str(uuid.UUID(user_id)) == user_id and uuid.UUID(user_id).version == 4
    assert details.user.username
    assert details.api_concurrency_slots >= 1
    assert sdk.user.get_user_self().object.user_details[0].user.id == user_id  # stable per key

    # Plain SDK use, no override: VEO3FAST is a member of the SDK's own enum.
    assert transport.model is None
    res = sdk.motion.create_text_to_video_generation(
        request={
            "prompt": "a lighthouse at dusk",
            "model": operations.CreateTextToVideoGenerationString.VEO3_FAST,
            "resolution": operations.CreateTextToVideoGenerationMotionString.RESOLUTION_720,
            "width": 720,
            "height": 1280,
            "duration": DURATION,
        }
    )
    generation_id = res.object.motion_video_generation_job.generation_id
    generation = poll(sdk, generation_id)
    assert generation.status == shared.JobStatus.COMPLETE
    assert generation.generated_images[0].motion_model == "VEO3FAST"
    assert (generation.image_width, generation.image_height) == (720, 1280)
    mp4_url = generation.generated_images[0].motion_mp4_url
    check_video(download(mp4_url, "video/mp4"), 720, 1280)

    listed = sdk.image.get_generations_by_user_id(user_id=user_id, offset=0, limit=50)
    assert generation_id in [g.id for g in listed.object.generations]

    deleted = sdk.image.delete_generation_by_id(id=generation_id)
    assert deleted.status_code == 200
    assert deleted.object.delete_generations_by_pk.id == generation_id

    gone = sdk.image.get_generation_by_id(id=generation_id)
    assert gone.status_code == 200
    assert gone.object.generations_by_pk is None
    assert httpx.get(mp4_url, timeout=30).status_code == 404
    listed = sdk.image.get_generations_by_user_id(user_id=user_id, offset=0, limit=50)
    assert generation_id not in [g.id for g in listed.object.generations]
    again = sdk.image.delete_generation_by_id(id=generation_id)
    assert again.object.delete_generations_by_pk is None


def test_a_generated_image_starts_the_next_video(sdk, transport):
    """Leonardo's `imageType: GENERATED`: the next clip starts from the last frame of the first."""
    transport.model = "VEO3_1FAST"
    size = {"width": 1280, "height": 720, "duration": DURATION}
    first = sdk.motion.create_text_to_video_generation(request={"prompt": "a paper boat drifts", **size})
    generation = poll(sdk, first.object.motion_video_generation_job.generation_id)
    assert generation.status == shared.JobStatus.COMPLETE
    [image] = generation.generated_images
    before = check_video(download(image.motion_mp4_url, "video/mp4"), 1280, 720)

    res = sdk.motion.create_image_to_video_generation(
        request={
            "prompt": "and drifts on",
            "image_id": image.id,
            "image_type": operations.ImageType.GENERATED,
            **size,
        }
    )
    assert json.loads(res.raw_response.request.content)["imageType"] == "GENERATED"
    assert res.status_code == 200
    follow_up = poll(sdk, res.object.motion_video_generation_job.generation_id)
    assert follow_up.status == shared.JobStatus.COMPLETE
    [next_image] = follow_up.generated_images
    assert next_image.image_to_video is True and next_image.id != image.id
    after = check_video(download(next_image.motion_mp4_url, "video/mp4"), 1280, 720)

    def difference(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(float) - b.astype(float)).mean())

    # the new clip's first frame is the old clip's last (up to H.264 twice), not its first
    assert difference(after.first, before.last) < 8
    assert difference(after.first, before.first) > 3 * difference(after.first, before.last)


def test_accepted_fields_have_no_effect(sdk, transport):
    """promptEnhance, promptEnhanceInstruction, frameInterpolation, styleIds and elements are
    accepted as the SDK sends them and change nothing: the same seed renders the same frames."""
    transport.model = "VEO3_1FAST"
    plain = {"prompt": "a kite over a beach", "width": 1280, "height": 720, "duration": DURATION, "seed": 77}
    ignored = {
        "prompt_enhance": True,
        "prompt_enhance_instruction": "make it dramatic",
        "frame_interpolation": True,
        "style_ids": ["111dc692-d470-4eec-b791-3475abac4c46"],
        "elements": [{"ak_uuid": "b2614463-296c-462a-9586-aafdb8f00e36", "weight": 0.5}],
    }
    digests = []
    for request in (plain, plain | ignored):
        res = sdk.motion.create_text_to_video_generation(request=request)
        assert res.status_code == 200
        generation = poll(sdk, res.object.motion_video_generation_job.generation_id)
        assert generation.status == shared.JobStatus.COMPLETE and generation.prompt == plain["prompt"]
        digests.append(probe_mp4(download(generation.generated_images[0].motion_mp4_url, "video/mp4")).digest)
    sent = json.loads(res.raw_response.request.content)
    assert sent["promptEnhance"] is True and sent["elements"][0]["akUUID"] and sent["styleIds"]
    assert digests[0] == digests[1]


def test_sdk_sees_api_errors(sdk):
    with pytest.raises(errors.SDKError) as caught:
        sdk.motion.create_text_to_video_generation(
            request={
                "prompt": "too long for Veo",
                "model": operations.CreateTextToVideoGenerationString.VEO3_FAST,
                "duration": 5,
            }
        )
    assert caught.value.status_code == 400
    body = json.loads(caught.value.body)
    assert "duration" in body["message"]
    assert body["path"] == ["duration"]

    with pytest.raises(errors.SDKError) as caught:  # a key that is not a bearer token
        sdk.user.get_user_self(http_headers={"Authorization": "Token nope"})
    assert caught.value.status_code == 401
    assert json.loads(caught.value.body)["message"]
