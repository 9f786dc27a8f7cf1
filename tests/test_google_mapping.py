"""The Google dialects' translation (Gemini API and Vertex AI), without a server: predict bodies ->
Draft, Job -> operation for every status, files, models and errors, each answer checked against
the response model `/openapi.json` documents, and the document itself.

The answers are protobuf-style messages: a field left None is omitted from the body, never sent
as null. FastAPI serializes an answer through its model (by alias, in JSON mode), so `wire_of` is
exactly what a client reads, and `assert_answers` checks that the model keeps exactly those keys.
"""

import base64
import json
import uuid
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from pydantic import ValidationError

from reelforge.api.app import create_app
from reelforge.api.dialects.google import files, gemini, vertex, wire
from reelforge.api.wire import client_fields
from reelforge.core.catalog import ModelSpec
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import FailureCode, Job, JobExtras, JobStatus
from reelforge.core.request import MAX_PROMPT, Draft, FrameInput, FrameKind, Orientation
from testkit.jobs import CREATED, make_job
from testkit.wire import BASE, assert_answers, unsigned, wire_of

JOB_ID = "0b6e3d2a-5f4c-4e1a-9d7b-2c8f1e0a3b4c"
HEX = uuid.UUID(JOB_ID).hex
MODEL = "veo-3.1-lite-generate-preview"
FINISHED = CREATED + timedelta(seconds=30)
SCOPE = "projects/p/locations/l/"
VERTEX_NAME = f"{SCOPE}publishers/google/models/veo-3.1-lite-generate-001/operations/{JOB_ID}"
GEMINI_RESPONSE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
VERTEX_RESPONSE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"

job_in = partial(
    make_job,
    id=JOB_ID,
    seed=7,
    request={"model": MODEL, "prompt": "p", "duration": 4, "samples": 2},
    cost_usd=Decimal("0.4000"),
    created_at=CREATED,
    extras=JobExtras(dialect="gemini"),
)


def succeeded(**kwargs) -> Job:
    return job_in(JobStatus.SUCCEEDED, finished_at=FINISHED, outputs=2, **kwargs)


# predict body -> Draft ----------------------------------------------------------------------------


def predict_body(**instance) -> wire.GooglePredictBody:
    return wire.GooglePredictBody.model_validate({"instances": [{"prompt": "p", **instance}]})


def test_defaults_are_the_models_own_landscape_one_sample():
    assert wire.to_draft(MODEL, predict_body()) == Draft(
        prompt="p", model=MODEL, orientation=Orientation.LANDSCAPE, samples=1, person_generation="allow_adult"
    )


def test_every_parameter_maps_onto_the_draft():
    body = wire.GooglePredictBody.model_validate(
        {
            "instances": [
                {
                    "prompt": "p",
                    "image": {"bytesBase64Encoded": "AAAA", "mimeType": "image/png"},
                    "lastFrame": {"inlineData": {"mimeType": "image/png", "data": "BBBB"}},
                }
            ],
            "parameters": {
                "aspectRatio": "9:16",
                "durationSeconds": "6",  # protobuf JSON: an integer may be a decimal string
                "resolution": " 1080P ",
                "negativePrompt": "blur",
                "personGeneration": "allow_all",
                "seed": 4294967295,
                "sampleCount": 3,
                "generateAudio": False,
                "enhancePrompt": True,  # accepted, no effect
            },
            "webhookConfig": {"uri": "https://example.com"},  # accepted, no effect
        }
    )
    assert wire.to_draft(MODEL, body) == Draft(
        prompt="p",
        model=MODEL,
        negative_prompt="blur",
        duration=6,
        resolution="1080p",
        orientation=Orientation.PORTRAIT,
        audio=False,
        seed=4294967295,
        samples=3,
        person_generation="allow_all",
        start=FrameInput(FrameKind.BASE64, "AAAA", "instances.0.image.bytesBase64Encoded"),
        end=FrameInput(FrameKind.BASE64, "BBBB", "instances.0.lastFrame.inlineData.data"),
    )


@pytest.mark.parametrize("name", ["gcsUri", "uri"])
def test_an_image_by_http_url_is_a_source(name):
    draft = wire.to_draft(MODEL, predict_body(image={name: "https://example.com/cat.png"}))
    assert draft.start == FrameInput(
        FrameKind.SOURCE, "https://example.com/cat.png", f"instances.0.image.{name}"
    )


