"""Leonardo's dialect as pure translation, without a server: wire bodies to drafts (and the errors
they raise), jobs to generation objects for every status, the answers of every route, and the
error body, each checked against the response model the route documents."""

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import partial

import pytest
from pydantic import ValidationError

from reelforge.api.auth import Caller
from reelforge.api.dialects.leonardo import svd, v1, v2, wire
from reelforge.api.wire import client_fields
from reelforge.core.accounts import Account
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import Asset, FailureCode, JobExtras, JobStatus
from reelforge.core.request import Draft, FrameInput, FrameKind, Orientation, OutputFrame
from reelforge.service.uploads import UploadTarget
from testkit.jobs import CREATED, make_job
from testkit.wire import BASE, unsigned

JOB_ID = "0b7f6c1e-5d7a-4f7e-9a53-2c8d3f0a1b2c"
# the generated image ids of JOB_ID's samples 0..3 (the job id XOR a fixed mask per sample)
IMAGE_IDS = [
    "b1541268-d0a0-4033-83ef-98556a3cd6d1",
    "edd23abf-93cd-48b1-9e6a-2c7ba4ffca1a",
    "45e0d1fb-7e9f-4645-ac16-3cb92f665dd1",
    "c3c3db1f-81e5-4c7b-8f72-3c1644418207",
]
UUID4 = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89aAbB][a-f0-9]{3}-[a-f0-9]{12}$")
REQUEST = {"model": "MOTION2", "prompt": "a cat", "width": 832, "height": 480, "duration": 5}

job_in = partial(
    make_job,
    id=JOB_ID,
    owner="owner-1",
    seed=1234,
    request=REQUEST,
    cost_usd=Decimal("0.4000"),
    created_at=CREATED,
    extras=JobExtras(dialect="leonardo"),
)


def owns_nothing(job_id: str) -> bool:
    return False


def owns_job(job_id: str) -> bool:
    return job_id == JOB_ID


def invalid(call, *args) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        call(*args)
    return caught.value


# v1 bodies -> drafts ---------------------------------------------------------------------------


def test_v1_text_to_video_defaults():
    draft = v1.to_draft(v1.TextToVideoBody(prompt="a cat"))
    assert draft == Draft(prompt="a cat", model="MOTION2", duration_is_hint=True)


def test_v1_text_to_video_every_field():
    body = v1.TextToVideoBody.model_validate(
        {
            "prompt": "a cat",
            "model": "VEO3",
            "resolution": "RESOLUTION_1080",
            "width": 1920,
            "height": 1080,
            "duration": 8,
            "negativePrompt": "dogs",
            "seed": 7,
            "isPublic": True,
            "promptEnhance": False,
            "styleIds": ["s"],
        }
    )
    assert v1.to_draft(body) == Draft(
        prompt="a cat",
        model="VEO3",
        negative_prompt="dogs",
        duration=8,
        duration_is_hint=True,
        resolution="1080p",
        width=1920,
        height=1080,
        seed=7,
    )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"duration": "8"}, "duration"),
        ({"seed": True}, "seed"),
        ({"isPublic": "false"}, "isPublic"),
        ({"resolution": "RESOLUTION_4K"}, "resolution"),
        ({"prompt": ""}, "prompt"),
        ({"seed": 4_294_967_296}, "seed"),
    ],
)
def test_v1_body_refuses(change, field):
    with pytest.raises(ValidationError) as caught:
        v1.TextToVideoBody.model_validate({"prompt": "a cat"} | change)
    assert caught.value.errors()[0]["loc"] == (field,)


def test_v1_image_to_video_frames_are_uploads():
    body = v1.ImageToVideoBody(
        prompt="a cat",
        imageId="start-id",
        imageType="UPLOADED",
        endFrameImage={"id": "end-id", "type": "UPLOADED"},
    )
    draft = v1.image_to_draft(body, owns_nothing)
    assert draft.start == FrameInput(FrameKind.UPLOAD, "start-id")
    assert draft.end == FrameInput(FrameKind.UPLOAD, "end-id")
    assert draft.model == "MOTION2" and draft.duration_is_hint


def test_v1_image_to_video_without_end_frame():
    body = v1.ImageToVideoBody(prompt="a cat", imageId="start-id", imageType="UPLOADED")
    draft = v1.image_to_draft(body, owns_nothing)
    assert draft.start == FrameInput(FrameKind.UPLOAD, "start-id") and draft.end is None


