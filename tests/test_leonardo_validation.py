"""Leonardo v1/v2 input validation over real HTTP: every documented limit and bad input is refused
with 400 (401 without a key, or with one never issued or revoked) in Leonardo's error shape, never
422 or 500, and creates no job.

Decisions asserted here (written down in the dialects' docstrings):
- Numbers and booleans must be JSON numbers and booleans. `"duration": "8"`, `"quantity": "1"`,
  `"public": "false"`, `"isPublic": 1` are refused with 400, not coerced: Leonardo documents them
  as integer / boolean and its GraphQL-backed API does not coerce strings. An integral float
  (`4.0`) is the same JSON number as `4` and is accepted.
- `path` names the field of the client's request, also for checks the catalog makes (a size that
  is not allowed points at the width: `["width"]` in v1, `["parameters", "width"]` in v2).
- `POST /uploads` (the presigned-POST stand-in) is not a Leonardo API route: its refusals are 4xx
  in reelforge's own error shape, and a refused upload leaves no file behind.
"""

import http.client
import json
import re
import socket
import stat
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from testkit.bodies import MISSING, merged
from testkit.images import compressible_png, forged_png, gif_bytes
from testkit.leonardo import V1, Jobs, assert_leonardo_error, user_id_of
from testkit.support import client, make_image, upload_init_image, wait_for_generation

V2 = "/api/rest/v2/generations"
T2V = f"{V1}/generations-text-to-video"
I2V = f"{V1}/generations-image-to-video"
MB = 1024 * 1024


# helpers ---------------------------------------------------------------------------------------


def assert_native_error(resp: httpx.Response, status: int = 400) -> dict:
    """reelforge's own shape, used outside the Leonardo prefixes (uploads, media)."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    body = resp.json()
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert body["error"]["code"] == {400: "invalid_request", 404: "not_found", 409: "conflict"}[status], body
    return body


def reserve(api: httpx.Client, extension: str = "png") -> dict:
    resp = api.post(f"{V1}/init-image", json={"extension": extension})
    assert resp.status_code == 200, resp.text
    upload = resp.json()["uploadInitImage"]
    upload["fields"] = json.loads(upload["fields"])
    return upload


def raw_get(server, raw_path: str, method: str = "GET") -> tuple[int, bytes]:
    """Send the path byte for byte (httpx would normalise `..` away before sending)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, raw_path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def uploads_dir(server) -> Path:
    return server.data_dir / "media" / "uploads"


def files_of(server, asset_id: str) -> list[Path]:
    """Any file the server wrote for this asset, temporary parts included."""
    folder = uploads_dir(server)
    return [p for p in folder.iterdir() if asset_id in p.name] if folder.exists() else []


# fixtures (`api`, a key of the module's own, and `jobs`, its generation list, are conftest.py's) ----


@pytest.fixture(scope="module")
def other(server):
    with client(server, key=f"validation-other-{uuid.uuid4()}") as c:
        yield c


@pytest.fixture(scope="module")
def images(api) -> dict[str, str]:
    """Two uploaded init images of the module's key: `start` and `end`."""
    return {
        "start": upload_init_image(api, make_image(320, 180)),
        "end": upload_init_image(api, make_image(320, 180, left=(10, 200, 10))),
    }


@pytest.fixture(scope="module")
def finished(api) -> dict:
    """One finished generation (4 s at 720p, the cheapest render)."""
    resp = api.post(V2, json={"model": "veo-3.1-lite", "parameters": {"prompt": "owned", "duration": 4}})
    assert resp.status_code == 200, resp.text
    gen = wait_for_generation(api, resp.json()["generate"]["generationId"])
    assert gen["status"] == "COMPLETE", gen
    return gen


# v2 POST /api/rest/v2/generations ----------------------------------------------------------------

V2_BASE = {"prompt": "a koala and a cat", "duration": 4}
P = ["parameters"]

