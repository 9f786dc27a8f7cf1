"""The Vertex AI dialect over real HTTP: predictLongRunning + fetchPredictOperation (project-scoped
and express mode, v1 and v1beta1), results inline as base64 or as a URI, images inline or by URL,
and Google-style errors that create nothing.

Decisions asserted here (written down in api/dialects/vertex.py):
- without `storageUri` the videos come back inline (`bytesBase64Encoded`); with it, `gcsUri` is
  the http URL of reelforge's media file (the bucket is not written);
- `gcsUri` images may be http(s) URLs (fetched SSRF-safely, so a loopback URL needs the
  allowlist); `gs://` is refused; `fps` other than 24 is refused.
"""

import base64
import http.server
import threading
import uuid

import httpx
import pytest

from testkit.google import assert_google_error, b64_image, google_client, wait_done
from testkit.native import nothing_created
from testkit.support import UNKNOWN_ID, make_image, probe_mp4

MODEL = "veo-3.1-lite-generate-001"
SCOPE = "/v1/projects/my-project/locations/us-central1/publishers/google/models"
PREDICT = f"{SCOPE}/{MODEL}:predictLongRunning"
FETCH = f"{SCOPE}/{MODEL}:fetchPredictOperation"


# `key` (a key of the module's own) and `trusting_server` (a server whose image-fetch allowlist
# trusts loopback) are conftest.py fixtures.


@pytest.fixture(scope="module")
def api(server, key):
    with google_client(server, key, header="authorization") as c:  # an OAuth token, as Vertex has
        yield c


def _predict(api, body: dict, path: str = PREDICT) -> str:
    resp = api.post(path, json=body)
    assert resp.status_code == 200, resp.text
    assert set(resp.json()) == {"name"}
    return resp.json()["name"]


def _finish(api, name: str, fetch: str = FETCH) -> dict:
    def poll():
        resp = api.post(fetch, json={"operationName": name})
        assert resp.status_code == 200, resp.text
        return resp.json()

    return wait_done(poll)


def test_inline_result_without_storage_uri(api):
    body = {"instances": [{"prompt": "a lighthouse at dusk"}], "parameters": {"durationSeconds": 4}}
    name = _predict(api, body)
    assert name.startswith(
        f"projects/my-project/locations/us-central1/publishers/google/models/{MODEL}/operations/"
    )
    op = _finish(api, name)
    assert op["name"] == name and op["done"] is True
    response = op["response"]
    assert response["@type"].endswith("GenerateVideoResponse")
    [video] = response["videos"]
    assert video["mimeType"] == "video/mp4" and "gcsUri" not in video
    probe = probe_mp4(base64.b64decode(video["bytesBase64Encoded"]))
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")

    # the operation can also be read with GET, as Vertex allows
    resp = api.get(f"/v1/{name}")
    assert resp.status_code == 200 and resp.json()["response"]["videos"] == response["videos"]


def test_storage_uri_gives_downloadable_uris_for_every_sample(api):
    body = {
        "instances": [{"prompt": "two takes"}],
        "parameters": {
            "durationSeconds": "4",
            "sampleCount": 2,
            "storageUri": "gs://my-bucket/videos/",
            "aspectRatio": "9:16",
            "generateAudio": False,
            "compressionQuality": "optimized",
            "enhancePrompt": True,
        },
    }
    op = _finish(api, _predict(api, body))
    videos = op["response"]["videos"]
    assert len(videos) == 2
    for video in videos:
        assert set(video) == {"gcsUri", "mimeType"}
        resp = httpx.get(video["gcsUri"])  # reelforge media URLs need no key
        assert resp.status_code == 200
        probe = probe_mp4(resp.content)
        assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (720, 1280, 96, None)


def test_express_mode_on_v1beta1_with_an_api_key(server):
    with google_client(server, f"vertex-express-{uuid.uuid4()}") as express:
        models = "/v1beta1/publishers/google/models"
        name = _predict(
            express,
            {"instances": [{"prompt": "express"}], "parameters": {"durationSeconds": 4}},
            f"{models}/{MODEL}:predictLongRunning",
        )
        assert name.startswith(f"publishers/google/models/{MODEL}/operations/")
        op = _finish(express, name, f"{models}/{MODEL}:fetchPredictOperation")
        [video] = op["response"]["videos"]
        assert probe_mp4(base64.b64decode(video["bytesBase64Encoded"])).frames == 96


class _ImageHandler(http.server.BaseHTTPRequestHandler):
    image = make_image(1280, 720, "JPEG")

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.image)))
        self.end_headers()
        self.wfile.write(self.image)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def image_url():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/start.jpg"
    httpd.shutdown()


def test_image_by_url_and_last_frame_inline(trusting_server, image_url):
    with google_client(trusting_server, "vertex-url", header="authorization") as api:
        body = {
            "instances": [
                {
                    "prompt": "from a URL",
                    "image": {"gcsUri": image_url, "mimeType": "image/jpeg"},
                    "lastFrame": {
                        "bytesBase64Encoded": b64_image(left=(30, 200, 30), right=(250, 250, 250)),
                        "mimeType": "image/png",
                    },
                }
            ],
            "parameters": {"durationSeconds": 4, "resizeMode": "pad"},
        }
        op = _finish(api, _predict(api, body))
    probe = probe_mp4(base64.b64decode(op["response"]["videos"][0]["bytesBase64Encoded"]))
    assert probe.first[360, 200][0] > 180 and probe.first[360, 1080][2] > 180  # red | blue start
    assert probe.last[360, 200][0] < 90 and probe.last[360, 1080][0] > 180  # dark | white end


