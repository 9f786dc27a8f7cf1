"""The Gemini API dialect over real HTTP: predictLongRunning, operation polling, file download with
the key, the models listing, and Google-style errors (400 / 401 / 404) that create nothing.

Decisions asserted here (written down in api/dialects/gemini.py):
- a missing key is 401 UNAUTHENTICATED; an unknown model in the URL, operation or file is 404;
- integers may be JSON numbers or decimal strings (protobuf's JSON mapping), never booleans;
- images arrive as `bytesBase64Encoded` or `inlineData.data`; `gs://` URIs are refused;
- video URIs need the owner's key, in `x-goog-api-key` or `?key=`.
"""

import base64
import uuid

import httpx
import pytest

from testkit.google import assert_google_error, b64_image, google_client, wait_done
from testkit.native import nothing_created
from testkit.support import UNKNOWN_ID, probe_mp4

MODEL = "veo-3.1-lite-generate-preview"
PREDICT = f"/v1beta/models/{MODEL}:predictLongRunning"


# fixtures (`key`, a key of the module's own, is conftest.py's) ---------------------------------


@pytest.fixture(scope="module")
def api(server, key):
    with google_client(server, key) as c:
        yield c


def _predict(api, body: dict, path: str = PREDICT) -> dict:
    resp = api.post(path, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _finish(api, name: str) -> dict:
    return wait_done(lambda: api.get(f"/v1beta/{name}").json())


# the happy paths -------------------------------------------------------------------------------


def test_text_to_video_two_portrait_samples_downloaded_with_the_key(api):
    body = {
        "instances": [{"prompt": "A koala and a cat playing together in a sunlit meadow"}],
        "parameters": {
            "aspectRatio": "9:16",
            "durationSeconds": 4,
            "resolution": "720p",
            "sampleCount": 2,
            "negativePrompt": "blur",
            "seed": 11,
        },
    }
    created = _predict(api, body)
    assert set(created) == {"name"}
    assert created["name"].startswith(f"models/{MODEL}/operations/")
    op = _finish(api, created["name"])
    assert op["done"] is True and "error" not in op
    assert op["name"] == created["name"]
    samples = op["response"]["generateVideoResponse"]["generatedSamples"]
    assert len(samples) == 2
    probes = []
    for sample in samples:
        uri = sample["video"]["uri"]
        assert uri.endswith(":download?alt=media") and "/v1beta/files/" in uri
        resp = api.get(uri)
        assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"
        probes.append(probe_mp4(resp.content))
    for probe in probes:
        assert (probe.width, probe.height, probe.frames, probe.fps) == (720, 1280, 96, 24.0)
        assert (probe.codec, probe.audio_codec) == ("h264", "aac")
    assert probes[0].digest != probes[1].digest  # each sample has its own seed


def test_key_in_the_query_string_and_integers_as_strings(server, key):
    with httpx.Client(base_url=server.url, params={"key": server.key(key)}, timeout=60) as c:
        body = {
            "instances": [{"prompt": "rain on a window"}],
            "parameters": {"durationSeconds": "4", "seed": "4294967295", "generateAudio": False},
        }
        created = _predict(c, body)
        op = _finish(c, created["name"])
        [sample] = op["response"]["generateVideoResponse"]["generatedSamples"]
        probe = probe_mp4(c.get(sample["video"]["uri"]).content)
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, None)


def test_first_and_last_frame_inline_in_both_spellings(api):
    body = {
        "instances": [
            {
                "prompt": "push in",
                "image": {"bytesBase64Encoded": b64_image(1600, 900), "mimeType": "image/png"},
                "lastFrame": {
                    "inlineData": {
                        "mimeType": "image/png",
                        "data": b64_image(1280, 720, left=(30, 200, 30), right=(250, 250, 250)),
                    }
                },
            }
        ],
        "parameters": {"durationSeconds": 4},
    }
    op = _finish(api, _predict(api, body)["name"])
    [sample] = op["response"]["generateVideoResponse"]["generatedSamples"]
    probe = probe_mp4(api.get(sample["video"]["uri"]).content)
    first_left, first_right = probe.first[360, 200], probe.first[360, 1080]
    assert first_left[0] > 180 and first_left[2] < 90  # the red left half of the start image
    assert first_right[2] > 180 and first_right[0] < 90  # its blue right half
    last_left, last_right = probe.last[360, 200], probe.last[360, 1080]
    assert last_left[0] < 90 and last_left[2] < 90  # the end image's dark left half
    assert last_right[0] > 180 and last_right[2] > 180  # and its white right half