@pytest.mark.parametrize(
    "image, field, message",
    [
        (
            {},
            "instances.0.image",
            "instances.0.image: give exactly one of bytesBase64Encoded, inlineData, gcsUri or uri",
        ),
        (
            {"bytesBase64Encoded": "AAAA", "uri": "https://example.com/a.png"},
            "instances.0.image",
            "instances.0.image: give exactly one of bytesBase64Encoded, inlineData, gcsUri or uri",
        ),
        (
            {"gcsUri": "gs://bucket/cat.png"},
            "instances.0.image.gcsUri",
            "instances.0.image.gcsUri: gs:// URIs cannot be read here; "
            "send bytesBase64Encoded or an http(s) URL",
        ),
        (
            {"uri": "GS://bucket/cat.png"},
            "instances.0.image.uri",
            "instances.0.image.uri: gs:// URIs cannot be read here; "
            "send bytesBase64Encoded or an http(s) URL",
        ),
    ],
)
def test_unusable_images_are_refused(image, field, message):
    with pytest.raises(InvalidRequest) as caught:
        wire.to_draft(MODEL, predict_body(image=image))
    assert (caught.value.field, caught.value.message) == (field, message)


@pytest.mark.parametrize("name", ["video", "referenceImages", "mask"])
def test_unsupported_instance_fields_are_refused(name):
    with pytest.raises(InvalidRequest) as caught:
        wire.to_draft(MODEL, predict_body(**{name: {} if name != "referenceImages" else []}))
    assert caught.value.field == f"instances.0.{name}"
    assert caught.value.message == f"instances.0.{name}: not supported by {MODEL}"


A = {"instances": [{"prompt": "a"}]}


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"instances": []}, ("instances",)),
        ({"instances": [{"prompt": "a"}, {"prompt": "b"}]}, ("instances",)),
        ({"instances": [{}]}, ("instances", 0, "prompt")),
        ({"instances": [{"prompt": ""}]}, ("instances", 0, "prompt")),
        ({"instances": [{"prompt": "p" * (MAX_PROMPT + 1)}]}, ("instances", 0, "prompt")),
        (A | {"parameters": {"negativePrompt": "n" * 10_001}}, ("parameters", "negativePrompt")),
        ({"instances": [{"prompt": "a", "image": {"uri": "u" * 8193}}]}, ("instances", 0, "image", "uri")),
        ({"parameters": {}}, ("instances",)),
        (A | {"parameters": {"durationSeconds": True}}, ("parameters", "durationSeconds")),
        (A | {"parameters": {"durationSeconds": "4s"}}, ("parameters", "durationSeconds")),
        (A | {"parameters": {"durationSeconds": 4.5}}, ("parameters", "durationSeconds")),
        (A | {"parameters": {"durationSeconds": 0}}, ("parameters", "durationSeconds")),
        (A | {"parameters": {"aspectRatio": "1:1"}}, ("parameters", "aspectRatio")),
        (A | {"parameters": {"seed": -1}}, ("parameters", "seed")),
        (A | {"parameters": {"seed": 4294967296}}, ("parameters", "seed")),
        (A | {"parameters": {"sampleCount": 5}}, ("parameters", "sampleCount")),
        (A | {"parameters": {"generateAudio": "false"}}, ("parameters", "generateAudio")),
        (A | {"parameters": {"personGeneration": "everyone"}}, ("parameters", "personGeneration")),
        ({"instances": [{"prompt": "a", "image": {"inlineData": {}}}]}, ("instances", 0, "image")),
    ],
)  # fmt: skip
def test_body_refusals(body, loc):
    with pytest.raises(ValidationError) as caught:
        wire.GooglePredictBody.model_validate(body)
    assert caught.value.errors()[0]["loc"][: len(loc)] == loc


@pytest.mark.parametrize(
    "canonical, client",
    [
        ("prompt", "instances.0.prompt"),
        ("duration", "parameters.durationSeconds"),
        ("size", "parameters.resolution"),
        ("resolution", "parameters.resolution"),
        ("audio", "parameters.generateAudio"),
        ("samples", "parameters.sampleCount"),
        ("seed", "parameters.seed"),
        ("start_image", "instances.0.image"),
        ("end_image", "instances.0.lastFrame"),
        ("person_generation", "parameters.personGeneration"),
    ],
)
def test_service_errors_are_relabelled_with_the_clients_field(canonical, client):
    with pytest.raises(InvalidRequest) as caught, client_fields(wire.CLIENT_FIELDS):
        raise InvalidRequest(f"{canonical}: not allowed", canonical)
    assert (caught.value.field, caught.value.message) == (client, f"{client}: not allowed")


