"""Every Leonardo v1 answer reelforge sends, validated against the schemas Leonardo publishes
(tests/specs/leonardo/): each route with a published 200 body, with generations PENDING, COMPLETE
(with a generated image), FAILED and unknown. The schemas' patterns are unanchored and their
objects open, so ids and timestamps are also matched whole here.

Leonardo publishes no schema for v2 `POST /api/rest/v2/generations` (its `/generations` is v1's
image generation), and reelforge does not serve `/pricing-calculator` or `/canvas-init-image`."""

import json
import re

import httpx
import pytest

from testkit.catalogs import BROKEN, catalog_with
from testkit.specs import SPECS, violations
from testkit.support import ServerProcess, client, make_image, wait_for_generation

V1 = "/api/rest/v1"
UUID4 = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89aAbB][a-f0-9]{3}-[a-f0-9]{12}")
MILLISECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
VIDEO = {"prompt": "a heron", "model": "VEO3_1FAST", "duration": 4, "width": 1280, "height": 720}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("leonardo-schemas")
    env = {"REELFORGE_CATALOG_PATH": str(catalog_with(root / "catalog.json", BROKEN))}
    server = ServerProcess(root / "data", env=env).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(server):
    with client(server, key="leonardo-schemas", timeout=60) as c:
        yield c


def answer(resp: httpx.Response, path: str) -> dict:
    """The 200 body of `resp`, which must have no violation of Leonardo's schema for `path`."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert violations("leonardo", path, resp.request.method, 200, body) == [], body
    return body


def assert_generation(generation: dict) -> None:
    assert UUID4.fullmatch(generation["id"]) and MILLISECONDS.fullmatch(generation["createdAt"])
    assert generation["modelId"] is None
    for image in generation["generated_images"]:
        assert UUID4.fullmatch(image["id"]) and image["id"] != generation["id"]


def upload(api: httpx.Client) -> str:
    reserved = answer(api.post(f"{V1}/init-image", json={"extension": "png"}), "/init-image")
    target = reserved["uploadInitImage"]
    assert UUID4.fullmatch(target["id"])
    form = json.loads(target["fields"])
    sent = httpx.post(target["url"], data=form, files={"file": ("i.png", make_image(1280, 720), "image/png")})
    assert sent.status_code == 204, sent.text
    return target["id"]


def created(resp: httpx.Response, path: str, job: str) -> str:
    body = answer(resp, path)[job]
    assert body["apiCreditCost"] is None and body["cost"]["unit"] == "DOLLARS"
    assert UUID4.fullmatch(body["generationId"])
    return body["generationId"]


def read(api: httpx.Client, generation_id: str) -> dict:
    generation = answer(api.get(f"{V1}/generations/{generation_id}"), "/generations/{id}")[
        "generations_by_pk"
    ]
    assert_generation(generation)
    return generation


def test_init_images(api):
    image_id = upload(api)
    image = answer(api.get(f"{V1}/init-image/{image_id}"), "/init-image/{id}")["init_images_by_pk"]
    assert image["id"] == image_id and MILLISECONDS.fullmatch(image["createdAt"])
    deleted = answer(api.delete(f"{V1}/init-image/{image_id}"), "/init-image/{id}")
    assert deleted == {"delete_init_images_by_pk": {"id": image_id}}
    assert answer(api.get(f"{V1}/init-image/{image_id}"), "/init-image/{id}") == {"init_images_by_pk": None}
    gone = answer(api.delete(f"{V1}/init-image/{image_id}"), "/init-image/{id}")
    assert gone == {"delete_init_images_by_pk": None}


def test_generations_of_every_route_and_status(api):
    image_id = upload(api)
    t2v = created(
        api.post(f"{V1}/generations-text-to-video", json=VIDEO),
        "/generations-text-to-video",
        "motionVideoGenerationJob",
    )
    assert read(api, t2v)["status"] == "PENDING"  # read before any render ends
    i2v_body = {**VIDEO, "imageId": image_id, "imageType": "UPLOADED"}
    i2v = created(
        api.post(f"{V1}/generations-image-to-video", json=i2v_body),
        "/generations-image-to-video",
        "motionVideoGenerationJob",
    )
    svd = created(
        api.post(f"{V1}/generations-motion-svd", json={"imageId": image_id, "motionStrength": 3}),
        "/generations-motion-svd",
        "motionSvdGenerationJob",
    )
    failed = created(
        api.post(f"{V1}/generations-text-to-video", json={**VIDEO, "model": BROKEN["id"]}),
        "/generations-text-to-video",
        "motionVideoGenerationJob",
    )
    for generation_id, status in (
        (t2v, "COMPLETE"),
        (i2v, "COMPLETE"),
        (svd, "COMPLETE"),
        (failed, "FAILED"),
    ):
        assert wait_for_generation(api, generation_id)["status"] == status
        generation = read(api, generation_id)
        assert len(generation["generated_images"]) == (status == "COMPLETE")

    # a generated image reused as a start frame (GENERATED)
    image = read(api, t2v)["generated_images"][0]
    reuse = {**VIDEO, "imageId": image["id"], "imageType": "GENERATED"}
    again = created(
        api.post(f"{V1}/generations-image-to-video", json=reuse),
        "/generations-image-to-video",
        "motionVideoGenerationJob",
    )
    assert wait_for_generation(api, again)["status"] == "COMPLETE"
    assert read(api, again)["generated_images"][0]["imageToVideo"] is True

    # the user: its id is a v4 UUID that the list's `userId` path pattern accepts
    me = answer(api.get(f"{V1}/me"), "/me")["user_details"][0]["user"]["id"]
    assert UUID4.fullmatch(me) and answer(api.get(f"{V1}/me"), "/me")["user_details"][0]["user"]["id"] == me
    listed = answer(
        api.get(f"{V1}/generations/user/{me}", params={"limit": 50}), "/generations/user/{userId}"
    )
    assert {t2v, i2v, svd, failed, again} <= {g["id"] for g in listed["generations"]}
    for generation in listed["generations"]:
        assert_generation(generation)

    deleted = answer(api.delete(f"{V1}/generations/{failed}"), "/generations/{id}")
    assert deleted == {"delete_generations_by_pk": {"id": failed}}
    assert answer(api.get(f"{V1}/generations/{failed}"), "/generations/{id}") == {"generations_by_pk": None}
    gone = answer(api.delete(f"{V1}/generations/{failed}"), "/generations/{id}")
    assert gone == {"delete_generations_by_pk": None}


def test_the_user_id_pattern_is_the_path_pattern(api):
    """`/me`'s id is a valid `userId` of `GET /generations/user/{userId}` as the spec defines it."""
    spec = json.loads((SPECS / "leonardo" / "leonardo-ai-image-generation-openapi.json").read_text())
    parameters = spec["paths"]["/generations/user/{userId}"]["get"]["parameters"]
    [param] = [p for p in parameters if p["name"] == "userId"]
    me = api.get(f"{V1}/me").json()["user_details"][0]["user"]["id"]
    assert re.fullmatch(param["schema"]["pattern"], me)