def test_defaults_are_8_seconds_16_9_720p_with_audio(server, api, key):
    created = _predict(api, {"instances": [{"prompt": "defaults"}]})
    job_id = created["name"].rsplit("/", 1)[1]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.key(key)}"}) as native:
        video = native.get(f"/v1/videos/{job_id}").json()  # the same job, seen natively
        assert (video["seconds"], video["size"], video["generate_audio"]) == ("8", "1280x720", True)
        assert video["person_generation"] == "allow_adult"
        native.delete(f"/v1/videos/{job_id}")  # no need to render it


def test_1080p_and_vertex_only_person_generation(server, api, key):
    body = {
        "instances": [{"prompt": "crowd"}],
        "parameters": {"resolution": "1080P", "aspectRatio": "16:9", "personGeneration": "allow_all"},
    }
    job_id = _predict(api, body)["name"].rsplit("/", 1)[1]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.key(key)}"}) as native:
        video = native.get(f"/v1/videos/{job_id}").json()
        assert (video["size"], video["person_generation"]) == ("1920x1080", "allow_all")
        native.delete(f"/v1/videos/{job_id}")


def test_file_metadata(api):
    created = _predict(api, {"instances": [{"prompt": "meta"}], "parameters": {"durationSeconds": 4}})
    op = _finish(api, created["name"])
    uri = op["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    name = uri.split("/v1beta/")[1].split(":")[0]
    meta = api.get(f"/v1beta/{name}").json()
    assert meta["name"] == name and meta["mimeType"] == "video/mp4" and meta["state"] == "ACTIVE"
    assert int(meta["sizeBytes"]) == len(api.get(uri).content)


def test_models_listing_and_get(api):
    listed = api.get("/v1beta/models").json()["models"]
    names = [m["name"] for m in listed]
    assert f"models/{MODEL}" in names and "models/veo-3.1-lite" in names
    assert all(m["supportedGenerationMethods"] == ["predictLongRunning"] for m in listed)
    page = api.get("/v1beta/models", params={"pageSize": 2}).json()
    assert len(page["models"]) == 2 and page["nextPageToken"]
    rest = api.get("/v1beta/models", params={"pageSize": 1000, "pageToken": page["nextPageToken"]}).json()
    assert [m["name"] for m in page["models"] + rest["models"]] == names
    assert api.get(f"/v1beta/models/{MODEL}").json()["name"] == f"models/{MODEL}"
    assert_google_error(api.get("/v1beta/models/sora-2"), 404, "NOT_FOUND")


# refusals --------------------------------------------------------------------------------------

A = {"instances": [{"prompt": "a"}]}
GIF = base64.b64encode(b"GIF89a...").decode()


def img(**image) -> dict:
    return {"instances": [{"prompt": "a", "image": image}]}


BAD_BODIES = [
    ({"instances": []}, "instances"),
    ({"instances": [{"prompt": "a"}, {"prompt": "b"}]}, "instances"),
    ({"instances": [{}]}, "instances[0].prompt"),
    ({"instances": [{"prompt": ""}]}, "instances[0].prompt"),
    ({"instances": [{"prompt": 5}]}, "instances[0].prompt"),
    ({"instances": "x"}, "instances"),
    ({"parameters": {}}, "instances"),
    (A | {"parameters": {"durationSeconds": 5}}, "parameters.durationSeconds"),
    (A | {"parameters": {"durationSeconds": "4s"}}, "parameters.durationSeconds"),
    (A | {"parameters": {"durationSeconds": True}}, "parameters.durationSeconds"),
    (A | {"parameters": {"durationSeconds": 4.5}}, "parameters.durationSeconds"),
    (A | {"parameters": {"aspectRatio": "1:1"}}, "parameters.aspectRatio"),
    (A | {"parameters": {"resolution": "4k"}}, "parameters.resolution"),
    (A | {"parameters": {"resolution": 720}}, "parameters.resolution"),
    (A | {"parameters": {"sampleCount": 5}}, "parameters.sampleCount"),
    (A | {"parameters": {"sampleCount": 0}}, "parameters.sampleCount"),
    (A | {"parameters": {"seed": -1}}, "parameters.seed"),
    (A | {"parameters": {"seed": 4294967296}}, "parameters.seed"),
    (A | {"parameters": {"generateAudio": "false"}}, "parameters.generateAudio"),
    (A | {"parameters": {"personGeneration": "everyone"}}, "parameters.personGeneration"),
    (img(), "instances[0].image"),
    (img(bytesBase64Encoded="!!!"), "instances[0].image.bytesBase64Encoded"),
    (img(bytesBase64Encoded=GIF), "instances[0].image.bytesBase64Encoded"),
    (img(inlineData={"mimeType": "image/png"}), "instances[0].image.inlineData.data"),
    (img(gcsUri="gs://bucket/cat.png"), "instances[0].image.gcsUri"),
    (img(uri="http://127.0.0.1:1/cat.png"), "instances[0].image.uri"),
    ({"instances": [{"prompt": "a", "lastFrame": {"bytesBase64Encoded": "AAAA"}}]}, "instances[0].lastFrame"),
    ({"instances": [{"prompt": "a", "video": {"uri": "files/abc"}}]}, "instances[0].video"),
    ({"instances": [{"prompt": "a", "referenceImages": []}]}, "instances[0].referenceImages"),
]  # fmt: skip


@pytest.mark.parametrize("body, field", BAD_BODIES)
def test_bad_bodies_are_400_and_create_nothing(server, api, key, body, field):
    with nothing_created(server, key):
        assert_google_error(api.post(PREDICT, json=body), 400, "INVALID_ARGUMENT", field)


def test_a_good_image_with_a_bad_setting_stores_no_image(server, api, key):
    body = {
        "instances": [{"prompt": "a", "image": {"bytesBase64Encoded": b64_image(), "mimeType": "image/png"}}],
        "parameters": {"durationSeconds": 7},
    }
    with nothing_created(server, key):
        assert_google_error(
            api.post(PREDICT, json=body), 400, "INVALID_ARGUMENT", "parameters.durationSeconds"
        )


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b"\xff\xfe"])
def test_malformed_json_is_400(server, api, key, raw):
    with nothing_created(server, key):
        resp = api.post(PREDICT, content=raw, headers={"content-type": "application/json"})
        assert_google_error(resp, 400, "INVALID_ARGUMENT")