def test_v1_generated_images_are_frames_of_the_callers_videos():
    body = v1.ImageToVideoBody(
        prompt="a cat",
        imageId=IMAGE_IDS[0],
        imageType="GENERATED",
        endFrameImage={"id": IMAGE_IDS[2], "type": "GENERATED"},
    )
    draft = v1.image_to_draft(body, owns_job)
    # a start frame continues where that video ended; an end frame is where it began
    assert draft.start == FrameInput(FrameKind.OUTPUT, OutputFrame(JOB_ID, 0, "last"), "imageId")
    assert draft.end == FrameInput(FrameKind.OUTPUT, OutputFrame(JOB_ID, 2, "first"), "endFrameImage")


@pytest.mark.parametrize(
    "body, field, image_id",
    [
        ({"imageId": IMAGE_IDS[0], "imageType": "GENERATED"}, "imageId", IMAGE_IDS[0]),
        ({"imageId": "not-a-uuid", "imageType": "GENERATED"}, "imageId", "not-a-uuid"),
        (
            {
                "imageId": "s",
                "imageType": "UPLOADED",
                "endFrameImage": {"id": IMAGE_IDS[1], "type": "GENERATED"},
            },
            "endFrameImage",
            IMAGE_IDS[1],
        ),
    ],
)
def test_v1_generated_images_not_the_callers_are_refused(body, field, image_id):
    exc = invalid(v1.image_to_draft, v1.ImageToVideoBody(prompt="a cat", **body), owns_nothing)
    assert exc.field == field
    assert exc.message == f"{field}: generated image {image_id} not found"


@pytest.mark.parametrize(
    "canonical, client",
    [
        ("negative_prompt", "negativePrompt"),
        ("size", "width"),
        ("start_image", "imageId"),
        ("end_image", "endFrameImage"),
    ],
)
def test_v1_errors_point_at_the_clients_field(canonical, client):
    with pytest.raises(InvalidRequest) as caught, client_fields(v1.CLIENT_FIELDS):
        raise InvalidRequest(f"{canonical}: not allowed", canonical)
    assert (caught.value.field, caught.value.message) == (client, f"{client}: not allowed")


# v2 bodies -> drafts ---------------------------------------------------------------------------


def v2_body(**parameters) -> v2.GenerationBody:
    return v2.GenerationBody.model_validate(
        {"model": "veo-3.1-lite", "parameters": {"prompt": "a koala"} | parameters}
    )


def test_v2_defaults():
    assert v2.to_draft(v2_body(), owns_nothing) == Draft(
        prompt="a koala", model="veo-3.1-lite", duration=8, resolution="720p", audio=True, samples=1
    )


def test_v2_every_field():
    body = v2_body(
        negative_prompt="dogs",
        quantity=1,
        width=1920,
        height=1080,
        mode="RESOLUTION_1080",
        duration=4,
        motion_has_audio=False,
        seed=9,
        guidances={
            "start_frame": [{"image": {"id": "start-id", "type": "UPLOADED"}}],
            "end_frame": [{"image": {"id": "end-id", "type": "INIT"}}],
        },
    )
    assert v2.to_draft(body, owns_nothing) == Draft(
        prompt="a koala",
        model="veo-3.1-lite",
        negative_prompt="dogs",
        duration=4,
        resolution="1080p",
        width=1920,
        height=1080,
        seed=9,
        audio=False,
        samples=1,
        start=FrameInput(FrameKind.UPLOAD, "start-id"),
        end=FrameInput(FrameKind.UPLOAD, "end-id"),
    )


@pytest.mark.parametrize(
    "motion_has_audio, audio, expected", [(None, False, False), (True, None, True), (False, False, False)]
)
def test_v2_audio_switches(motion_has_audio, audio, expected):
    assert (
        v2.to_draft(v2_body(motion_has_audio=motion_has_audio, audio=audio), owns_nothing).audio is expected
    )


def test_v2_contradicting_audio_switches_are_refused():
    exc = invalid(v2.to_draft, v2_body(motion_has_audio=True, audio=False), owns_nothing)
    assert (exc.field, exc.message) == ("parameters.audio", "parameters: motion_has_audio and audio disagree")