V2_PARAMETER_CASES = [
    pytest.param({"prompt": MISSING}, P + ["prompt"], None, id="prompt-missing"),
    pytest.param({"prompt": ""}, P + ["prompt"], None, id="prompt-empty"),
    pytest.param({"prompt": "x" * 10000}, P + ["prompt"], None, id="prompt-10000"),
    pytest.param({"prompt": None}, P + ["prompt"], None, id="prompt-null"),
    pytest.param({"prompt": 42}, P + ["prompt"], None, id="prompt-number"),
    pytest.param({"negative_prompt": "x" * 1001}, P + ["negative_prompt"], None, id="negative-1001"),
    pytest.param({"quantity": 0}, P + ["quantity"], None, id="quantity-0"),
    pytest.param({"quantity": 2}, P + ["quantity"], None, id="quantity-2"),
    pytest.param({"quantity": "1"}, P + ["quantity"], None, id="quantity-string"),
    pytest.param({"quantity": True}, P + ["quantity"], None, id="quantity-bool"),
    pytest.param({"width": 1000}, P + ["width"], None, id="width-1000"),
    pytest.param({"width": 0}, P + ["width"], None, id="width-0"),
    pytest.param({"width": -1280}, P + ["width"], None, id="width-negative"),
    pytest.param({"width": "1280"}, P + ["width"], None, id="width-string"),
    pytest.param({"height": 600}, P + ["height"], None, id="height-600"),
    pytest.param({"height": 4096}, P + ["height"], None, id="height-4096"),
    pytest.param({"width": 1280, "height": 1280}, P + ["width"], "1280x1280", id="size-1280x1280"),
    pytest.param({"width": 720, "height": 720}, P + ["width"], "720x720", id="size-720x720"),
    pytest.param({"width": 1920, "height": 1920}, P + ["width"], "1920x1920", id="size-1920x1920"),
    pytest.param(
        {"width": 1920, "height": 1080, "mode": "RESOLUTION_720"},
        P + ["width"],
        "1920x1080",
        id="1080-at-720",
    ),
    pytest.param({"width": 1080, "height": 1920}, P + ["width"], "1080x1920", id="1080-at-default-mode"),
    pytest.param(
        {"width": 1280, "height": 720, "mode": "RESOLUTION_1080"}, P + ["width"], "1280x720", id="720-at-1080"
    ),
    pytest.param({"width": 1920, "mode": "RESOLUTION_720"}, P + ["width"], None, id="width-only-1920-at-720"),
    pytest.param({"mode": "RESOLUTION_480"}, P + ["mode"], None, id="mode-480"),
    pytest.param({"mode": "RESOLUTION_4K"}, P + ["mode"], None, id="mode-4k"),
    pytest.param({"mode": "resolution_720"}, P + ["mode"], None, id="mode-lowercase"),
    pytest.param({"mode": "720p"}, P + ["mode"], None, id="mode-720p"),
    pytest.param({"duration": 5}, P + ["duration"], None, id="duration-5"),
    pytest.param({"duration": 10}, P + ["duration"], None, id="duration-10"),
    pytest.param({"duration": 0}, P + ["duration"], None, id="duration-0"),
    pytest.param({"duration": "8"}, P + ["duration"], None, id="duration-string-8"),
    pytest.param({"duration": 8.5}, P + ["duration"], None, id="duration-8.5"),
    pytest.param({"duration": True}, P + ["duration"], None, id="duration-bool"),
    pytest.param(
        {"motion_has_audio": True, "audio": False}, P + ["audio"], "disagree", id="audio-contradicts"
    ),
    pytest.param(
        {"motion_has_audio": False, "audio": True}, P + ["audio"], "disagree", id="audio-contradicts-2"
    ),
    pytest.param({"motion_has_audio": "true"}, P + ["motion_has_audio"], None, id="audio-string"),
    pytest.param({"audio": 1}, P + ["audio"], None, id="audio-number"),
    pytest.param({"seed": -1}, P + ["seed"], None, id="seed-negative"),
    pytest.param({"seed": 4294967296}, P + ["seed"], None, id="seed-2**32"),
    pytest.param({"seed": "42"}, P + ["seed"], None, id="seed-string"),
    pytest.param({"seed": 1.5}, P + ["seed"], None, id="seed-fraction"),
    pytest.param({"seed": True}, P + ["seed"], None, id="seed-bool"),
    pytest.param({"guidances": "start"}, P + ["guidances"], None, id="guidances-not-object"),
    pytest.param(
        {"guidances": {"start_frame": {"image": {"id": "{start}", "type": "UPLOADED"}}}},
        P + ["guidances", "start_frame"],
        None,
        id="start-frame-not-a-list",
    ),
    pytest.param(
        {
            "guidances": {
                "start_frame": [
                    {"image": {"id": "{start}", "type": "UPLOADED"}},
                    {"image": {"id": "{end}", "type": "UPLOADED"}},
                ]
            }
        },
        P + ["guidances", "start_frame"],
        None,
        id="start-frame-2-items",
    ),
    pytest.param(
        {
            "guidances": {
                "start_frame": [{"image": {"id": "{start}", "type": "UPLOADED"}}],
                "end_frame": [
                    {"image": {"id": "{end}", "type": "UPLOADED"}},
                    {"image": {"id": "{start}", "type": "UPLOADED"}},
                ],
            }
        },
        P + ["guidances", "end_frame"],
        None,
        id="end-frame-2-items",
    ),
    *[
        pytest.param(
            {"guidances": {"start_frame": [{"image": {"id": "{start}", "type": kind}}]}},
            P + ["guidances", "start_frame"],
            "generated image",  # an init image's id is no generated image's
            id=f"start-frame-{kind}",
        )
        for kind in ("GENERATED", "GENERATION", "VARIATION")
    ],
    pytest.param(
        {"guidances": {"start_frame": [{"image": {"id": "{start}", "type": "BOGUS"}}]}},
        P + ["guidances", "start_frame", "0", "image", "type"],
        None,
        id="start-frame-type-unknown",
    ),
    pytest.param(
        {"guidances": {"start_frame": [{"image": {"type": "UPLOADED"}}]}},
        P + ["guidances", "start_frame", "0", "image", "id"],
        None,
        id="start-frame-without-id",
    ),
    pytest.param(
        {"guidances": {"start_frame": [{"image": {"id": "{start}"}}]}},
        P + ["guidances", "start_frame", "0", "image", "type"],
        None,
        id="start-frame-without-type",
    ),
    pytest.param(
        {"guidances": {"end_frame": [{"image": {"id": "{end}", "type": "UPLOADED"}}]}},
        P + ["guidances", "end_frame"],
        "start frame",
        id="end-frame-without-start",
    ),
    pytest.param(
        {"guidances": {"start_frame": [{"image": {"id": str(uuid.uuid4()), "type": "UPLOADED"}}]}},
        P + ["guidances", "start_frame"],
        "not found",
        id="start-frame-unknown-image",
    ),
    pytest.param(
        {
            "guidances": {
                "start_frame": [{"image": {"id": "{start}", "type": "UPLOADED"}}],
                "end_frame": [{"image": {"id": "no-such-image", "type": "INIT"}}],
            }
        },
        P + ["guidances", "end_frame"],
        "not found",
        id="end-frame-unknown-image",
    ),
]


@pytest.mark.parametrize("changes, path, says", V2_PARAMETER_CASES)
def test_v2_bad_parameters_are_refused(api, jobs, images, changes, path, says):
    body = {"model": "veo-3.1-lite", "public": False, "parameters": merged(V2_BASE, changes, **images)}
    with jobs.unchanged():
        resp = api.post(V2, json=body)
    assert_leonardo_error(resp, 400, path, says)


