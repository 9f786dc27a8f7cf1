"""The Gemini API dialect over real HTTP: predictLongRunning, operation polling, file download with
the key, the models listing, and Google-style errors (400 / 401 / 404) that create nothing.

Decisions asserted here (written down in api/dialects/gemini.py):
- a missing, unknown or revoked key is 403 PERMISSION_DENIED (Google's documented key error); an
  unknown model in the URL, operation or download is 404, and 404 bodies say "operation" or "file";
- files.get and files.delete of a file that is missing or another's are 403 PERMISSION_DENIED, as
  Google answers them; the caller's files are listed newest first, `pageSize` 10 by default, at
  most 100; deleting a file deletes its job; HEAD on a download URI answers GET's headers;
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


def _file_names(op: dict) -> list[str]:
    samples = op["response"]["generateVideoResponse"]["generatedSamples"]
    return [sample["video"]["uri"].split("/v1beta/")[1].split(":")[0] for sample in samples]


def test_files_are_listed_newest_first_a_page_at_a_time_and_deleted(server):
    with google_client(server, f"files-{uuid.uuid4()}") as own:
        names = []
        for samples in (1, 2, 1):  # oldest first
            body = {
                "instances": [{"prompt": "listed"}],
                "parameters": {"durationSeconds": 4, "sampleCount": samples},
            }
            names = _file_names(_finish(own, _predict(own, body)["name"])) + names
        first = own.get("/v1beta/files", params={"pageSize": 3}).json()
        assert [f["name"] for f in first["files"]] == names[:3]
        assert first["nextPageToken"]
        last = own.get("/v1beta/files", params={"pageSize": 3, "pageToken": first["nextPageToken"]}).json()
        assert [f["name"] for f in last["files"]] == names[3:] and "nextPageToken" not in last
        middle = own.get("/v1beta/files", params={"pageSize": 2}).json()  # a page ending inside a job
        rest = own.get("/v1beta/files", params={"pageSize": 2, "pageToken": middle["nextPageToken"]}).json()
        assert [f["name"] for f in middle["files"] + rest["files"]] == names
        assert first["files"][0] == own.get(f"/v1beta/{names[0]}").json()  # the same File resource
        assert [
            f["name"] for f in own.get("/v1beta/files", params={"pageSize": 1000}).json()["files"]
        ] == names

        assert own.delete(f"/v1beta/{names[0]}").json() == {}
        assert_google_error(own.get(f"/v1beta/{names[0]}"), 403, "PERMISSION_DENIED")
        assert own.get(first["files"][0]["downloadUri"]).status_code == 404
        assert [f["name"] for f in own.get("/v1beta/files").json()["files"]] == names[1:]
        assert_google_error(own.delete(f"/v1beta/{names[0]}"), 403, "PERMISSION_DENIED")
        # deleting one sample deletes its job, with the job's other sample
        assert own.delete(f"/v1beta/{names[2]}").json() == {}
        assert [f["name"] for f in own.get("/v1beta/files").json()["files"]] == names[3:]
        operation = own.get(f"/v1beta/models/{MODEL}/operations/{uuid.UUID(names[1][6:38])}")
        assert_google_error(operation, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "params, field",
    [
        ({"pageSize": -1}, "pageSize"),
        ({"pageSize": "ten"}, "pageSize"),
        ({"pageToken": "no-such-token"}, "pageToken"),
        ({"pageToken": f"{UNKNOWN_ID.hex}v0"}, "pageToken"),
    ],
)
def test_bad_file_listings_are_400(api, params, field):
    assert_google_error(api.get("/v1beta/files", params=params), 400, "INVALID_ARGUMENT", field)


def test_head_of_a_download_uri_has_the_headers_of_get_and_no_body(api):
    op = _finish(
        api, _predict(api, {"instances": [{"prompt": "head"}], "parameters": {"durationSeconds": 4}})["name"]
    )
    uri = op["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    got, head = api.get(uri), api.head(uri)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"] == "video/mp4"
    assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))
    assert head.headers["accept-ranges"] == "bytes" and head.headers["etag"] == got.headers["etag"]
    ranged = api.head(uri, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "100" and ranged.content == b""


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
    ("GET", "/v1beta/files", None),
    ("DELETE", f"/v1beta/files/{UNKNOWN_ID.hex}v0", None),
    ("GET", "/v1beta/models", None),
    ("GET", "/v1beta/webhooks", None),
]


@pytest.mark.parametrize("method, path, body", KEYED_ROUTES)
def test_without_a_key_it_is_403(server, key, method, path, body):
    with nothing_created(server, key), google_client(server) as anonymous:
        resp = anonymous.request(method, path, json=body)
        assert_google_error(resp, 403, "PERMISSION_DENIED")
        assert "www-authenticate" not in resp.headers


@pytest.mark.parametrize("method, path, body", KEYED_ROUTES)
@pytest.mark.parametrize("place", ["header", "query"])
def test_an_unknown_or_revoked_key_is_403(server, key, refused_key, place, method, path, body):
    sent = (
        {"headers": {"x-goog-api-key": refused_key}}
        if place == "header"
        else {"params": {"key": refused_key}}
    )
    with nothing_created(server, key), httpx.Client(base_url=server.url, **sent) as refused:
        resp = refused.request(method, path, json=body)
        assert_google_error(resp, 403, "PERMISSION_DENIED")


@pytest.mark.parametrize(
    "method, path, says",
    [
        ("GET", f"/v1beta/models/{MODEL}/operations/{UNKNOWN_ID}", f"operation {UNKNOWN_ID} not found"),
        ("GET", f"/v1beta/models/{MODEL}/operations/not-a-uuid", "operation not-a-uuid not found"),
        (
            "POST",
            f"/v1beta/models/{MODEL}/operations/{UNKNOWN_ID}:cancel",
            f"operation {UNKNOWN_ID} not found",
        ),
        ("GET", f"/v1beta/files/{UNKNOWN_ID.hex}v0:download?alt=media", f"file {UNKNOWN_ID.hex}v0 not found"),
        ("GET", "/v1beta/files/nonsense:download?alt=media", "file nonsense not found"),
        ("HEAD", f"/v1beta/files/{UNKNOWN_ID.hex}v0:download?alt=media", None),
        ("GET", "/v1beta/no/such/route", None),
    ],
)
def test_unknown_ids_are_404(api, method, path, says):
    resp = api.request(method, path)
    if method == "HEAD":
        assert resp.status_code == 404 and resp.content == b""
        return
    error = assert_google_error(resp, 404, "NOT_FOUND")
    assert says is None or error["message"] == says
    assert "generation" not in error["message"]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("name", [f"{UNKNOWN_ID.hex}v0", "nonsense"])
def test_an_unknown_file_is_403_as_google_answers_it(api, method, name):
    error = assert_google_error(api.request(method, f"/v1beta/files/{name}"), 403, "PERMISSION_DENIED")
    assert error["message"].startswith(f"file {name} not found")


def test_another_key_cannot_poll_or_download(server, api):
    created = _predict(api, {"instances": [{"prompt": "mine"}], "parameters": {"durationSeconds": 4}})
    op = _finish(api, created["name"])
    uri = op["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    name = uri.split("/v1beta/")[1].split(":")[0]
    with google_client(server, f"intruder-{uuid.uuid4()}") as other:
        assert_google_error(other.get(f"/v1beta/{created['name']}"), 404, "NOT_FOUND")
        assert_google_error(other.get(uri), 404, "NOT_FOUND")
        assert other.head(uri).status_code == 404
        assert_google_error(other.get(f"/v1beta/{name}"), 403, "PERMISSION_DENIED")
        assert_google_error(other.delete(f"/v1beta/{name}"), 403, "PERMISSION_DENIED")
        assert other.get("/v1beta/files").json() == {"files": []}
    assert_google_error(httpx.get(uri), 403, "PERMISSION_DENIED")
    assert api.get(uri).status_code == 200  # the intruder's delete deleted nothing