@pytest.mark.parametrize("kind", ["GENERATION", "GENERATED", "VARIATION"])
@pytest.mark.parametrize("frame, which", [("start_frame", "last"), ("end_frame", "first")])
def test_v2_generated_images_are_frames_of_the_callers_videos(kind, frame, which):
    guidances = {frame: [{"image": {"id": IMAGE_IDS[1], "type": kind}}]}
    draft = v2.to_draft(v2_body(guidances=guidances), owns_job)
    field = f"parameters.guidances.{frame}"
    expected = FrameInput(FrameKind.OUTPUT, OutputFrame(JOB_ID, 1, which), field)
    assert (draft.start if frame == "start_frame" else draft.end) == expected

    exc = invalid(v2.to_draft, v2_body(guidances=guidances), owns_nothing)
    assert (exc.field, exc.message) == (field, f"{field}: generated image {IMAGE_IDS[1]} not found")


def test_ids_are_v4_uuids_and_generated_image_ids_decode():
    job = job_in(JobStatus.SUCCEEDED)
    assert [wire.output_id(job, i) for i in range(4)] == IMAGE_IDS
    for sample, image_id in enumerate(IMAGE_IDS):
        assert UUID4.match(image_id)
        assert OutputFrame(JOB_ID, sample) in wire.outputs_of(image_id)
    assert wire.outputs_of("nope") == []
    for _ in range(200):  # any v4 job id keeps its version and variant bits through the masks
        job = job_in(JobStatus.SUCCEEDED, id=str(uuid.uuid4()))
        assert all(UUID4.match(wire.output_id(job, i)) for i in range(4))
    user = wire.user_id("owner-1")
    assert UUID4.match(user) and user == wire.user_id("owner-1") != wire.user_id("owner-2")


def test_timestamps_have_milliseconds():
    assert wire.timestamp(datetime(2024, 5, 1, 10, 11, 22, 707123, tzinfo=UTC)) == "2024-05-01T10:11:22.707Z"
    assert wire.timestamp(datetime(2024, 5, 1, 10, 11, 22, tzinfo=UTC)) == "2024-05-01T10:11:22.000Z"
    cest = timezone(timedelta(hours=2))
    assert wire.timestamp(datetime(2024, 5, 1, 12, 0, 0, 5000, tzinfo=cest)) == "2024-05-01T10:00:00.005Z"


@pytest.mark.parametrize(
    "parameters, loc",
    [
        ({"duration": 5}, ("parameters", "duration")),
        ({"quantity": 2}, ("parameters", "quantity")),
        ({"width": 1000}, ("parameters", "width")),
        ({"seed": "9"}, ("parameters", "seed")),
        ({"audio": "true"}, ("parameters", "audio")),
        (
            {"guidances": {"start_frame": [{"image": {"id": "a", "type": "UPLOADED"}}] * 2}},
            ("parameters", "guidances", "start_frame"),
        ),
    ],
)
def test_v2_body_refuses(parameters, loc):
    with pytest.raises(ValidationError) as caught:
        v2_body(**parameters)
    assert caught.value.errors()[0]["loc"][: len(loc)] == loc


def test_v2_errors_point_into_parameters():
    with pytest.raises(InvalidRequest) as caught, client_fields(v2.CLIENT_FIELDS):
        raise InvalidRequest("duration: must be one of 4, 6, 8", "duration")
    assert caught.value.field == "parameters.duration"
    assert caught.value.message == "parameters.duration: must be one of 4, 6, 8"
    body = wire.render_error(400, caught.value.message, caught.value.field, caught.value.code)
    assert body["path"] == ["parameters", "duration"]


# SVD bodies -> drafts --------------------------------------------------------------------------


def test_svd_draft_and_extras():
    body = svd.MotionSvdBody(imageId="img", isPublic=True, motionStrength=8)
    assert svd.to_draft(body) == Draft(
        prompt="SVD motion",
        model="SVD",
        audio=False,
        orientation=Orientation.START_FRAME,
        start=FrameInput(FrameKind.UPLOAD, "img"),
    )
    assert svd.extras(body, "k1") == JobExtras(
        dialect="leonardo", public=True, motion_strength=8, key_id="k1"
    )


def test_svd_default_motion_strength():
    assert svd.extras(svd.MotionSvdBody(imageId="img"), "key").motion_strength == 5


@pytest.mark.parametrize(
    "flags, field", [({"isVariation": True}, "isVariation"), ({"isInitImage": False}, "isInitImage")]
)
def test_svd_refuses_images_it_does_not_have(flags, field):
    exc = invalid(svd.to_draft, svd.MotionSvdBody(imageId="img", **flags))
    assert exc.field == field
    assert exc.message == f"{field}: only uploaded init images can be animated here"