def test_vertex_parameters_extend_the_shared_ones():
    body = vertex.VertexPredictBody.model_validate(
        {
            "instances": [{"prompt": "p"}],
            "parameters": {
                "durationSeconds": 4,
                "storageUri": "gs://bucket/out/",
                "resizeMode": "crop",
                "compressionQuality": "lossless",
                "fps": "24",
                "pubsubTopic": "projects/p/topics/t",
            },
        }
    )
    vertex.check_parameters(MODEL, body.parameters)
    assert wire.to_draft(MODEL, body).duration == 4
    assert (body.parameters.storageUri, body.parameters.fps) == ("gs://bucket/out/", 24)


def test_vertex_renders_at_24_fps_only():
    parameters = vertex.VertexParameters.model_validate({"fps": 30})
    with pytest.raises(InvalidRequest) as caught:
        vertex.check_parameters(MODEL, parameters)
    assert caught.value.field == "parameters.fps"
    assert caught.value.message == f"parameters.fps: {MODEL} renders at 24 fps only"


@pytest.mark.parametrize("fields, loc", [({"resizeMode": "stretch"}, "resizeMode"), ({"fps": True}, "fps")])
def test_vertex_parameter_refusals(fields, loc):
    with pytest.raises(ValidationError) as caught:
        vertex.VertexParameters.model_validate(fields)
    assert caught.value.errors()[0]["loc"] == (loc,)


def test_operation_ids_are_uuids_with_or_without_dashes():
    assert wire.job_id_of(JOB_ID) == wire.job_id_of(HEX) == JOB_ID
    with pytest.raises(NotFound, match="operation not-a-uuid not found"):
        wire.job_id_of("not-a-uuid")


@pytest.mark.parametrize(
    "name, found",
    [
        (VERTEX_NAME, JOB_ID),
        (f"publishers/google/models/m/operations/{JOB_ID}", JOB_ID),
        ("x/operations/anything", "anything"),  # not a UUID: job_id_of refuses it next
        (f"operations/{JOB_ID}", None),
        (f"{VERTEX_NAME}/more", None),
        (JOB_ID, None),
    ],
)
def test_the_operation_id_in_an_operation_name(name, found):
    if found is None:
        with pytest.raises(NotFound, match=f"operation {name} not found"):
            vertex.operation_id_in(name)
    else:
        assert vertex.operation_id_in(name) == found


def test_the_answer_to_predict():
    assert_answers(wire.GoogleStartedOperation, {"name": f"models/{MODEL}/operations/{JOB_ID}"})


# Job -> Gemini operation --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING])
def test_a_pending_gemini_operation_is_its_name_only(status):
    body = wire_of(gemini.operation(BASE, job_in(status, progress=40)))
    assert body == {"name": f"models/{MODEL}/operations/{JOB_ID}", "done": False}
    assert_answers(gemini.GeminiOperation, body)


def test_a_succeeded_gemini_operation_links_every_sample():
    body = wire_of(gemini.operation(BASE, succeeded()))
    assert body == {
        "name": f"models/{MODEL}/operations/{JOB_ID}",
        "done": True,
        "response": {
            "@type": GEMINI_RESPONSE,
            "generateVideoResponse": {
                "generatedSamples": [
                    {"video": {"uri": f"{BASE}/v1beta/files/{HEX}v{i}:download?alt=media"}} for i in (0, 1)
                ]
            },
        },
    }
    assert_answers(gemini.GeminiOperation, body)


FAILURE_CODES = {
    FailureCode.INVALID_INPUT: 3,
    FailureCode.ENGINE_UNAVAILABLE: 13,
    FailureCode.RENDER_FAILED: 13,
    FailureCode.STORAGE_FULL: 13,
    FailureCode.STORAGE_UNAVAILABLE: 13,
    FailureCode.WORKER_LOST: 13,
    FailureCode.UPSTREAM_REJECTED: 3,
    FailureCode.UPSTREAM_UNAVAILABLE: 14,
}


def test_every_failure_code_has_a_google_rpc_code():
    assert set(FAILURE_CODES) == set(FailureCode)