V2_BODY_CASES = [
    pytest.param({"model": "veo-9-ultra"}, ["model"], "unknown model", id="model-unknown"),
    pytest.param({"model": "VEO3_1 "}, ["model"], "unknown model", id="model-trailing-space"),
    pytest.param({"model": MISSING}, ["model"], None, id="model-missing"),
    pytest.param({"model": ""}, ["model"], None, id="model-empty"),
    pytest.param({"model": 31}, ["model"], None, id="model-number"),
    pytest.param({"public": "false"}, ["public"], None, id="public-string-false"),
    pytest.param({"public": "true"}, ["public"], None, id="public-string-true"),
    pytest.param({"public": 0}, ["public"], None, id="public-number"),
    pytest.param({"parameters": MISSING}, ["parameters"], None, id="parameters-missing"),
    pytest.param({"parameters": []}, ["parameters"], None, id="parameters-list"),
    pytest.param({"parameters": "a koala"}, ["parameters"], None, id="parameters-string"),
    pytest.param({"parameters": None}, ["parameters"], None, id="parameters-null"),
    # a duration the model does not have: the catalog's refusal points at the v2 field
    pytest.param(
        {"model": "MOTION2", "parameters": {"prompt": "p", "duration": 4, "motion_has_audio": True}},
        ["parameters", "duration"],
        "duration",
        id="motion2-duration",
    ),
]


@pytest.mark.parametrize("changes, path, says", V2_BODY_CASES)
def test_v2_bad_body_fields_are_refused(api, jobs, changes, path, says):
    body = merged({"model": "veo-3.1-lite", "public": False, "parameters": V2_BASE}, changes)
    with jobs.unchanged():
        resp = api.post(V2, json=body)
    assert_leonardo_error(resp, 400, path, says)


def test_v2_model_without_an_end_frame_is_refused_with_the_v2_field(api, jobs, images):
    """A check the catalog makes with a canonical name comes back with the v2 field name."""
    frames = {
        "start_frame": [{"image": {"id": images["start"], "type": "UPLOADED"}}],
        "end_frame": [{"image": {"id": images["end"], "type": "UPLOADED"}}],
    }
    with jobs.unchanged():
        resp = api.post(V2, json={"model": "VEO3", "parameters": {**V2_BASE, "guidances": frames}})
    assert_leonardo_error(resp, 400, ["parameters", "guidances", "end_frame"], "end frame")