def test_unknown_model_is_404_and_creates_nothing(server, api, key):
    with nothing_created(server, key):
        resp = api.post("/v1beta/models/sora-2:predictLongRunning", json={"instances": [{"prompt": "a"}]})
        assert_google_error(resp, 404, "NOT_FOUND")


KEYED_ROUTES = [
    ("POST", PREDICT, {"instances": [{"prompt": "a"}]}),
    ("POST", PREDICT, {"instances": "not even valid"}),
    ("GET", f"/v1beta/models/{MODEL}/operations/{UNKNOWN_ID}", None),
    ("GET", f"/v1beta/files/{UNKNOWN_ID.hex}v0:download?alt=media", None),
    ("GET", "/v1beta/models", None),
]


@pytest.mark.parametrize("method, path, body", KEYED_ROUTES)
def test_without_a_key_it_is_401(server, key, method, path, body):
    with nothing_created(server, key), google_client(server) as anonymous:
        resp = anonymous.request(method, path, json=body)
        assert_google_error(resp, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("method, path, body", KEYED_ROUTES)
@pytest.mark.parametrize("place", ["header", "query"])
def test_an_unknown_or_revoked_key_is_401(server, key, refused_key, place, method, path, body):
    sent = (
        {"headers": {"x-goog-api-key": refused_key}}
        if place == "header"
        else {"params": {"key": refused_key}}
    )
    with nothing_created(server, key), httpx.Client(base_url=server.url, **sent) as refused:
        resp = refused.request(method, path, json=body)
        assert_google_error(resp, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "path",
    [
        f"/v1beta/models/{MODEL}/operations/{UNKNOWN_ID}",
        f"/v1beta/models/{MODEL}/operations/not-a-uuid",
        f"/v1beta/files/{UNKNOWN_ID.hex}v0:download?alt=media",
        "/v1beta/files/nonsense:download?alt=media",
        f"/v1beta/files/{UNKNOWN_ID.hex}v0",
        "/v1beta/no/such/route",
    ],
)
def test_unknown_ids_are_404(api, path):
    assert_google_error(api.get(path), 404, "NOT_FOUND")


def test_another_key_cannot_poll_or_download(server, api):
    created = _predict(api, {"instances": [{"prompt": "mine"}], "parameters": {"durationSeconds": 4}})
    op = _finish(api, created["name"])
    uri = op["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    with google_client(server, f"intruder-{uuid.uuid4()}") as other:
        assert_google_error(other.get(f"/v1beta/{created['name']}"), 404, "NOT_FOUND")
        assert_google_error(other.get(uri), 404, "NOT_FOUND")
    assert_google_error(httpx.get(uri), 401, "UNAUTHENTICATED")