@pytest.mark.parametrize("strength", [0, 11, "5", True])
def test_svd_motion_strength_range(strength):
    with pytest.raises(ValidationError):
        svd.MotionSvdBody(imageId="img", motionStrength=strength)


# jobs -> generation objects --------------------------------------------------------------------


def expected_generation(status: str, images: list[dict], **changes) -> dict:
    return {
        "id": JOB_ID,
        "createdAt": "2026-01-02T03:04:05.000Z",
        "status": status,
        "prompt": "a cat",
        "negativePrompt": None,
        "imageHeight": 480,
        "imageWidth": 832,
        "modelId": None,
        "public": False,
        "seed": 1234,
        "inferenceSteps": None,
        "guidanceScale": None,
        "photoReal": False,
        "promptMagic": False,
        "generated_images": images,
        "generation_elements": [],
    } | changes


def expected_image(index: int, **changes) -> dict:
    return {
        "id": IMAGE_IDS[index],
        "url": f"{BASE}/media/outputs/{JOB_ID}/1/{index}.jpg",
        "nsfw": False,
        "likeCount": 0,
        "motion": True,
        "motionModel": "MOTION2",
        "motionMP4URL": f"{BASE}/media/outputs/{JOB_ID}/1/{index}.mp4",
        "motionStrength": None,
        "imageToVideo": False,
        "generated_image_variation_generics": [],
    } | changes


def dumped(model) -> dict:
    """The JSON a route sends for this model (FastAPI serialises it the same way)."""
    return json.loads(model.model_dump_json())


@pytest.mark.parametrize(
    "status, word",
    [(JobStatus.QUEUED, "PENDING"), (JobStatus.RUNNING, "PENDING"), (JobStatus.CANCELED, "FAILED")],
)
def test_unfinished_and_canceled_generations(media, status, word):
    generation = dumped(wire.generation(media, job_in(status)))
    assert generation == expected_generation(word, [])


def test_succeeded_generation(media, blobs):
    generation = dumped(wire.generation(media, job_in(JobStatus.SUCCEEDED, outputs=2)))
    assert unsigned(generation, blobs) == expected_generation(
        "COMPLETE", [expected_image(0), expected_image(1)]
    )


@pytest.mark.parametrize("failure", list(FailureCode))
def test_failed_generation_reads_failed_whatever_the_reason(media, failure):
    generation = dumped(
        wire.generation(media, job_in(JobStatus.FAILED, error_code=failure, error_message="it broke"))
    )
    assert generation == expected_generation("FAILED", [])


def test_every_status_has_a_word():
    assert set(wire.STATUS_WORDS) == set(JobStatus)


def test_image_to_video_generation_with_motion_strength(media, blobs):
    job = job_in(
        JobStatus.SUCCEEDED,
        outputs=1,
        extras=JobExtras(dialect="leonardo", public=True, motion_strength=3),
        request=REQUEST
        | {"model": "SVD", "prompt": "SVD motion", "negative_prompt": "blur", "start_image": "asset-1"},
    )
    assert unsigned(dumped(wire.generation(media, job)), blobs) == expected_generation(
        "COMPLETE",
        [expected_image(0, motionModel="SVD", motionStrength=3, imageToVideo=True)],
        prompt="SVD motion",
        negativePrompt="blur",
        public=True,
    )


@pytest.mark.parametrize("status", list(JobStatus))
def test_generation_answers_validate(media, status):
    job = job_in(status, outputs=1 if status is JobStatus.SUCCEEDED else 0)
    generation = dumped(wire.generation(media, job))
    assert dumped(wire.LeonardoGeneration.model_validate(generation)) == generation
    for body in ({"generations_by_pk": generation}, {"generations_by_pk": None}):
        assert dumped(v1.LeonardoGenerationResponse.model_validate(body)) == body
    listing = {"generations": [generation]}
    assert dumped(v1.LeonardoUserGenerationsResponse.model_validate(listing)) == listing


def test_generation_model_takes_no_other_keys(media):
    generation = dumped(wire.generation(media, job_in())) | {"error": "no such field"}
    with pytest.raises(ValidationError):
        wire.LeonardoGeneration.model_validate(generation)


# the other answers -----------------------------------------------------------------------------