RAW_BODIES = [
    pytest.param(
        b'{"model": "veo-3.1-lite", "parameters": {"prompt": "x"', "application/json", id="truncated"
    ),
    pytest.param(b"{'model': 'veo-3.1-lite'}", "application/json", id="single-quotes"),
    pytest.param(b"", "application/json", id="empty"),
    pytest.param(b"null", "application/json", id="null"),
    pytest.param(b"[]", "application/json", id="list"),
    pytest.param(b'"a koala"', "application/json", id="string"),
    pytest.param(b"42", "application/json", id="number"),
    pytest.param(b"\xff\xfe{}", "application/json", id="not-utf8"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", id="deeply-nested"),
    pytest.param(b"model=veo-3.1-lite&prompt=x", "application/x-www-form-urlencoded", id="form-encoded"),
    pytest.param(b"a koala", "text/plain", id="text"),
]


@pytest.mark.parametrize("route", [V2, T2V, I2V])
@pytest.mark.parametrize("raw, content_type", RAW_BODIES)
def test_malformed_or_non_object_bodies_are_400(api, jobs, route, raw, content_type):
    with jobs.unchanged():
        resp = api.post(route, content=raw, headers={"content-type": content_type})
    assert_leonardo_error(resp, 400)


def test_v2_limits_themselves_are_accepted(api, jobs):
    """The edges are inside: 9999-char prompt, 1000-char negative prompt, seed 0 and 2**32-1,
    an integral float duration, each documented size with its mode, agreeing audio switches."""
    accepted = [
        {"prompt": "x" * 9999, "negative_prompt": "n" * 1000, "seed": 4294967295, "quantity": 1},
        {"prompt": "p", "seed": 0, "duration": 4.0, "width": 720, "height": 1280},
        {
            "prompt": "p",
            "width": 1080,
            "height": 1920,
            "mode": "RESOLUTION_1080",
            "audio": False,
            "motion_has_audio": False,
        },
        {
            "prompt": "p",
            "width": 1920,
            "height": 1080,
            "mode": "RESOLUTION_1080",
            "motion_has_audio": True,
            "audio": True,
        },
    ]
    for params in accepted:
        before = jobs.ids()
        resp = api.post(
            V2, json={"model": "veo-3.1-lite", "public": True, "parameters": {"duration": 4, **params}}
        )
        assert resp.status_code == 200, resp.text
        generation_id = resp.json()["generate"]["generationId"]
        assert jobs.ids() == [generation_id, *before]
        assert api.delete(f"{V1}/generations/{generation_id}").status_code == 200


# v1 text-to-video and image-to-video -------------------------------------------------------------

T2V_BASE = {"prompt": "a koala", "model": "VEO3_1", "duration": 4}

V1_TEXT_CASES = [
    pytest.param({"prompt": MISSING}, ["prompt"], None, id="prompt-missing"),
    pytest.param({"prompt": ""}, ["prompt"], None, id="prompt-empty"),
    pytest.param({"prompt": "x" * 10000}, ["prompt"], None, id="prompt-10000"),
    pytest.param({"negativePrompt": "x" * 1001}, ["negativePrompt"], None, id="negative-1001"),
    pytest.param({"resolution": "RESOLUTION_4K"}, ["resolution"], None, id="resolution-4k"),
    pytest.param({"resolution": "720p"}, ["resolution"], None, id="resolution-720p"),
    pytest.param({"resolution": "RESOLUTION_480"}, ["resolution"], "480p", id="480-on-veo"),
    pytest.param(
        {"resolution": "RESOLUTION_720", "width": 1920, "height": 1080},
        ["width"],
        "1920x1080",
        id="1080-at-720",
    ),
    pytest.param(
        {"resolution": "RESOLUTION_1080", "width": 1280, "height": 720},
        ["width"],
        "1280x720",
        id="720-at-1080",
    ),
    pytest.param(
        {"resolution": "RESOLUTION_720", "width": 1280, "height": 1280}, ["width"], "1280x1280", id="square"
    ),
    pytest.param(
        {"resolution": "RESOLUTION_1080", "height": 1280}, ["width"], None, id="height-1280-at-1080"
    ),
    pytest.param({"width": 1000, "height": 1000}, ["width"], "1000x1000", id="1000x1000"),
    pytest.param({"width": 0}, ["width"], None, id="width-0"),
    pytest.param({"width": "1280", "height": 720}, ["width"], None, id="width-string"),
    pytest.param({"duration": 5}, ["duration"], "duration", id="duration-5-veo3_1"),
    pytest.param({"model": "VEO3_1FAST", "duration": 10}, ["duration"], "duration", id="duration-10-fast"),
    pytest.param({"model": "KLING2_5", "duration": 6}, ["duration"], "duration", id="duration-6-kling2_5"),
    pytest.param({"model": "KLING2_1", "duration": 8}, ["duration"], "duration", id="duration-8-kling2_1"),
    pytest.param({"duration": 0}, ["duration"], None, id="duration-0"),
    pytest.param({"duration": -4}, ["duration"], None, id="duration-negative"),
    pytest.param({"duration": "8"}, ["duration"], None, id="duration-string-8"),
    pytest.param({"duration": 4.5}, ["duration"], None, id="duration-4.5"),
    pytest.param({"model": "VEO4"}, ["model"], "unknown model", id="model-unknown"),
    pytest.param({"model": "veo3_1"}, ["model"], "unknown model", id="model-lowercase"),
    pytest.param({"model": 3}, ["model"], None, id="model-number"),
    pytest.param({"isPublic": "false"}, ["isPublic"], None, id="isPublic-string-false"),
    pytest.param({"isPublic": "true"}, ["isPublic"], None, id="isPublic-string-true"),
    pytest.param({"isPublic": 1}, ["isPublic"], None, id="isPublic-number"),
    pytest.param({"promptEnhance": "yes"}, ["promptEnhance"], None, id="promptEnhance-string"),
    pytest.param({"frameInterpolation": 0}, ["frameInterpolation"], None, id="frameInterpolation-number"),
    pytest.param({"seed": -1}, ["seed"], None, id="seed-negative"),
    pytest.param({"seed": 4294967296}, ["seed"], None, id="seed-2**32"),
    pytest.param({"seed": "7"}, ["seed"], None, id="seed-string"),
    pytest.param({"styleIds": "cinematic"}, ["styleIds"], None, id="styleIds-not-list"),
]


@pytest.mark.parametrize("route", [T2V, I2V])
@pytest.mark.parametrize("changes, path, says", V1_TEXT_CASES)
def test_v1_bad_video_fields_are_refused(api, jobs, images, route, changes, path, says):
    base = dict(T2V_BASE)
    if route == I2V:
        base.update(imageId=images["start"], imageType="UPLOADED")
    with jobs.unchanged():
        resp = api.post(route, json=merged(base, changes))
    assert_leonardo_error(resp, 400, path, says)


I2V_BASE = {**T2V_BASE, "imageId": "{start}", "imageType": "UPLOADED"}
END = {"id": "{end}", "type": "UPLOADED"}

V1_IMAGE_CASES = [
    pytest.param({"imageType": MISSING}, ["imageType"], None, id="imageType-missing"),
    pytest.param({"imageType": "INIT"}, ["imageType"], None, id="imageType-INIT"),
    pytest.param({"imageType": "uploaded"}, ["imageType"], None, id="imageType-lowercase"),
    pytest.param({"imageType": None}, ["imageType"], None, id="imageType-null"),
    pytest.param({"imageType": "GENERATED"}, ["imageId"], "generated image", id="imageType-GENERATED"),
    pytest.param({"imageId": MISSING}, ["imageId"], None, id="imageId-missing"),
    pytest.param({"imageId": ""}, ["imageId"], None, id="imageId-empty"),
    pytest.param({"imageId": str(uuid.uuid4())}, ["imageId"], "not found", id="imageId-unknown"),
    pytest.param({"endFrameImage": {"id": "{end}"}}, ["endFrameImage", "type"], None, id="end-without-type"),
    pytest.param({"endFrameImage": {"type": "UPLOADED"}}, ["endFrameImage", "id"], None, id="end-without-id"),
    pytest.param(
        {"endFrameImage": {"id": "{end}", "type": "INIT"}}, ["endFrameImage", "type"], None, id="end-INIT"
    ),
    pytest.param(
        {"endFrameImage": {"id": "{end}", "type": "GENERATED"}},
        ["endFrameImage"],
        "generated image",
        id="end-GENERATED",
    ),
    pytest.param({"endFrameImage": "{end}"}, ["endFrameImage"], None, id="end-not-object"),
    pytest.param(
        {"endFrameImage": {"id": "no-such-image", "type": "UPLOADED"}},
        ["endFrameImage"],
        "not found",
        id="end-unknown",
    ),
    pytest.param({"model": "VEO3", "endFrameImage": END}, ["endFrameImage"], "end frame", id="end-on-VEO3"),
    pytest.param(
        {"model": "VEO3FAST", "endFrameImage": END}, ["endFrameImage"], "end frame", id="end-on-VEO3FAST"
    ),
    pytest.param(
        {"model": "KLING2_5", "duration": 5, "endFrameImage": END},
        ["endFrameImage"],
        "end frame",
        id="end-on-KLING2_5",
    ),
    pytest.param(
        {"model": MISSING, "duration": MISSING, "endFrameImage": END},
        ["endFrameImage"],
        "end frame",
        id="end-on-MOTION2-default",
    ),
    pytest.param({"prompt": MISSING, "endFrameImage": END}, ["prompt"], None, id="prompt-missing"),
]


@pytest.mark.parametrize("changes, path, says", V1_IMAGE_CASES)
def test_v1_bad_image_to_video_fields_are_refused(api, jobs, images, changes, path, says):
    with jobs.unchanged():
        resp = api.post(I2V, json=merged(I2V_BASE, changes, **images))
    assert_leonardo_error(resp, 400, path, says)


def test_v1_documented_sizes_are_accepted(api, jobs):
    """Seed 001's four sizes with their resolution (and the integral float 4.0 as duration)."""
    sizes = [
        ("RESOLUTION_720", 1280, 720),
        ("RESOLUTION_720", 720, 1280),
        ("RESOLUTION_1080", 1920, 1080),
        ("RESOLUTION_1080", 1080, 1920),
    ]
    for resolution, width, height in sizes:
        # images of its own: deleting a generation deletes the init images no other one uses
        start = upload_init_image(api, make_image(320, 180))
        end = upload_init_image(api, make_image(320, 180, left=(10, 200, 10)))
        body = {
            **T2V_BASE,
            "imageId": start,
            "imageType": "UPLOADED",
            "endFrameImage": {"id": end, "type": "UPLOADED"},
            "resolution": resolution,
            "width": width,
            "height": height,
            "duration": 4.0,
            "isPublic": False,
        }
        before = jobs.ids()
        resp = api.post(I2V, json=body)
        assert resp.status_code == 200, resp.text
        generation_id = resp.json()["motionVideoGenerationJob"]["generationId"]
        assert jobs.ids() == [generation_id, *before]
        gen = api.get(f"{V1}/generations/{generation_id}").json()["generations_by_pk"]
        assert (gen["imageWidth"], gen["imageHeight"]) == (width, height)
        assert api.delete(f"{V1}/generations/{generation_id}").status_code == 200


@pytest.mark.parametrize(
    "params, path",
    [
        ({"limit": 0}, ["limit"]),
        ({"limit": 51}, ["limit"]),
        ({"limit": "ten"}, ["limit"]),
        ({"offset": -1}, ["offset"]),
    ],
)
def test_v1_bad_list_query_is_400(api, jobs, params, path):
    resp = api.get(f"{V1}/generations/user/{jobs.user_id}", params=params)
    assert_leonardo_error(resp, 400, path)


# auth and ownership ------------------------------------------------------------------------------

ROUTES = [
    ("POST", V2, {"model": "veo-3.1-lite", "parameters": V2_BASE}),
    ("POST", T2V, T2V_BASE),
    ("POST", I2V, {**T2V_BASE, "imageId": "x", "imageType": "UPLOADED"}),
    ("GET", f"{V1}/generations/{uuid.uuid4()}", None),
    ("DELETE", f"{V1}/generations/{uuid.uuid4()}", None),
    ("GET", f"{V1}/generations/user/{uuid.uuid4()}", None),
    ("GET", f"{V1}/me", None),
    ("POST", f"{V1}/init-image", {"extension": "png"}),
    ("GET", f"{V1}/init-image/{uuid.uuid4()}", None),
    ("DELETE", f"{V1}/init-image/{uuid.uuid4()}", None),
]


ROUTE_IDS = [f"{m} {re.sub('[0-9a-f-]{36}', '{id}', p[10:])}" for m, p, _ in ROUTES]


@pytest.mark.parametrize("method, path, body", ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Token abc", "Basic dXNlcjpwYXNz", "test-key"],
    ids=["none", "empty", "bearer-no-key", "other-scheme", "basic", "no-scheme"],
)
def test_without_a_bearer_key_every_route_is_401(anonymous, method, path, body, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    resp = anonymous.request(method, path, json=body, headers=headers)
    assert_leonardo_error(resp, 401)
    assert resp.headers["www-authenticate"].lower().startswith("bearer")


@pytest.mark.parametrize("method, path, body", ROUTES, ids=ROUTE_IDS)
def test_an_unknown_or_revoked_key_is_401_on_every_route(anonymous, refused_key, method, path, body):
    resp = anonymous.request(method, path, json=body, headers={"Authorization": f"Bearer {refused_key}"})
    assert_leonardo_error(resp, 401)
    assert resp.headers["www-authenticate"].lower().startswith("bearer")


def test_no_key_wins_over_a_bad_body(anonymous, api, jobs):
    """A request with no key and a bad (even unparseable) body is refused as 401 and creates nothing."""
    with jobs.unchanged():
        resp = anonymous.post(V2, json={"model": "veo-3.1-lite", "parameters": {"duration": 5}})
        assert_leonardo_error(resp, 401)
        resp = anonymous.post(T2V, json={"prompt": "", "duration": "8"})
        assert_leonardo_error(resp, 401)
        for raw in (b"{not json", b"[" * 100_000 + b"]" * 100_000):
            resp = anonymous.post(I2V, content=raw, headers={"content-type": "application/json"})
            assert_leonardo_error(resp, 401)


def test_another_key_cannot_see_or_delete_a_generation(api, other, jobs, finished):
    generation_id = finished["id"]
    assert other.get(f"{V1}/generations/{generation_id}").json() == {"generations_by_pk": None}
    resp = other.delete(f"{V1}/generations/{generation_id}")
    assert resp.status_code == 200
    assert resp.json() == {"delete_generations_by_pk": None}
    # the owner still has it, with its media
    mine = api.get(f"{V1}/generations/{generation_id}").json()["generations_by_pk"]
    assert mine["id"] == generation_id and mine["status"] == "COMPLETE"
    assert httpx.get(mine["generated_images"][0]["motionMP4URL"], timeout=30).status_code == 200
    # the owner's list read with another key is empty, the other key's own list does not hold it
    assert other.get(f"{V1}/generations/user/{jobs.user_id}").json() == {"generations": []}
    theirs = other.get(f"{V1}/generations/user/{user_id_of(other)}", params={"limit": 50}).json()
    assert generation_id not in [g["id"] for g in theirs["generations"]]


def test_another_key_cannot_see_delete_or_use_an_init_image(api, other, images):
    image_id = images["start"]
    assert other.get(f"{V1}/init-image/{image_id}").json() == {"init_images_by_pk": None}
    assert other.delete(f"{V1}/init-image/{image_id}").json() == {"delete_init_images_by_pk": None}
    assert api.get(f"{V1}/init-image/{image_id}").json()["init_images_by_pk"]["id"] == image_id

    their_jobs = Jobs(other, user_id_of(other))
    with their_jobs.unchanged():
        frame = {"start_frame": [{"image": {"id": image_id, "type": "UPLOADED"}}]}
        resp = other.post(V2, json={"model": "veo-3.1-lite", "parameters": {**V2_BASE, "guidances": frame}})
        assert_leonardo_error(resp, 400, ["parameters", "guidances", "start_frame"], "not found")
        resp = other.post(I2V, json={**T2V_BASE, "imageId": image_id, "imageType": "UPLOADED"})
        assert_leonardo_error(resp, 400, ["imageId"], "not found")


def test_another_key_cannot_use_a_generated_image(api, other, finished):
    image_id = finished["generated_images"][0]["id"]
    their_jobs = Jobs(other, user_id_of(other))
    with their_jobs.unchanged():
        for kind in ("GENERATED", "GENERATION", "VARIATION"):
            frame = {"end_frame": [{"image": {"id": image_id, "type": kind}}]}
            body = {"model": "veo-3.1-lite", "parameters": {**V2_BASE, "guidances": frame}}
            resp = other.post(V2, json=body)
            assert_leonardo_error(resp, 400, ["parameters", "guidances", "end_frame"], "not found")
        resp = other.post(I2V, json={**T2V_BASE, "imageId": image_id, "imageType": "GENERATED"})
        assert_leonardo_error(resp, 400, ["imageId"], f"generated image {image_id} not found")
    # the owner may, and the generation id itself is no generated image's id
    resp = api.post(I2V, json={**T2V_BASE, "imageId": finished["id"], "imageType": "GENERATED"})
    assert_leonardo_error(resp, 400, ["imageId"], "not found")
    resp = api.post(I2V, json={**T2V_BASE, "imageId": image_id, "imageType": "GENERATED"})
    assert resp.status_code == 200, resp.text
    api.delete(f"{V1}/generations/{resp.json()['motionVideoGenerationJob']['generationId']}")


# unknown ids -------------------------------------------------------------------------------------

UNKNOWN_IDS = [str(uuid.uuid4()), "not-a-uuid", "x" * 300, "1' OR '1'='1", "%00"]


@pytest.mark.parametrize("unknown", UNKNOWN_IDS, ids=["uuid", "word", "long", "sql", "nul"])
def test_unknown_ids_answer_null_objects(api, jobs, unknown):
    with jobs.unchanged():
        resp = api.get(f"{V1}/generations/{unknown}")
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"generations_by_pk": None}
        resp = api.delete(f"{V1}/generations/{unknown}")
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"delete_generations_by_pk": None}
    resp = api.get(f"{V1}/init-image/{unknown}")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"init_images_by_pk": None}
    resp = api.delete(f"{V1}/init-image/{unknown}")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"delete_init_images_by_pk": None}