@pytest.mark.parametrize("code", list(FailureCode))
def test_a_failed_gemini_operation_gives_a_google_rpc_status(code):
    job = job_in(
        JobStatus.FAILED, finished_at=FINISHED, error_code=code, error_message=f"{code.value}: broke"
    )
    body = wire_of(gemini.operation(BASE, job))
    assert body == {
        "name": f"models/{MODEL}/operations/{JOB_ID}",
        "done": True,
        "error": {"code": FAILURE_CODES[code], "message": f"{code.value}: broke"},
    }
    assert_answers(gemini.GeminiOperation, body)


def test_a_failed_operation_without_a_code_or_message_is_internal():
    body = wire_of(gemini.operation(BASE, job_in(JobStatus.FAILED)))
    assert body["error"] == {"code": 13, "message": "video generation failed"}
    assert_answers(gemini.GeminiOperation, body)


def test_a_canceled_gemini_operation_is_cancelled():
    body = wire_of(gemini.operation(BASE, job_in(JobStatus.CANCELED, finished_at=FINISHED)))
    assert body == {
        "name": f"models/{MODEL}/operations/{JOB_ID}",
        "done": True,
        "error": {"code": 1, "message": "the operation was canceled"},
    }
    assert_answers(gemini.GeminiOperation, body)


# Job -> Vertex operation --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING])
def test_a_pending_vertex_operation_is_its_name_only(media, status):
    body = wire_of(vertex.operation(media, job_in(status), VERTEX_NAME))
    assert body == {"name": VERTEX_NAME, "done": False}
    assert_answers(vertex.VertexOperation, body)


def test_a_succeeded_vertex_operation_has_the_videos_inline(media, blobs):
    job = succeeded(extras=JobExtras(dialect="vertex"))
    videos = {out.index: f"mp4 bytes of sample {out.index}".encode() for out in job.outputs}
    for out in job.outputs:
        blobs.put_bytes(out.video_key, videos[out.index])
    body = wire_of(vertex.operation(media, job, VERTEX_NAME))
    assert body == {
        "name": VERTEX_NAME,
        "done": True,
        "response": {
            "@type": VERTEX_RESPONSE,
            "raiMediaFilteredCount": 0,
            "videos": [
                {"bytesBase64Encoded": base64.b64encode(videos[i]).decode(), "mimeType": "video/mp4"}
                for i in (0, 1)
            ],
        },
    }
    assert_answers(vertex.VertexOperation, body)


def test_a_succeeded_vertex_operation_with_a_storage_uri_has_urls(media, blobs):
    job = succeeded(extras=JobExtras(dialect="vertex", storage_uri="gs://bucket/out/"))
    body = wire_of(vertex.operation(media, job, VERTEX_NAME))
    assert unsigned(body["response"]["videos"], blobs) == [
        {"gcsUri": f"{BASE}/media/outputs/{JOB_ID}/1/{i}.mp4", "mimeType": "video/mp4"} for i in (0, 1)
    ]
    assert_answers(vertex.VertexOperation, body)


def test_an_inline_video_that_is_gone_is_not_found(media):
    with pytest.raises(NotFound):
        vertex.operation(media, succeeded(extras=JobExtras(dialect="vertex")), VERTEX_NAME)


@pytest.mark.parametrize("code", list(FailureCode))
def test_a_failed_vertex_operation_gives_a_google_rpc_status(media, code):
    job = job_in(JobStatus.FAILED, error_code=code, error_message="broke")
    body = wire_of(vertex.operation(media, job, VERTEX_NAME))
    assert body == {
        "name": VERTEX_NAME,
        "done": True,
        "error": {"code": FAILURE_CODES[code], "message": "broke"},
    }
    assert_answers(vertex.VertexOperation, body)


def test_a_canceled_vertex_operation_is_cancelled(media):
    body = wire_of(vertex.operation(media, job_in(JobStatus.CANCELED), VERTEX_NAME))
    assert body == {
        "name": VERTEX_NAME,
        "done": True,
        "error": {"code": 1, "message": "the operation was canceled"},
    }
    assert_answers(vertex.VertexOperation, body)


# Gemini files and models --------------------------------------------------------------------------


def test_file_names_and_uris():
    job = succeeded()
    assert files.file_name(job, job.outputs[1]) == f"{HEX}v1"
    assert files.file_uri(BASE, job, job.outputs[1]) == f"{BASE}/v1beta/files/{HEX}v1:download?alt=media"


