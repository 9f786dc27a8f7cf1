"""The AI/ML API dialect's translation, without a server: wire body -> Draft (model ids and their
rules), Job -> wire body for every status, the model list and errors, each answer checked against
the response model `/openapi.json` documents.

A response model must keep every key the mapping answers and add none (FastAPI serializes the
answer through it), so each check compares the model's dump with the mapping's output.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from functools import partial

import pytest
from pydantic import ValidationError

from reelforge.api.dialects import aimlapi as dialect
from reelforge.api.wire import client_fields
from reelforge.core.catalog import load_catalog
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import FailureCode, JobStatus
from reelforge.core.request import Draft, FrameInput, FrameKind, Orientation
from testkit.bodies import MISSING, merged
from testkit.jobs import make_job, make_output
from testkit.wire import assert_answers, unsigned

CATALOG = load_catalog()

job_in = partial(make_job, id="j1", seed=1, cost_usd=Decimal("0.2000"))
OUTPUT = make_output(job_in(JobStatus.SUCCEEDED), 0, prefix="outputs/j1")


def draft_of(**fields) -> Draft:
    body = dialect.AimlCreateBody.model_validate({"model": "veo-3.1-lite", "prompt": "p", **fields})
    with client_fields(dialect.CLIENT_FIELDS):
        return dialect.to_draft(CATALOG, body)


# wire body -> Draft -------------------------------------------------------------------------------


def test_every_field_maps_onto_the_draft():
    draft = draft_of(
        image_url="https://example.com/a.png",
        last_image_url="data:image/png;base64,AAAA",
        aspect_ratio="9:16",
        resolution="1080P",
        duration="6",
        generate_audio=False,
        person_generation="dont_allow",
        negative_prompt="blur",
        seed=9,
        enhance_prompt=True,
        auto_fix=False,
        provider="google",
    )
    assert draft == Draft(
        prompt="p",
        model="veo-3.1-lite",
        negative_prompt="blur",
        duration=6,
        resolution="1080p",
        orientation=Orientation.PORTRAIT,
        audio=False,
        seed=9,
        person_generation="dont_allow",
        start=FrameInput(FrameKind.SOURCE, "https://example.com/a.png"),
        end=FrameInput(FrameKind.SOURCE, "data:image/png;base64,AAAA"),
    )


def test_defaults_are_landscape_with_audio_at_the_models_resolution():
    assert draft_of() == Draft(
        prompt="p", model="veo-3.1-lite", resolution="720p", orientation=Orientation.LANDSCAPE, audio=True
    )


@pytest.mark.parametrize(
    "model, target, resolution",
    [
        ("veo-3.1-lite", "veo-3.1-lite", "720p"),
        ("veo-3.1-lite-generate-001", "veo-3.1-lite", "720p"),
        ("google/veo-3.1-lite-generate-001", "veo-3.1-lite", "720p"),
        ("veo-3.1-lite-generate-preview", "veo-3.1-lite", "1080p"),
        ("google/veo-3.1-lite-generate-preview", "veo-3.1-lite", "1080p"),
        # a catalog entry of its own: a last frame needs 8 s there
        ("google/veo-3-1-lite-generate-preview", "veo-3-1-lite-generate-preview", "1080p"),
        ("veo-3-1-lite-generate-preview", "veo-3-1-lite-generate-preview", "1080p"),
        ("google/VEO3_1", "VEO3_1", "720p"),
        ("google/veo-3.1-t2v", "VEO3_1", "1080p"),
        ("google/veo-3.1-t2v-fast", "VEO3_1FAST", "1080p"),
    ],
)
def test_model_ids_and_their_default_resolution(model, target, resolution):
    draft = draft_of(model=model)
    assert (draft.model, draft.resolution) == (target, resolution)


@pytest.mark.parametrize(
    "fields, field, says",
    [
        ({"model": "sora-2"}, "model", "unknown model 'sora-2'"),
        ({"model": "google/sora-2"}, "model", "unknown model"),
        ({"model": "google/veo-3.1-i2v"}, "image_url", "is required for google/veo-3.1-i2v"),
        ({"model": "google/veo-3.1-i2v-fast"}, "image_url", "is required"),
        ({"model": "google/veo-3.1-first-last-image-to-video"}, "image_url", "is required"),
        (
            {"model": "google/veo-3.1-first-last-image-to-video", "image_url": "https://example.com/a.png"},
            "last_image_url",
            "is required",
        ),
    ],
)
def test_model_rules_refuse_naming_the_field(fields, field, says):
    with pytest.raises(InvalidRequest) as caught:
        draft_of(**fields)
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ") and says in caught.value.message


def test_image_urls_become_reference_images_named_by_index():
    urls = ["https://example.com/a.png", "data:image/png;base64,AAAA", "QUFBQQ=="]
    draft = draft_of(model="google/veo-3.1-reference-to-video", image_urls=urls)
    assert (draft.model, draft.resolution, draft.start) == ("VEO3_1", "1080p", None)
    assert draft.reference_images == tuple(
        FrameInput(FrameKind.SOURCE, url, f"image_urls[{index}]") for index, url in enumerate(urls)
    )
    assert draft_of(image_urls=[]).reference_images == ()  # passed on to the catalog of any model
    with pytest.raises(ValidationError) as caught:
        draft_of(image_urls=["https://example.com/a.png", ""])
    assert caught.value.errors()[0]["loc"] == ("image_urls", 1)


@pytest.mark.parametrize("urls", [MISSING, [], None])
def test_the_reference_model_requires_image_urls(urls):
    with pytest.raises(InvalidRequest) as caught:
        draft_of(**merged({"model": "google/veo-3.1-reference-to-video"}, {"image_urls": urls}))
    assert caught.value.field == "image_urls" and "is required" in caught.value.message


@pytest.mark.parametrize(
    "fields, loc",
    [
        ({"duration": 5}, "duration"),
        ({"duration": True}, "duration"),
        ({"duration": "eight"}, "duration"),
        ({"resolution": "4k"}, "resolution"),
        ({"generate_audio": "true"}, "generate_audio"),
        ({"seed": "5"}, "seed"),
        ({"seed": 4_294_967_296}, "seed"),
        ({"prompt": ""}, "prompt"),
        ({"person_generation": "allow_all"}, "person_generation"),
        ({"image_urls": "https://example.com/a.png"}, "image_urls"),
    ],
)
def test_body_refusals(fields, loc):
    with pytest.raises(ValidationError) as caught:
        dialect.AimlCreateBody.model_validate({"model": "veo-3.1-lite", "prompt": "p", **fields})
    assert caught.value.errors()[0]["loc"] == (loc,)


@pytest.mark.parametrize(
    "canonical, client",
    [
        ("size", "resolution"),
        ("audio", "generate_audio"),
        ("start_image", "image_url"),
        ("reference_images", "image_urls"),
        ("samples", "model"),
    ],
)
def test_service_errors_are_relabelled_with_the_clients_field(canonical, client):
    with pytest.raises(InvalidRequest) as caught, client_fields(dialect.CLIENT_FIELDS):
        raise InvalidRequest(f"{canonical}: not allowed", canonical)
    assert (caught.value.field, caught.value.message) == (client, f"{client}: not allowed")


# Job -> wire body ---------------------------------------------------------------------------------


def test_every_status_word(media, blobs):
    expected = {
        JobStatus.QUEUED: ("queued", None, None, None),
        JobStatus.RUNNING: ("generating", None, None, None),
        JobStatus.SUCCEEDED: (
            "completed",
            {"url": "http://testserver/media/outputs/j1/0.mp4"},
            None,
            {"usage": {"credits_used": 400_000, "usd_spent": 0.2}},
        ),
        JobStatus.FAILED: ("error", None, {"name": "render_failed", "message": "boom"}, None),
        JobStatus.CANCELED: (
            "error",
            None,
            {"name": "canceled", "message": "the generation was canceled"},
            None,
        ),
    }
    for status, (word, video, error, meta) in expected.items():
        job = job_in(status, outputs=[OUTPUT] if status is JobStatus.SUCCEEDED else [])
        if status is JobStatus.FAILED:
            job.error_code, job.error_message = "render_failed", "boom"
        body = dialect.generation(media, job)
        assert unsigned(body, blobs) == {
            "id": "j1",
            "status": word,
            "video": video,
            "error": error,
            "meta": meta,
        }
        assert_answers(dialect.AimlGeneration, body)


@pytest.mark.parametrize("code", list(FailureCode))
def test_a_failed_generation_names_its_failure_code(media, code):
    job = job_in(JobStatus.FAILED, error_code=code, error_message="it broke")
    body = dialect.generation(media, job)
    assert body["error"] == {"name": code.value, "message": "it broke"}
    assert_answers(dialect.AimlGeneration, body)


def test_a_failed_generation_without_a_code(media):
    body = dialect.generation(media, job_in(JobStatus.FAILED))
    assert body["error"] == {"name": "generation_failed", "message": "failed"}
    assert_answers(dialect.AimlGeneration, body)


@pytest.mark.parametrize(
    "usd, credits, spent", [("0.2000", 400_000, 0.2), ("0.0000", 0, 0.0), ("1.2345", 2_469_000, 1.2345)]
)
def test_usage_is_the_list_price_in_credits(usd, credits, spent):
    usage = dialect.usage(job_in(JobStatus.SUCCEEDED, cost_usd=Decimal(usd)))
    assert usage == {"credits_used": credits, "usd_spent": spent}
    assert_answers(dialect.AimlUsage, usage)


def test_model_list_names_every_accepted_id():
    body = dialect.model_list(CATALOG)
    assert_answers(dialect.AimlModelList, body)
    ids = [entry["id"] for entry in body["data"]]
    assert ids == sorted(ids)
    for name, _ in CATALOG.names():
        assert name in ids
    for name in dialect.AIML_MODELS:
        assert name in ids
    lite = next(entry for entry in body["data"] if entry["id"] == "google/veo-3-1-lite-generate-preview")
    assert lite["info"]["name"] == "veo-3-1-lite-generate-preview" and lite["info"]["developer"] == "Google"
    assert lite["features"] == ["text-to-video", "image-to-video", "first-last-frame-to-video", "audio"]
    assert lite["endpoints"] == ["/v2/video/generations"]
    assert lite["info"]["price_per_second_usd"]["silent"]["720p"] > 0
    references = next(entry for entry in body["data"] if entry["id"] == "google/veo-3.1-reference-to-video")
    assert references["info"]["name"] == "VEO3_1"
    assert "reference-to-video" in references["features"]


# errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "render, path",
    [(dialect.render_error, "/v2/video/generations"), (dialect.render_models_error, "/models")],
)
@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_render_error(render, path, status):
    body = render(status, "what went wrong", None, "error")
    assert set(body) == {"message", "path", "requestId", "statusCode", "timestamp"}
    assert (body["message"], body["path"], body["statusCode"]) == ("what went wrong", path, status)
    uuid.UUID(body["requestId"])
    assert body["timestamp"].endswith("Z")
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert_answers(dialect.AimlError, body)


def test_the_field_is_named_in_the_message():
    assert dialect.render_error(400, "is required", "image_url", "x")["message"] == "image_url: is required"
    already = dialect.render_error(400, "duration: Input should be 4, 6 or 8", "duration", "x")
    assert already["message"] == "duration: Input should be 4, 6 or 8"