def test_unknown_route_and_method_answer_in_leonardo_shape(api):
    assert_leonardo_error(api.get(f"{V1}/no-such-endpoint"), 404)
    resp = api.put(V2, json={})
    assert_leonardo_error(resp, 405)
    assert "POST" in resp.headers["allow"]


# init-image reservation and the upload endpoint ---------------------------------------------------


@pytest.mark.parametrize(
    "body, path",
    [
        ({"extension": "gif"}, ["extension"]),
        ({"extension": "GIF"}, ["extension"]),
        ({"extension": ""}, ["extension"]),
        ({"extension": "exe"}, ["extension"]),
        ({"extension": "png/../../x"}, ["extension"]),
        ({"extension": 5}, ["extension"]),
        ({}, ["extension"]),
        ([], []),
    ],
    ids=["gif", "GIF", "empty", "exe", "traversal", "number", "missing", "list"],
)
def test_init_image_bad_extension_is_400(api, body, path):
    resp = api.post(f"{V1}/init-image", json=body)
    assert_leonardo_error(resp, 400, path)


def assert_refused_upload_left_nothing(api, jobs, server, asset_id: str) -> None:
    """No file on disk; the reservation still reads, but it cannot be used as a frame."""
    assert files_of(server, asset_id) == []
    got = api.get(f"{V1}/init-image/{asset_id}")
    assert got.status_code == 200
    assert got.json()["init_images_by_pk"]["id"] == asset_id
    with jobs.unchanged():
        frame = {"start_frame": [{"image": {"id": asset_id, "type": "UPLOADED"}}]}
        resp = api.post(V2, json={"model": "veo-3.1-lite", "parameters": {**V2_BASE, "guidances": frame}})
        assert_leonardo_error(resp, 400, ["parameters", "guidances", "start_frame"], "not been uploaded")
        resp = api.post(I2V, json={**T2V_BASE, "imageId": asset_id, "imageType": "UPLOADED"})
        assert_leonardo_error(resp, 400, ["imageId"], "not been uploaded")