def test_file_metadata():
    job = succeeded()
    body = wire_of(files.file_resource(BASE, f"{HEX}v1", job, job.outputs[1]))
    assert body == {
        "name": f"files/{HEX}v1",
        "mimeType": "video/mp4",
        "sizeBytes": "1001",
        "createTime": "2026-01-02T03:04:35Z",
        "updateTime": "2026-01-02T03:04:35Z",
        "uri": f"{BASE}/v1beta/files/{HEX}v1:download?alt=media",
        "downloadUri": f"{BASE}/v1beta/files/{HEX}v1:download?alt=media",
        "state": "ACTIVE",
        "source": "GENERATED",
    }
    assert_answers(files.GeminiFile, body)


SPEC = ModelSpec(
    id="veo-3.1-lite",
    durations=(4, 6, 8),
    default_duration=8,
    sizes=("1280x720", "720x1280"),
    price_per_second={"silent": {"720p": 0.03}},
)


def test_a_model_resource():
    body = wire_of(gemini.model_resource(MODEL, SPEC))
    assert body == {
        "name": f"models/{MODEL}",
        "baseModelId": MODEL,
        "version": "veo-3.1-lite",
        "displayName": MODEL,
        "description": "reelforge catalog model veo-3.1-lite: 1280x720, 720x1280, 4/6/8 s",
        "supportedGenerationMethods": ["predictLongRunning"],
    }
    assert_answers(gemini.GeminiModel, body)


NAMES = [(f"model-{i}", SPEC) for i in range(5)]


@pytest.mark.parametrize(
    "size, token, listed, next_token",
    [
        (2, None, [0, 1], "2"),
        (2, "2", [2, 3], "4"),
        (2, "4", [4], None),
        (5, None, [0, 1, 2, 3, 4], None),
        (0, None, [0, 1, 2, 3, 4], None),  # 0: the default page size, 50
        (2, "not-a-number", [0, 1], "2"),  # a token that is no offset starts over
        (2, "9", [], None),
    ],
)
def test_model_pages(size, token, listed, next_token):
    body = wire_of(gemini.model_page(NAMES, size, token))
    assert [m["name"] for m in body["models"]] == [f"models/model-{i}" for i in listed]
    assert body.get("nextPageToken") == next_token
    assert ("nextPageToken" in body) == (next_token is not None)  # absent, not null, on the last page
    assert_answers(gemini.GeminiModelList, body)


# errors -------------------------------------------------------------------------------------------


def test_a_400_about_a_field_names_it_the_way_google_does():
    body = wire.render_error(400, "instances.0.image: bad image", "instances.0.image", "invalid_request")
    assert body == {
        "error": {
            "code": 400,
            "message": "instances[0].image: bad image",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {"field": "instances[0].image", "description": "instances[0].image: bad image"}
                    ],
                }
            ],
        }
    }
    assert_answers(wire.GoogleError, body)


@pytest.mark.parametrize(
    "status, field, google_status",
    [
        (400, None, "INVALID_ARGUMENT"),  # e.g. a body that is not JSON
        (401, None, "UNAUTHENTICATED"),
        (404, "model", "NOT_FOUND"),  # only a 400 names its field
        (405, None, "UNIMPLEMENTED"),
        (409, None, "FAILED_PRECONDITION"),
        (413, None, "INVALID_ARGUMENT"),
        (418, None, "FAILED_PRECONDITION"),
        (500, None, "INTERNAL"),
        (502, None, "INTERNAL"),
        (503, None, "UNAVAILABLE"),
    ],
)
def test_render_error(status, field, google_status):
    body = wire.render_error(status, "what went wrong", field, "code")
    assert body == {"error": {"code": status, "message": "what went wrong", "status": google_status}}
    assert_answers(wire.GoogleError, body)


# the OpenAPI document -----------------------------------------------------------------------------