def test_created_answers():
    job = job_in()
    cost = {"amount": "0.4000", "unit": "DOLLARS"}
    v1_job = {"generationId": JOB_ID, "apiCreditCost": None, "cost": cost}
    assert dumped(v1.created(job)) == v1_job
    assert dumped(v2.created(job)) == {"generationId": JOB_ID, "cost": cost}
    for model, body in [
        (v1.LeonardoMotionVideoResponse, {"motionVideoGenerationJob": v1_job}),
        (svd.LeonardoMotionSvdResponse, {"motionSvdGenerationJob": v1_job}),
        (v2.LeonardoV2GenerateResponse, {"generate": dumped(v2.created(job))}),
    ]:
        assert dumped(model.model_validate(body)) == body


def test_deleted_answers():
    for model, key in [
        (v1.LeonardoDeleteGenerationResponse, "delete_generations_by_pk"),
        (v1.LeonardoDeleteInitImageResponse, "delete_init_images_by_pk"),
    ]:
        for body in ({key: {"id": JOB_ID}}, {key: None}):
            assert dumped(model.model_validate(body)) == body


CALLER = Caller(id="user-id", key_id="key-id", name="user-name")


def test_me_without_an_account_reports_the_servers_workers_and_no_balance():
    """Open mode: a key is a user without an account, so no limit of its own and no balance."""
    details = dumped(v1.user_details(CALLER, None, workers=2))
    assert details == {
        "user": {
            "id": "a077b319-72f8-42c2-bd6d-f3d4f30f1353",
            "username": "user-name",
        },  # derived from "user-id"
        "tokenRenewalDate": None,
        "paidTokens": None,
        "subscriptionTokens": 0,
        "subscriptionGptTokens": 0,
        "subscriptionModelTokens": 0,
        "apiConcurrencySlots": 2,
        "apiPaidTokens": None,
        "apiSubscriptionTokens": 0,
        "apiPlanTokenRenewalDate": None,
        "apiBalance": None,
    }
    body = {"user_details": [details]}
    assert dumped(v1.LeonardoMeResponse.model_validate(body)) == body
    assert v1.user_details(CALLER, None, workers=0).apiConcurrencySlots == 1


def test_me_reports_the_accounts_balance_and_concurrency_slots():
    account = Account("user-id", "user-name", CREATED, balance_usd=Decimal("12.34"), concurrency=3)
    details = dumped(v1.user_details(CALLER, account, workers=8))
    assert details["apiConcurrencySlots"] == 3
    assert details["apiBalance"] == {"amount": "12.3400", "unit": "DOLLARS"}
    unlimited = Account("user-id", "user-name", CREATED)
    details = dumped(v1.user_details(CALLER, unlimited, workers=8))
    assert (details["apiConcurrencySlots"], details["apiBalance"]) == (8, None)


def test_init_image_answers(media, blobs):
    asset = Asset(
        id="asset-1", owner="owner-1", extension="png", key="uploads/asset-1.png", created_at=CREATED
    )
    fields = {"key": asset.key, "asset_id": asset.id, "signature": "abc"}
    upload = dumped(v1.init_image_upload(asset, UploadTarget(f"{BASE}/uploads", fields)))
    assert upload == {
        "id": "asset-1",
        "url": f"{BASE}/uploads",
        "key": asset.key,
        "fields": json.dumps(fields),
    }
    body = {"uploadInitImage": upload}
    assert dumped(v1.LeonardoUploadInitImageResponse.model_validate(body)) == body

    image = dumped(v1.init_image(media, asset))
    assert unsigned(image, blobs) == {
        "id": "asset-1",
        "url": f"{BASE}/media/uploads/asset-1.png",
        "createdAt": "2026-01-02T03:04:05.000Z",
    }
    for body in ({"init_images_by_pk": image}, {"init_images_by_pk": None}):
        assert dumped(v1.LeonardoInitImageResponse.model_validate(body)) == body


# errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, message, field, code, path",
    [
        (
            400,
            "parameters.duration: bad",
            "parameters.duration",
            "invalid_request",
            ["parameters", "duration"],
        ),
        (400, "request body is not valid JSON", None, "invalid_request", []),
        (401, "missing or malformed API key", None, "unauthorized", []),
        (500, "internal server error", None, "internal_error", []),
    ],
)
def test_render_error(status, message, field, code, path):
    body = wire.render_error(status, message, field, code)
    assert body == {
        "error": message,
        "message": message,
        "path": path,
        "locations": [],
        "extensions": {"code": code, "status": status},
    }
    assert wire.LeonardoError.model_validate(body).model_dump() == body


def test_documented_errors_use_the_error_body():
    documented = wire.errors(400, 401, 500)
    assert set(documented) == {400, 401, 500}
    assert all(entry["model"] is wire.LeonardoError for entry in documented.values())