BAD_FILES = [
    pytest.param(gif_bytes, id="gif"),
    pytest.param(lambda: b"this is not an image at all " * 64, id="garbage"),
    pytest.param(lambda: b"<html><body>hello</body></html>", id="html"),
    pytest.param(lambda: b"", id="empty"),
    pytest.param(lambda: (lambda d: d[: len(d) // 2])(make_image(256, 256)), id="truncated-png"),
    pytest.param(lambda: make_image(256, 256, "JPEG")[:300], id="truncated-jpeg"),
    pytest.param(lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, id="png-magic-only"),
    pytest.param(lambda: forged_png(100_000, 100_000), id="header-claims-10-gigapixels"),
    pytest.param(lambda: forged_png(8000, 6000), id="header-claims-48-megapixels"),
    pytest.param(lambda: compressible_png(7000, 6000), id="real-42-megapixel-png"),
    pytest.param(lambda: make_image(8, 8), id="too-small"),
    pytest.param(lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * MB + 1 - 8), id="20MB-plus-1-byte"),
]


@pytest.mark.parametrize("make", BAD_FILES)
def test_upload_refuses_bad_files_and_keeps_nothing(api, jobs, server, make):
    upload = reserve(api)
    data = make()
    resp = httpx.post(upload["url"], data=upload["fields"], files={"file": ("image.png", data)}, timeout=60)
    assert_native_error(resp, 400)
    assert_refused_upload_left_nothing(api, jobs, server, upload["id"])


def _other_signature(api) -> str:
    return reserve(api)["fields"]["signature"]


UPLOAD_PROTOCOL_CASES = [
    pytest.param(lambda up, api: {"data": {**up["fields"], "signature": "0" * 64}}, id="wrong-signature"),
    pytest.param(
        lambda up, api: {"data": {**up["fields"], "signature": _other_signature(api)}}, id="other-signature"
    ),
    pytest.param(
        lambda up, api: {"data": {k: v for k, v in up["fields"].items() if k != "signature"}},
        id="no-signature",
    ),
    pytest.param(
        lambda up, api: {"data": {k: v for k, v in up["fields"].items() if k != "asset_id"}}, id="no-asset-id"
    ),
    pytest.param(lambda up, api: {"data": up["fields"]}, id="no-file"),
    pytest.param(lambda up, api: {"data": {**up["fields"], "file": "not a file"}}, id="file-as-text-field"),
    pytest.param(
        lambda up, api: {"files": {"file": ("a.png", make_image(64, 64))}}, id="file-without-fields"
    ),
    pytest.param(
        lambda up, api: {
            "data": up["fields"],
            "files": [("file", ("a.png", make_image(64, 64))), ("file", ("b.png", make_image(64, 64)))],
        },
        id="two-files",
    ),
    pytest.param(lambda up, api: {"json": {**up["fields"], "file": "iVBORw0KGgo="}}, id="json-body"),
    pytest.param(
        lambda up, api: {
            "content": b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\n\x89PNG',
            "headers": {"content-type": "multipart/form-data; boundary=xyz"},
        },
        id="malformed-multipart",
    ),
    pytest.param(
        lambda up, api: {"content": b"garbage", "headers": {"content-type": "multipart/form-data"}},
        id="multipart-without-boundary",
    ),
]


@pytest.mark.parametrize("request_kwargs", UPLOAD_PROTOCOL_CASES)
def test_upload_refuses_bad_requests_and_keeps_nothing(api, jobs, server, request_kwargs):
    upload = reserve(api)
    resp = httpx.post(upload["url"], timeout=30, **request_kwargs(upload, api))
    assert_native_error(resp, 400)
    assert_refused_upload_left_nothing(api, jobs, server, upload["id"])


def largest_open_file(pid: int) -> int:
    """The size of the largest regular file process `pid` holds open (spooled uploads included,
    even unnamed O_TMPFILE ones)."""
    largest = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            st = fd.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            largest = max(largest, st.st_size)
    return largest


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")
def test_upload_without_content_length_is_capped_while_streaming(api, jobs, server):
    """A chunked 200 MB body is cut off at the cap: 400, and the server never spools more than
    about 20 MB of it to disk (without the cap Starlette would spool all 200 MB first)."""
    pid = server.proc.pid
    assert largest_open_file(pid) < 40 * MB
    upload = reserve(api)
    boundary = "reelforge-test-boundary"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in upload["fields"].items()
    )
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
    peak = 0

    def body():
        nonlocal peak
        yield head.encode() + b"\x89PNG\r\n\x1a\n"
        for i in range(200):
            if i % 4 == 0:
                peak = max(peak, largest_open_file(pid))
            yield b"\x00" * MB
        yield f"\r\n--{boundary}--\r\n".encode()

    try:
        resp = httpx.post(
            upload["url"],
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            timeout=60,
        )
    except (httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError):
        pass  # the server answered and closed while the client was still sending
    else:
        assert_native_error(resp, 400)
    assert peak < 40 * MB, f"the server spooled {peak // MB} MB of an over-limit upload"
    assert_refused_upload_left_nothing(api, jobs, server, upload["id"])


def test_upload_with_huge_content_length_is_refused_before_the_body(api, jobs, server):
    """The declared length alone is enough to refuse: nothing is read, no 2 GB wait."""
    upload = reserve(api)
    host = httpx.URL(upload["url"])
    with socket.create_connection((host.host, host.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {host.raw_path.decode()} HTTP/1.1\r\nHost: {host.host}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 2000000000\r\n\r\n"
            ).encode()
        )
        head = sock.recv(65536).decode("latin-1")
    assert head.startswith("HTTP/1.1 400"), head
    assert "Traceback" not in head
    assert_refused_upload_left_nothing(api, jobs, server, upload["id"])


def test_second_upload_to_the_same_id_is_409_and_keeps_the_first(api, server):
    first = make_image(200, 120)
    upload = reserve(api)
    resp = httpx.post(upload["url"], data=upload["fields"], files={"file": ("a.png", first)}, timeout=30)
    assert resp.status_code == 204, resp.text
    stored = sorted(files_of(server, upload["id"]))

    resp = httpx.post(
        upload["url"], data=upload["fields"], files={"file": ("b.png", make_image(300, 300))}, timeout=30
    )
    assert_native_error(resp, 409)
    assert sorted(files_of(server, upload["id"])) == stored and len(stored) == 1
    url = api.get(f"{V1}/init-image/{upload['id']}").json()["init_images_by_pk"]["url"]
    assert httpx.get(url, timeout=30).content == first


def test_concurrent_uploads_to_the_same_id_keep_the_winners_file(api):
    """Two uploads racing for one id: one 204, one 409, and the stored file is the winner's."""
    images = {"a": make_image(1600, 1200), "b": make_image(1600, 1200, left=(0, 0, 0))}
    for _ in range(10):
        upload = reserve(api)
        barrier = threading.Barrier(2)
        status: dict[str, int] = {}

        def send(name: str, upload=upload, barrier=barrier, status=status) -> None:
            barrier.wait()
            files = {"file": ("x.png", images[name])}
            status[name] = httpx.post(
                upload["url"], data=upload["fields"], files=files, timeout=30
            ).status_code

        threads = [threading.Thread(target=send, args=(name,)) for name in images]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(status.values()) == [204, 409], status
        [winner] = [name for name, code in status.items() if code == 204]
        url = api.get(f"{V1}/init-image/{upload['id']}").json()["init_images_by_pk"]["url"]
        stored = httpx.get(url, timeout=30)
        assert stored.status_code == 200 and stored.content == images[winner]


def test_deleted_init_image_cannot_be_used(api, jobs, server):
    image_id = upload_init_image(api, make_image(64, 64))
    assert api.delete(f"{V1}/init-image/{image_id}").json() == {"delete_init_images_by_pk": {"id": image_id}}
    assert files_of(server, image_id) == []
    assert api.get(f"{V1}/init-image/{image_id}").json() == {"init_images_by_pk": None}
    with jobs.unchanged():
        resp = api.post(I2V, json={**T2V_BASE, "imageId": image_id, "imageType": "UPLOADED"})
    assert_leonardo_error(resp, 400, ["imageId"], "not found")


# media -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "media_key",
    [
        f"uploads/{uuid.uuid4()}.png",
        f"outputs/{uuid.uuid4()}/0.mp4",
        "uploads",
        "outputs",
        "",
        "x" * 300,
        "uploads/" + "y" * 5000,
        "%00",
        "uploads/a.png%00.mp4",
    ],
    ids=[
        "upload",
        "output",
        "uploads-dir",
        "outputs-dir",
        "root",
        "long-name",
        "very-long-name",
        "nul",
        "nul-in-name",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_unknown_media_is_404(server, method, media_key):
    status, body = raw_get(server, f"/media/{media_key}", method)
    assert status == 404, body
    assert b"Traceback" not in body


TRAVERSALS = [
    "/media/../secret.key",
    "/media/../reelforge.db",
    "/media/%2e%2e/secret.key",
    "/media/%2E%2E%2Fsecret.key",
    "/media/..%2fsecret.key",
    "/media/uploads/../../secret.key",
    "/media/uploads/..%2F..%2Fsecret.key",
    "/media/uploads/%2e%2e/%2e%2e/secret.key",
    "/media/%252e%252e/secret.key",
    "/media/....//secret.key",
    "/media/..\\secret.key",
    "/media//etc/passwd",
    "/media/%2Fetc%2Fpasswd",
    "/media/../../../../../../etc/passwd",
    "/media/uploads/.%2e/.%2e/secret.key",
]


@pytest.mark.parametrize("raw_path", TRAVERSALS)
def test_media_path_traversal_does_not_leak(server, raw_path):
    secret = (server.data_dir / "secret.key").read_bytes().strip()
    assert secret
    status, body = raw_get(server, raw_path)
    assert status in (400, 404), (status, body[:200])
    assert secret not in body
    assert b"SQLite format" not in body and b"root:" not in body


def test_media_of_a_generation_is_served_but_cannot_be_climbed_out_of(server, finished):
    mp4 = httpx.URL(finished["generated_images"][0]["motionMP4URL"])
    status, body = raw_get(server, mp4.raw_path.decode())
    assert status == 200 and body[4:8] == b"ftyp"
    folder = mp4.raw_path.decode().rsplit("/", 1)[0]
    secret = (server.data_dir / "secret.key").read_bytes().strip()
    for climb in ("/../../../secret.key", "/..%2f..%2f..%2fsecret.key", "/%2e%2e/%2e%2e/%2e%2e/secret.key"):
        status, body = raw_get(server, folder + climb)
        assert status in (400, 404), (climb, status)
        assert secret not in body


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_server_cap_is_400_in_the_dialects_shape(api, jobs, chunked):
    """Every route shares one body cap (64 MB by default), declared or streamed."""
    size = 64 * 1024 * 1024 + 1
    if chunked:

        def body():
            yield b'{"model":"veo-3.1-lite","parameters":{"prompt":"'
            for _ in range(size // (1024 * 1024) + 1):
                yield b"a" * (1024 * 1024)
            yield b'"}}'

        content = body()
    else:
        content = b"x" * size
    with jobs.unchanged():
        resp = api.post(V2, content=content, headers={"content-type": "application/json"})
        assert_leonardo_error(resp, 400, says="larger than 64 MB")