DOCUMENT = create_app().openapi()
VERTEX_SCOPES = [
    "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}",
    "/v1beta1/projects/{project}/locations/{location}/publishers/google/models/{model}",
    "/v1/publishers/google/models/{model}",
    "/v1beta1/publishers/google/models/{model}",
]
# 402: no credits, 409: Idempotency-Key; a key the Gemini API refuses is 403, Vertex AI's 401
GEMINI_PREDICT = {"200", "400", "402", "403", "404", "409", "429", "500"}
PREDICT = {"200", "400", "401", "402", "404", "409", "429", "500"}
FILE = {"200", "206", "307", "400", "403", "404", "416", "429", "500"}
DOCUMENTED = {
    ("post", "/v1beta/models/{model}:predictLongRunning"): GEMINI_PREDICT,
    ("get", "/v1beta/models/{model}/operations/{operation_id}"): {"200", "403", "404", "429", "500"},
    ("post", "/v1beta/models/{model}/operations/{operation_id}:cancel"): {"200", "403", "404", "429", "500"},
    ("get", "/v1beta/files"): {"200", "400", "403", "429", "500"},
    ("get", "/v1beta/files/{ref}"): FILE,
    ("head", "/v1beta/files/{ref}"): FILE,
    ("delete", "/v1beta/files/{ref}"): {"200", "403", "404", "429", "500"},
    ("get", "/v1beta/models"): {"200", "400", "403", "429", "500"},
    ("get", "/v1beta/models/{model}"): {"200", "403", "404", "429", "500"},
    **{
        (method, f"/v1beta/webhooks{path}"): {"200", "403", "429", "500", *statuses}
        for method, path, statuses in (
            ("post", "", {"400"}),
            ("get", "", {"400"}),
            ("get", "/{webhook_id}", {"404"}),
            ("patch", "/{webhook_id}", {"400", "404"}),
            ("delete", "/{webhook_id}", {"404"}),
            ("post", "/{webhook_id}:ping", {"404"}),
            ("post", "/{webhook_id}:rotateSigningSecret", {"400", "404"}),
        )
    },
    **{
        operation: statuses
        for scope in VERTEX_SCOPES
        for operation, statuses in (
            (("post", f"{scope}:predictLongRunning"), PREDICT),
            (("post", f"{scope}:fetchPredictOperation"), {"200", "400", "401", "404", "429", "500"}),
            (("get", f"{scope}/operations/{{operation_id}}"), {"200", "401", "404", "429", "500"}),
            (("post", f"{scope}/operations/{{operation_id}}:cancel"), {"200", "401", "404", "429", "500"}),
        )
    },
}


def _operations() -> dict[tuple[str, str], dict]:
    return {
        (method, path): operation
        for path, item in DOCUMENT["paths"].items()
        if path.startswith(("/v1beta/", "/v1beta1/", "/v1/projects/", "/v1/publishers/"))
        for method, operation in item.items()
    }


def test_every_google_route_is_documented_with_the_statuses_it_sends():
    operations = _operations()
    assert {op: set(operations[op]["responses"]) for op in operations} == DOCUMENTED
    for operation in operations.values():
        for status, response in operation["responses"].items():
            if status not in ("200", "206", "307") and "application/json" in response.get("content", {}):
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/GoogleError"
                }


def test_every_operation_id_is_unique():
    ids = [op["operationId"] for item in DOCUMENT["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    vertex_ids = {
        op["operationId"] for (_, path), op in _operations().items() if path.startswith(("/v1/", "/v1beta1/"))
    }
    assert len(vertex_ids) == 16


@pytest.mark.parametrize("method", ["get", "head"])
def test_the_file_route_documents_metadata_bytes_and_the_redirect(method):
    responses = DOCUMENT["paths"]["/v1beta/files/{ref}"][method]["responses"]
    assert responses["200"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/GeminiFile"}},
        "video/mp4": {"schema": {"type": "string", "format": "binary"}},
    }
    assert responses["206"]["content"] == {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}
    assert "content" not in responses["307"]


def test_fields_that_may_be_absent_are_optional_not_nullable():
    schemas = DOCUMENT["components"]["schemas"]
    operation = schemas["GeminiOperation"]
    assert operation["required"] == ["name", "done"]
    assert operation["properties"]["error"]["$ref"] == "#/components/schemas/GoogleOperationError"
    assert schemas["GeminiPredictResponse"]["required"] == ["@type", "generateVideoResponse"]
    assert schemas["GoogleErrorStatus"]["required"] == ["code", "message", "status"]
    assert schemas["GeminiModelList"]["properties"]["nextPageToken"]["type"] == "string"
    answers = {cls.__name__ for cls in wire.Message.__subclasses__()}
    assert answers <= set(schemas)
    assert "null" not in json.dumps([schemas[name] for name in answers])
