"""The HighwayAPI dialect's translation, without a server: wire bodies -> Draft, Job -> the Novita
task object for every status, and errors, each answer checked against the response model
`/openapi.json` documents.

A response model must keep every key the mapping answers and add none (FastAPI serializes the
answer through it), so each check compares the model's dump with the mapping's output.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from pydantic import ValidationError

from reelforge.api.dialects import highway as dialect
from reelforge.api.wire import client_fields
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import FailureCode, JobExtras, JobStatus
from reelforge.core.request import Draft, FrameInput, FrameKind, Orientation
from testkit.jobs import CREATED, make_job
from testkit.wire import MEDIA_URL_TTL, assert_answers, unsigned

STARTED = CREATED + timedelta(seconds=2)
FINISHED = CREATED + timedelta(seconds=30)

job_in = partial(
    make_job,
    id="t1",
    seed=7,
    request={"model": "veo-3.1-lite", "prompt": "p", "duration": 4, "audio": False, "samples": 2},
    cost_usd=Decimal("0.2000"),
    created_at=CREATED,
    extras=JobExtras(dialect="highway", task_type="VEO_3_1_LITE_T2V"),
)


def ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


# wire body -> Draft -------------------------------------------------------------------------------


def test_text_to_video_defaults():
    body = dialect.HighwayTextToVideoBody.model_validate({"prompt": "p"})
    assert dialect.to_draft(body) == Draft(
        prompt="p",
        model="veo-3.1-lite",
        duration=8,
        resolution="720p",
        orientation=Orientation.LANDSCAPE,
        audio=False,
        samples=1,
    )


def test_every_field_maps_onto_the_draft():
    body = dialect.HighwayFirstLastFrameBody.model_validate(
        {
            "prompt": "p",
            "image": "https://example.com/a.png",
            "last_frame_image": "AAAA",
            "seed": 5,
            "duration": 6.0,
            "resolution": "1080p",
            "aspect_ratio": "9:16",
            "sample_count": 3,
            "generate_audio": True,
            "negative_prompt": "blur",
            "person_generation": "dont_allow",
            "unknown": "ignored",
        }
    )
    assert dialect.to_draft(body, body.image, body.last_frame_image) == Draft(
        prompt="p",
        model="veo-3.1-lite",
        negative_prompt="blur",
        duration=6,
        resolution="1080p",
        orientation=Orientation.PORTRAIT,
        audio=True,
        seed=5,
        samples=3,
        person_generation="dont_allow",
        start=FrameInput(FrameKind.SOURCE, "https://example.com/a.png"),
        end=FrameInput(FrameKind.SOURCE, "AAAA"),
    )


def test_image_to_video_has_a_start_frame_only():
    body = dialect.HighwayImageToVideoBody.model_validate(
        {"prompt": "p", "image": "data:image/png;base64,AAAA"}
    )
    draft = dialect.to_draft(body, body.image)
    assert draft.start == FrameInput(FrameKind.SOURCE, "data:image/png;base64,AAAA") and draft.end is None


@pytest.mark.parametrize(
    "model, fields, loc",
    [
        (dialect.HighwayTextToVideoBody, {"prompt": "x" * 2049}, "prompt"),
        (dialect.HighwayImageToVideoBody, {"prompt": "x" * 10_001, "image": "i"}, "prompt"),
        (dialect.HighwayTextToVideoBody, {}, "prompt"),
        (dialect.HighwayImageToVideoBody, {"prompt": "p"}, "image"),
        (dialect.HighwayFirstLastFrameBody, {"prompt": "p", "image": "i"}, "last_frame_image"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "duration": "8"}, "duration"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "duration": 5}, "duration"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "resolution": "720P"}, "resolution"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "aspect_ratio": "1:1"}, "aspect_ratio"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "sample_count": 5}, "sample_count"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "sample_count": "2"}, "sample_count"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "seed": True}, "seed"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "generate_audio": "false"}, "generate_audio"),
        (dialect.HighwayTextToVideoBody, {"prompt": "p", "enhance_prompt": "yes"}, "enhance_prompt"),
        (
            dialect.HighwayTextToVideoBody,
            {"prompt": "p", "person_generation": "allow_all"},
            "person_generation",
        ),
    ],
)
def test_body_refusals(model, fields, loc):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(fields)
    assert caught.value.errors()[0]["loc"][0] == loc


@pytest.mark.parametrize(
    "canonical, client",
    [
        ("size", "resolution"),
        ("audio", "generate_audio"),
        ("samples", "sample_count"),
        ("start_image", "image"),
        ("end_image", "last_frame_image"),
    ],
)
def test_service_errors_are_relabelled_with_the_clients_field(canonical, client):
    with pytest.raises(InvalidRequest) as caught, client_fields(dialect.CLIENT_FIELDS):
        raise InvalidRequest(f"{canonical}: not allowed", canonical)
    assert (caught.value.field, caught.value.message) == (client, f"{client}: not allowed")


def test_task_submitted():
    assert_answers(dialect.HighwayTaskSubmitted, {"task_id": "t1"})


# Job -> wire body ---------------------------------------------------------------------------------


def test_a_queued_task(media):
    body = dialect.task_result(media, job_in(JobStatus.QUEUED), CREATED + timedelta(seconds=1))
    assert body == {
        "task": {
            "task_id": "t1",
            "task_type": "VEO_3_1_LITE_T2V",
            "status": "TASK_STATUS_QUEUED",
            "reason": "",
            "eta": 0,
            "progress_percent": 0,
        },
        "images": [],
        "videos": [],
        "audios": [],
        "extra": {
            "seed": "7",
            "debug_info": {
                "request_info": "",
                "submit_time_ms": ms(CREATED),
                "execute_time_ms": "0",
                "complete_time_ms": "0",
            },
        },
    }
    assert_answers(dialect.HighwayTaskResult, body)


def test_a_running_task_estimates_the_time_left(media):
    job = job_in(JobStatus.RUNNING, started_at=STARTED, progress=25)
    body = dialect.task_result(media, job, STARTED + timedelta(seconds=10))
    assert body["task"]["status"] == "TASK_STATUS_PROCESSING"
    assert (body["task"]["progress_percent"], body["task"]["eta"]) == (25, 30)
    assert body["videos"] == [] and body["extra"]["debug_info"]["execute_time_ms"] == ms(STARTED)
    assert_answers(dialect.HighwayTaskResult, body)


def test_a_running_task_without_progress_has_no_estimate(media):
    job = job_in(JobStatus.RUNNING, started_at=STARTED, progress=0)
    body = dialect.task_result(media, job, STARTED + timedelta(seconds=10))
    assert (body["task"]["progress_percent"], body["task"]["eta"]) == (0, 0)
    assert_answers(dialect.HighwayTaskResult, body)


def test_a_succeeded_task_lists_every_sample_in_order(media, blobs):
    job = job_in(JobStatus.SUCCEEDED, started_at=STARTED, finished_at=FINISHED, progress=90, outputs=2)
    job.outputs.reverse()  # stored out of order: the answer lists them by index
    body = dialect.task_result(media, job, FINISHED)
    assert body["task"] == {
        "task_id": "t1",
        "task_type": "VEO_3_1_LITE_T2V",
        "status": "TASK_STATUS_SUCCEED",
        "reason": "",
        "eta": 0,
        "progress_percent": 100,
    }
    assert unsigned(body["videos"], blobs) == [
        {
            "video_url": f"http://testserver/media/outputs/t1/1/{i}.mp4",
            "video_url_ttl": str(MEDIA_URL_TTL),
            "video_type": "mp4",
        }
        for i in (0, 1)
    ]
    assert body["extra"]["debug_info"]["complete_time_ms"] == ms(FINISHED)
    assert_answers(dialect.HighwayTaskResult, body)


@pytest.mark.parametrize("code", list(FailureCode))
def test_a_failed_task_gives_its_reason(media, code):
    job = job_in(
        JobStatus.FAILED,
        started_at=STARTED,
        finished_at=FINISHED,
        progress=40,
        error_code=code,
        error_message=f"{code.value}: it broke",
    )
    body = dialect.task_result(media, job, FINISHED)
    assert body["task"]["status"] == "TASK_STATUS_FAILED"
    assert body["task"]["reason"] == f"{code.value}: it broke"
    assert (body["task"]["progress_percent"], body["task"]["eta"], body["videos"]) == (0, 0, [])
    assert_answers(dialect.HighwayTaskResult, body)


def test_a_failed_task_without_a_message(media):
    body = dialect.task_result(media, job_in(JobStatus.FAILED), FINISHED)
    assert body["task"]["reason"] == "generation failed"
    assert_answers(dialect.HighwayTaskResult, body)


def test_a_canceled_task_is_failed(media):
    body = dialect.task_result(media, job_in(JobStatus.CANCELED, finished_at=FINISHED), FINISHED)
    assert (body["task"]["status"], body["task"]["reason"]) == ("TASK_STATUS_FAILED", "task was canceled")
    assert_answers(dialect.HighwayTaskResult, body)


def test_a_job_from_another_api_has_the_generic_task_type(media):
    body = dialect.task_result(media, job_in(JobStatus.QUEUED, extras=JobExtras(dialect="openai")), CREATED)
    assert body["task"]["task_type"] == "VEO_3_1_LITE"
    assert_answers(dialect.HighwayTaskResult, body)


# errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, field, code, reason",
    [
        (400, "duration", "invalid_request", "INVALID_REQUEST_BODY"),
        (400, None, "invalid_request", "INVALID_REQUEST_BODY"),
        (401, None, "unauthorized", "INVALID_API_KEY"),
        (404, None, "task_not_found", "TASK_NOT_FOUND"),
        (404, None, "not_found", "NOT_FOUND"),
        (405, None, "method_not_allowed", "METHOD_NOT_ALLOWED"),
        (500, None, "internal_error", "INTERNAL_SERVER_ERROR"),
        (418, None, "error", "ERROR"),
    ],
)
def test_render_error(status, field, code, reason):
    body = dialect.render_error(status, "what went wrong", field, code)
    assert body == {
        "code": status,
        "reason": reason,
        "message": "what went wrong",
        "metadata": {"field": field} if field else {},
    }
    assert dialect.HighwayError.model_validate(body).model_dump(exclude_unset=True) == body
