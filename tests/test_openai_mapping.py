"""The OpenAI videos dialect's translation, without a server: wire body -> Draft, Job -> wire body for
every status, catalog entries -> model objects, the account object, and errors, each answer checked
against the response model `/openapi.json` documents.

A response model must keep every key the mapping answers and add none (FastAPI serializes the
answer through it), so each check compares the model's dump with the mapping's output.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from reelforge.api.dialects.openai import body as request_body
from reelforge.api.dialects.openai import ids, wire
from reelforge.api.dialects.openai.defaults import with_defaults
from reelforge.api.wire import client_fields
from reelforge.core.accounts import Caller
from reelforge.core.catalog import ModelSpec, load_catalog
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import FailureCode, Job, JobStatus
from reelforge.core.request import Draft, FrameInput, FrameKind, Orientation
from reelforge.service.accounts import AccountView
from testkit.catalogs import BROKEN
from testkit.jobs import CREATED, make_job
from testkit.wire import assert_answers


def draft_of(fields: dict, files: dict[str, bytes] | None = None) -> Draft:
    """A JSON or form body as the route translates it."""
    try:
        body = request_body.VideoCreateBody.model_validate(fields)
    except ValidationError as exc:
        raise wire.validation_error(exc) from None
    with client_fields(request_body.CLIENT_FIELDS):
        return request_body.to_draft(body, files or {})


def refusal(fields: dict, files: dict[str, bytes] | None = None) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        draft_of(fields, files)
    return caught.value


def job_in(status: JobStatus, **request) -> Job:
    job = make_job(
        status,
        id="v1",
        seed=7,
        request={"model": "veo-3.1-lite", "prompt": "a red ball", "duration": 4, **request},
        cost_usd=Decimal("0.2000"),
        created_at=CREATED,
        outputs=1 if status is JobStatus.SUCCEEDED else 0,
    )
    if status is not JobStatus.QUEUED:
        job.started_at = CREATED + timedelta(seconds=1)
        job.progress = 40
    if status.is_terminal:
        job.finished_at = CREATED + timedelta(seconds=9)
    return job


# wire body -> Draft -------------------------------------------------------------------------------


def test_every_field_maps_onto_the_draft():
    draft = draft_of(
        {
            "prompt": "a red ball",
            "model": "veo-3.1-lite",
            "seconds": "6",
            "size": " 720X1280 ",
            "input_reference": {"image_url": "https://example.com/a.png"},
            "last_frame": "data:image/png;base64,AAAA",
            "negative_prompt": "blur",
            "seed": 42,
            "generate_audio": False,
            "audio": False,
            "aspect_ratio": "9:16",
            "resolution": " 720P ",
            "person_generation": "dont_allow",
        }
    )
    assert draft == Draft(
        prompt="a red ball",
        model="veo-3.1-lite",
        negative_prompt="blur",
        duration=6,
        resolution="720p",
        width=720,
        height=1280,
        orientation=Orientation.PORTRAIT,
        audio=False,
        seed=42,
        person_generation="dont_allow",
        start=FrameInput(FrameKind.SOURCE, "https://example.com/a.png", "input_reference"),
        end=FrameInput(FrameKind.SOURCE, "data:image/png;base64,AAAA", "last_frame"),
    )


def test_unset_fields_are_left_to_the_model():
    assert draft_of({"prompt": "p"}) == Draft(prompt="p")


@pytest.mark.parametrize("seconds", ["8", 8, " 8 "])
def test_seconds_as_string_or_integer(seconds):
    assert draft_of({"prompt": "p", "seconds": seconds}).duration == 8


@pytest.mark.parametrize(
    "aspect_ratio, orientation", [("16:9", Orientation.LANDSCAPE), ("9:16", Orientation.PORTRAIT)]
)
def test_aspect_ratio_is_an_orientation(aspect_ratio, orientation):
    assert draft_of({"prompt": "p", "aspect_ratio": aspect_ratio}).orientation is orientation


def test_audio_alias():
    assert draft_of({"prompt": "p", "audio": True}).audio is True
    assert draft_of({"prompt": "p", "generate_audio": False}).audio is False


def test_file_parts_are_frame_bytes():
    draft = draft_of({"prompt": "p"}, {"input_reference": b"first", "last_frame": b"last"})
    assert draft.start == FrameInput(FrameKind.BYTES, b"first", "input_reference")
    assert draft.end == FrameInput(FrameKind.BYTES, b"last", "last_frame")


@pytest.mark.parametrize(
    "fields, files, field, says",
    [
        ({"prompt": ""}, None, "prompt", "at least 1 character"),
        ({}, None, "prompt", "Field required"),
        ({"prompt": "p", "seconds": "4.5"}, None, "seconds", "whole seconds"),
        ({"prompt": "p", "seconds": True}, None, "seconds", "whole seconds"),
        ({"prompt": "p", "size": "big"}, None, "size", "WIDTHxHEIGHT"),
        ({"prompt": "p", "seed": "5"}, None, "seed", "valid integer"),
        ({"prompt": "p", "seed": -1}, None, "seed", "greater than or equal"),
        ({"prompt": "p", "generate_audio": "true"}, None, "generate_audio", "valid boolean"),
        ({"prompt": "p", "generate_audio": True, "audio": False}, None, "generate_audio", "disagree"),
        ({"prompt": "p", "aspect_ratio": "4:3"}, None, "aspect_ratio", "16:9"),
        ({"prompt": "p", "person_generation": "everyone"}, None, "person_generation", "allow_adult"),
        ({"prompt": "p", "input_reference": 5}, None, "input_reference", "image URL"),
        ({"prompt": "p", "input_reference": {"url": "x"}}, None, "input_reference", "image_url"),
        ({"prompt": "p", "input_reference": "x"}, {"input_reference": b"x"}, "input_reference", "both"),
    ],
)
def test_refusals_name_the_clients_field(fields, files, field, says):
    error = refusal(fields, files)
    assert error.field == field and error.code == "invalid_request"
    assert error.message.startswith(field) and says in error.message


def test_unknown_parameters_are_refused_by_name():
    error = refusal({"prompt": "p", "sora_mode": 1})
    assert (error.code, error.field, error.message) == (
        "unknown_parameter",
        "sora_mode",
        "Unknown parameter: 'sora_mode'.",
    )


@pytest.mark.parametrize(
    "canonical, client", [("duration", "seconds"), ("width", "size"), ("start_image", "input_reference")]
)
def test_service_errors_are_relabelled_with_the_clients_field(canonical, client):
    with pytest.raises(InvalidRequest) as caught, client_fields(request_body.CLIENT_FIELDS):
        raise InvalidRequest(f"{canonical}: not allowed", canonical)
    assert (caught.value.field, caught.value.message) == (client, f"{client}: not allowed")


# Job -> wire body ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, word, progress, completed",
    [
        (JobStatus.QUEUED, "queued", 0, None),
        (JobStatus.RUNNING, "in_progress", 40, None),
        (JobStatus.SUCCEEDED, "completed", 100, CREATED + timedelta(seconds=9)),
    ],
)
def test_video_object_in_each_live_status(status, word, progress, completed):
    body = wire.video_object(job_in(status))
    assert body == {
        "id": "video_v1",
        "object": "video",
        "model": "veo-3.1-lite",
        "status": word,
        "progress": progress,
        "created_at": int(CREATED.timestamp()),
        "completed_at": int(completed.timestamp()) if completed else None,
        "expires_at": None,
        "prompt": "a red ball",
        "seconds": "4",
        "size": "1280x720",
        "remixed_from_video_id": None,
        "error": None,
        "negative_prompt": None,
        "seed": 7,
        "generate_audio": True,
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "person_generation": "allow_adult",
        "has_input_reference": False,
        "has_last_frame": False,
    }
    assert_answers(wire.OpenAIVideo, body)


@pytest.mark.parametrize("code", list(FailureCode))
def test_a_failed_video_carries_its_failure_code(code):
    job = job_in(JobStatus.FAILED)
    job.error_code, job.error_message = code, "it broke"
    body = wire.video_object(job)
    assert body["status"] == "failed" and body["progress"] == 40
    assert body["error"] == {"code": code.value, "message": "it broke"}
    assert body["completed_at"] == int((CREATED + timedelta(seconds=9)).timestamp())
    assert_answers(wire.OpenAIVideo, body)


def test_a_failed_video_without_a_code():
    body = wire.video_object(job_in(JobStatus.FAILED))
    assert body["error"] == {"code": "generation_failed", "message": "failed"}
    assert_answers(wire.OpenAIVideo, body)


def test_a_canceled_video_is_failed_with_code_canceled():
    body = wire.video_object(job_in(JobStatus.CANCELED))
    assert body["status"] == "failed"
    assert body["error"] == {"code": "canceled", "message": "the video was canceled before it was finished"}
    assert_answers(wire.OpenAIVideo, body)


def test_extension_fields_of_a_portrait_video_with_frames():
    job = job_in(
        JobStatus.QUEUED,
        width=720,
        height=1280,
        negative_prompt="blur",
        audio=False,
        start_image="a1",
        end_image="a2",
        person_generation="allow_all",
    )
    body = wire.video_object(job)
    assert {k: body[k] for k in ("size", "aspect_ratio", "resolution", "generate_audio")} == {
        "size": "720x1280",
        "aspect_ratio": "9:16",
        "resolution": "720p",
        "generate_audio": False,
    }
    assert body["has_input_reference"] and body["has_last_frame"]
    assert (body["negative_prompt"], body["person_generation"]) == ("blur", "allow_all")
    assert_answers(wire.OpenAIVideo, body)


def test_video_list_pages():
    jobs = [job_in(JobStatus.QUEUED) for _ in range(3)]
    for i, job in enumerate(jobs):
        job.id = f"v{i}"
    page = wire.video_list(jobs, limit=2)
    assert [v["id"] for v in page["data"]] == ["video_v0", "video_v1"]
    assert (page["object"], page["first_id"], page["last_id"], page["has_more"]) == (
        "list",
        "video_v0",
        "video_v1",
        True,
    )
    assert_answers(wire.OpenAIVideoList, page)
    last = wire.video_list(jobs[2:], limit=2)
    assert (last["first_id"], last["last_id"], last["has_more"]) == ("video_v2", "video_v2", False)


def test_an_empty_list():
    page = wire.video_list([], limit=20)
    assert page == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    assert_answers(wire.OpenAIVideoList, page)


CATALOG = load_catalog()


def test_model_objects_carry_the_catalog_entry_under_each_name():
    spec = CATALOG.get("veo-3.1-lite")
    body = wire.model_object("veo-3.1-lite", spec)
    assert body == {
        "id": "veo-3.1-lite",
        "object": "model",
        "created": 0,
        "owned_by": "reelforge",
        "aliases": [
            "google/veo-3.1-lite-generate-001",
            "veo-3.1-lite-generate-001",
            "veo-3.1-lite-generate-preview",
        ],
        "durations": [4, 6, 8],
        "default_duration": 4,
        "sizes": ["1280x720", "720x1280", "1920x1080", "1080x1920"],
        "default_size": "720x1280",
        "audio": True,
        "text_to_video": True,
        "start_frame": True,
        "end_frame": True,
        "max_samples": 4,
        "reference_images": 0,
        "durations_with": {},
        "price_per_second": {"audio": {"720p": 0.05, "1080p": 0.08}, "silent": {"720p": 0.03, "1080p": 0.05}},
        "available": True,
        "unavailable_reason": None,
    }
    alias = wire.model_object("veo-3.1-lite-generate-001", spec)
    assert alias == {**body, "id": "veo-3.1-lite-generate-001"} and alias["id"] in alias["aliases"]
    assert_answers(wire.OpenAIModel, body)
    assert_answers(wire.OpenAIModelList, {"object": "list", "data": [body, alias]})


def test_an_unavailable_model_says_why_and_never_shows_its_engine_options():
    spec = ModelSpec(**{**BROKEN, "available": False, "unavailable_reason": "weights not shipped"})
    body = wire.model_object("broken-ltx", spec)
    assert (body["available"], body["unavailable_reason"]) == (False, "weights not shipped")
    assert (body["text_to_video"], body["end_frame"], body["audio"]) == (True, False, False)
    assert body["price_per_second"] == {"silent": {"720p": 0.05}}
    assert "engine" not in body and "engine_options" not in body
    assert "/nonexistent" not in json.dumps(body)
    assert_answers(wire.OpenAIModel, body)


def account_view(**fields) -> AccountView:
    defaults = {
        "id": "a1",
        "name": "studio",
        "balance_usd": None,
        "concurrency": None,
        "queued": 0,
        "running": 0,
    }
    return AccountView(**{**defaults, **fields})


def test_the_account_object():
    caller = Caller(id="a1", key_id="k1", name="laptop", admin=True, rpm=7, prefix="rf_Ab3dE9xQ")
    view = account_view(balance_usd=Decimal("12.34"), concurrency=3, queued=2, running=1)
    body = wire.account_object(view, caller, rpm=7, read_rpm=3000)
    assert body == {
        "object": "account",
        "id": "a1",
        "name": "studio",
        "balance_usd": "12.3400",
        "concurrency": 3,
        "rpm": 7,
        "read_rpm": 3000,
        "jobs": {"queued": 2, "running": 1},
        "key": {"prefix": "rf_Ab3dE9xQ", "name": "laptop", "admin": True},
    }
    assert_answers(wire.OpenAIAccount, body)


@pytest.mark.parametrize(
    "balance, shown",
    [(None, None), (Decimal(0), "0.0000"), (Decimal("0.0001"), "0.0001"), (Decimal(5), "5.0000")],
)
def test_money_is_a_string_with_four_places_and_null_is_unlimited(balance, shown):
    caller = Caller(id="a1", key_id="k1", name="laptop")
    body = wire.account_object(account_view(balance_usd=balance), caller, rpm=600, read_rpm=3000)
    assert (body["balance_usd"], body["concurrency"]) == (shown, None)
    assert_answers(wire.OpenAIAccount, body)


def test_deleted_object():
    assert_answers(wire.OpenAIVideoDeleted, {"id": "v1", "object": "video.deleted", "deleted": True})


# errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, field, code, kind",
    [
        (400, "seconds", "invalid_request", "invalid_request_error"),
        (400, "sora_mode", "unknown_parameter", "invalid_request_error"),
        (401, None, "unauthorized", "invalid_request_error"),
        (404, None, "not_found", "invalid_request_error"),
        (409, None, "video_not_ready", "invalid_request_error"),
        (500, None, "internal_error", "server_error"),
    ],
)
def test_render_error(status, field, code, kind):
    body = wire.render_error(status, "what went wrong", field, code)
    assert body == {"error": {"message": "what went wrong", "type": kind, "param": field, "code": code}}
    assert_answers(wire.OpenAIError, body)


def test_ids_map_both_ways_and_a_miss_names_the_id_as_sent():
    assert ids.video_id("0b6f") == "video_0b6f"
    assert ids.job_id("video_0b6f") == ids.job_id("0b6f") == "0b6f"
    for given in ("video_0b6f", "0b6f"):
        with pytest.raises(NotFound) as missing, ids.looking_up(given) as job_id:
            raise NotFound(f"generation {job_id} not found")
        assert missing.value.message == f"video {given} not found"


LANDSCAPE = Orientation.LANDSCAPE


@pytest.mark.parametrize(
    "model, fields, expected",
    [
        ("veo-3.1-lite", {}, (4, 720, 1280, None)),
        ("MOTION2", {}, (5, 720, 1280, None)),  # 5 s only: its own length
        ("SVD", {}, (4, 1024, 576, None)),  # no 720x1280: its first size
        ("veo-3.1-lite", {"resolution": "1080p"}, (4, None, None, Orientation.PORTRAIT)),
        ("VEO3", {"duration": 6, "orientation": LANDSCAPE}, (6, None, None, LANDSCAPE)),
        ("veo-3.1-lite", {"width": 1280, "height": 720}, (4, 1280, 720, None)),
    ],
)
def test_openais_defaults_where_the_model_renders_them(model, fields, expected):
    draft = with_defaults(Draft(prompt="p", model=model, **fields), CATALOG.get(model))
    assert (draft.duration, draft.width, draft.height, draft.orientation) == expected