def test_loopback_image_url_is_refused_without_the_allowlist(server, api, key, image_url):
    body = {"instances": [{"prompt": "ssrf", "image": {"gcsUri": image_url}}]}
    with nothing_created(server, key):
        assert_google_error(
            api.post(PREDICT, json=body), 400, "INVALID_ARGUMENT", "instances[0].image.gcsUri"
        )


BAD_BODIES = [
    ({"instances": [{"prompt": "a"}], "parameters": {"fps": 30}}, "parameters.fps"),
    ({"instances": [{"prompt": "a"}], "parameters": {"resizeMode": "stretch"}}, "parameters.resizeMode"),
    ({"instances": [{"prompt": "a"}], "parameters": {"storageUri": 5}}, "parameters.storageUri"),
    ({"instances": [{"prompt": "a"}], "parameters": {"durationSeconds": 10}}, "parameters.durationSeconds"),
    ({"instances": [{"prompt": "a"}], "parameters": {"sampleCount": "five"}}, "parameters.sampleCount"),
    ({"instances": [{"prompt": "a", "image": {"gcsUri": "gs://b/i.png"}}]}, "instances[0].image.gcsUri"),
    ({"instances": [{"prompt": "a", "image": {"gcsUri": "ftp://host/i.png"}}]}, "instances[0].image.gcsUri"),
    ({"instances": [{"prompt": "a", "mask": {"gcsUri": "gs://b/m.png"}}]}, "instances[0].mask"),
    ({"instances": [{"prompt": "a", "image": {"bytesBase64Encoded": "AA", "gcsUri": "https://x/y"}}]},
     "instances[0].image"),
    ({"instances": []}, "instances"),
]  # fmt: skip


@pytest.mark.parametrize("body, field", BAD_BODIES)
def test_bad_bodies_are_400_and_create_nothing(server, api, key, body, field):
    with nothing_created(server, key):
        assert_google_error(api.post(PREDICT, json=body), 400, "INVALID_ARGUMENT", field)


@pytest.mark.parametrize("body", [{}, {"operationName": ""}, {"operationName": 5}])
def test_bad_fetch_bodies_are_400(api, body):
    assert_google_error(api.post(FETCH, json=body), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "operation_name",
    [
        f"projects/p/locations/l/publishers/google/models/{MODEL}/operations/{UNKNOWN_ID}",
        f"projects/p/locations/l/publishers/google/models/{MODEL}/operations/not-an-id",
        "no-operations-here",
        f"operations/{UNKNOWN_ID}/more",
    ],
)
def test_unknown_operations_are_404(api, operation_name):
    error = assert_google_error(api.post(FETCH, json={"operationName": operation_name}), 404, "NOT_FOUND")
    assert error["message"] == f"operation {operation_name} not found"


def test_unknown_operations_say_operation_on_get_and_cancel(api):
    path = f"{SCOPE}/{MODEL}/operations/{UNKNOWN_ID}"
    for resp in (api.get(path), api.post(f"{path}:cancel")):
        error = assert_google_error(resp, 404, "NOT_FOUND")
        assert "operation" in error["message"] and "generation" not in error["message"]


def test_unknown_model_is_404_and_creates_nothing(server, api, key):
    with nothing_created(server, key):
        resp = api.post(f"{SCOPE}/imagen-4:predictLongRunning", json={"instances": [{"prompt": "a"}]})
        assert_google_error(resp, 404, "NOT_FOUND")


KEYED_ROUTES = [
    (PREDICT, {"instances": [{"prompt": "a"}]}),
    (PREDICT, {"instances": 7}),
    (FETCH, {"operationName": f"x/operations/{UNKNOWN_ID}"}),
    (f"/v1beta1/publishers/google/models/{MODEL}:predictLongRunning", {"instances": [{"prompt": "a"}]}),
]


@pytest.mark.parametrize("path, body", KEYED_ROUTES)
def test_without_a_token_it_is_401(server, key, path, body):
    with nothing_created(server, key), google_client(server) as anonymous:
        assert_google_error(anonymous.post(path, json=body), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("path, body", KEYED_ROUTES)
@pytest.mark.parametrize("header", ["authorization", "x-goog-api-key"])
def test_an_unknown_or_revoked_token_is_401(server, key, refused_key, header, path, body):
    sent = f"Bearer {refused_key}" if header == "authorization" else refused_key
    with nothing_created(server, key), httpx.Client(base_url=server.url, headers={header: sent}) as refused:
        assert_google_error(refused.post(path, json=body), 401, "UNAUTHENTICATED")


def test_another_token_cannot_fetch_the_operation(server, api):
    name = _predict(api, {"instances": [{"prompt": "private"}], "parameters": {"durationSeconds": 4}})
    with google_client(server, f"other-{uuid.uuid4()}", header="authorization") as other:
        assert_google_error(other.post(FETCH, json={"operationName": name}), 404, "NOT_FOUND")
    _finish(api, name)
