"""The OpenAI videos shape (reelforge's native API) over real HTTP: JSON and multipart creates,
polling with `openai-poll-after-ms`, cursor-paged listing, delete, the three content variants,
the extension fields, the models listing with the catalog's fields, and OpenAI-style errors that
create nothing.

Decisions asserted here (written down in api/dialects/openai/videos.py):
- model ids are the catalog's (`sora-2` is refused); defaults are OpenAI's (4 s, 720x1280) where
  the model renders them, else the model's own;
- unknown parameters are refused (`unknown_parameter`), as OpenAI does;
- content of an unfinished video is 409 `video_not_ready`; `spritesheet` is a 5-column JPEG grid.
"""

import base64
import io
import time
import uuid

import httpx
import numpy as np
import pytest
from PIL import Image

from reelforge.core.catalog import load_catalog
from testkit.native import nothing_created
from testkit.support import UNKNOWN_ID, client, make_image, probe_mp4

MODEL = "veo-3.1-lite"
CATALOG = load_catalog()  # the server's: the built-in catalog


def assert_openai_error(resp: httpx.Response, status: int, param: str | None = None, code: str | None = None):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["type"] == "invalid_request_error" and error["message"], error
    if param is not None:
        assert error["param"] == param, error
    if code is not None:
        assert error["code"] == code, error
    return error


# `key` (a key of the module's own) and `api` (a client sending it as a Bearer token) are
# conftest.py fixtures.


def create(api, **kwargs) -> dict:
    resp = api.post("/v1/videos", **kwargs)
    assert resp.status_code == 200, resp.text
    assert resp.headers["openai-poll-after-ms"].isdigit()
    video = resp.json()
    assert video["object"] == "video" and video["status"] == "queued" and video["progress"] == 0
    return video


def wait(api, video_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = api.get(f"/v1/videos/{video_id}")
        assert resp.status_code == 200, resp.text
        assert resp.headers["openai-poll-after-ms"].isdigit()
        video = resp.json()
        assert 0 <= video["progress"] <= 100
        if video["status"] not in ("queued", "in_progress"):
            return video
        time.sleep(0.2)
    raise TimeoutError(video_id)


def content(api, video_id: str, variant: str | None = None) -> httpx.Response:
    params = {"variant": variant} if variant else {}
    resp = api.get(f"/v1/videos/{video_id}/content", params=params)
    assert resp.status_code == 200, resp.text
    return resp


# the happy paths -------------------------------------------------------------------------------


def test_json_create_poll_and_every_content_variant(api):
    video = create(api, json={"prompt": "a koala", "model": MODEL, "seconds": "4", "size": "1280x720"})
    assert (video["model"], video["seconds"], video["size"], video["prompt"]) == (
        MODEL,
        "4",
        "1280x720",
        "a koala",
    )
    assert video["completed_at"] is None and video["error"] is None and video["expires_at"] is None
    done = wait(api, video["id"])
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["completed_at"] >= done["created_at"]

    mp4 = content(api, video["id"])
    assert mp4.headers["content-type"] == "video/mp4"
    probe = probe_mp4(mp4.content)
    assert (probe.width, probe.height, probe.frames, probe.fps, probe.audio_codec) == (
        1280,
        720,
        96,
        24.0,
        "aac",
    )
    assert content(api, video["id"], "video").content == mp4.content

    thumb = content(api, video["id"], "thumbnail")
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (1280, 720)

    sheet = content(api, video["id"], "spritesheet")
    assert sheet.headers["content-type"] == "image/jpeg"
    grid = Image.open(io.BytesIO(sheet.content))
    assert grid.format == "JPEG" and grid.size == (5 * 256, 5 * 144)  # 25 frames, 5 per row


def test_multipart_with_uploaded_first_and_last_frames(api):
    end = make_image(1280, 720, "JPEG", left=(30, 200, 30), right=(250, 250, 250))
    files = {
        "input_reference": ("start.png", make_image(1600, 1200, "PNG"), "image/png"),
        "last_frame": ("end.jpg", end, "image/jpeg"),
    }
    data = {"prompt": "push in", "seconds": "4", "size": "1280x720", "seed": "99", "generate_audio": "false"}
    video = create(api, data=data, files=files)
    assert video["has_input_reference"] and video["has_last_frame"]
    assert (video["seed"], video["generate_audio"]) == (99, False)
    wait(api, video["id"])
    probe = probe_mp4(content(api, video["id"]).content)
    assert probe.audio_codec is None
    assert probe.first[360, 200][0] > 180 and probe.first[360, 1080][2] > 180  # red | blue
    assert probe.last[360, 200][0] < 90 and probe.last[360, 1080][0] > 180  # dark | white


def test_json_images_as_data_uri_and_image_url_object(api):
    png = base64.b64encode(make_image(1280, 720, "PNG")).decode()
    body = {
        "prompt": "inline images",
        "seconds": 4,
        "input_reference": f"data:image/png;base64,{png}",
        "last_frame": {"image_url": png},
    }
    video = create(api, json=body)
    assert video["has_input_reference"] and video["has_last_frame"]
    assert wait(api, video["id"])["status"] == "completed"


def test_extension_fields_portrait_silent_and_seeded(api):
    body = {
        "prompt": "quiet portrait",
        "seconds": "4",
        "aspect_ratio": "9:16",
        "resolution": "720p",
        "generate_audio": False,
        "negative_prompt": "text",
        "seed": 1234,
        "person_generation": "dont_allow",
    }
    first, second = create(api, json=body), create(api, json=body)
    assert first["size"] == "720x1280" and first["negative_prompt"] == "text"
    assert (first["seed"], first["person_generation"], first["aspect_ratio"]) == (1234, "dont_allow", "9:16")
    other = create(api, json=body | {"seed": 4321})
    a, b, c = (probe_mp4(content(api, wait(api, v["id"])["id"]).content) for v in (first, second, other))
    assert (a.width, a.height, a.audio_codec) == (720, 1280, None)
    # same seed, same picture (within encoder noise); another seed, another picture
    assert np.abs(a.last.astype(int) - b.last.astype(int)).mean() < 1
    assert np.abs(a.last.astype(int) - c.last.astype(int)).mean() > 10


SVD_FRAME = "data:image/png;base64," + base64.b64encode(make_image(1024, 576)).decode()


@pytest.mark.parametrize(
    "body, seconds, size",
    [
        ({}, "4", "720x1280"),  # OpenAI's documented defaults
        ({"model": "MOTION2"}, "5", "720x1280"),  # renders 5 s only: its own duration
        ({"model": "SVD", "input_reference": SVD_FRAME}, "4", "1024x576"),  # no 720x1280: its first size
        ({"resolution": "1080p"}, "4", "1080x1920"),  # the default's orientation at that resolution
        ({"aspect_ratio": "16:9"}, "4", "1280x720"),
        ({"model": "KLING2_1", "seconds": "10"}, "10", "720x1280"),
    ],
)
def test_defaults_are_openais_where_the_model_renders_them(api, body, seconds, size):
    video = create(api, json={"prompt": "defaults"} | body)
    assert (video["model"], video["seconds"], video["size"], video["generate_audio"]) == (
        body.get("model", MODEL),
        seconds,
        size,
        body.get("model", MODEL) == MODEL,
    )
    model = api.get(f"/v1/models/{video['model']}").json()
    if set(body) <= {"model", "input_reference"}:
        assert (str(model["default_duration"]), model["default_size"]) == (seconds, size)
    assert api.delete(f"/v1/videos/{video['id']}").status_code == 200


def test_list_pages_with_a_cursor_in_both_orders(server):
    with client(server, key=f"list-{uuid.uuid4()}") as c:
        ids = [create(c, json={"prompt": f"page {i}", "seconds": "4"})["id"] for i in range(5)]
        try:
            newest_first = ids[::-1]

            def walk(order: str) -> list[str]:
                seen, after = [], None
                while True:
                    params = {"limit": 2, "order": order} | ({"after": after} if after else {})
                    page = c.get("/v1/videos", params=params).json()
                    assert page["object"] == "list" and len(page["data"]) <= 2
                    seen += [v["id"] for v in page["data"]]
                    if not page["has_more"]:
                        return seen
                    assert page["last_id"] == page["data"][-1]["id"]
                    after = page["last_id"]

            assert walk("desc") == newest_first
            assert walk("asc") == ids
            everything = c.get("/v1/videos").json()
            assert [v["id"] for v in everything["data"]] == newest_first and everything["has_more"] is False
            assert everything["first_id"] == ids[-1] and everything["last_id"] == ids[0]
        finally:
            for video_id in ids:
                assert c.delete(f"/v1/videos/{video_id}").json() == {
                    "id": video_id,
                    "object": "video.deleted",
                    "deleted": True,
                }
        assert c.get("/v1/videos").json()["data"] == []


def test_delete_removes_the_video_and_its_media(api, server):
    video = create(api, json={"prompt": "short lived", "seconds": "4"})
    wait(api, video["id"])
    assert api.delete(f"/v1/videos/{video['id']}").status_code == 200
    assert_openai_error(api.get(f"/v1/videos/{video['id']}"), 404)
    assert_openai_error(api.get(f"/v1/videos/{video['id']}/content"), 404)
    assert_openai_error(api.delete(f"/v1/videos/{video['id']}"), 404)
    assert not (server.data_dir / "media" / "outputs" / video["id"].removeprefix("video_")).exists()


def test_ids_are_video_prefixed_and_routes_take_either_form(api):
    video = create(api, json={"prompt": "two names", "seconds": "4"})
    assert video["id"].startswith("video_")
    job_id = video["id"].removeprefix("video_")
    assert str(uuid.UUID(job_id)) == job_id
    for given in (video["id"], job_id):
        assert api.get(f"/v1/videos/{given}").json()["id"] == video["id"]
    assert wait(api, job_id)["status"] == "completed"
    assert content(api, job_id).content == content(api, video["id"]).content
    # every other dialect shows the plain job id
    leonardo = api.get(f"/api/rest/v1/generations/{job_id}").json()["generations_by_pk"]
    assert leonardo["id"] == job_id
    later = create(api, json={"prompt": "the next one", "seconds": "4"})
    for given in (later["id"], later["id"].removeprefix("video_")):
        page = api.get("/v1/videos", params={"after": given, "limit": 1}).json()
        assert [v["id"] for v in page["data"]] == [video["id"]] and page["first_id"] == video["id"]
    events = api.get(f"/v1/videos/{job_id}/events")
    completed = [line for line in events.text.splitlines() if line.startswith("data:")][-1]
    assert f'"id":"{video["id"]}"' in completed.replace(" ", "")
    assert f"/v1/videos/{video['id']}/content?variant=video" in completed
    assert api.delete(f"/v1/videos/{job_id}").json() == {
        "id": video["id"],
        "object": "video.deleted",
        "deleted": True,
    }
    api.delete(f"/v1/videos/{later['id']}")


@pytest.mark.parametrize("route", ["", "/content", "/events", "/cancel", "/remix", "DELETE"])
@pytest.mark.parametrize("given", [f"video_{UNKNOWN_ID}", str(UNKNOWN_ID)])
def test_an_unknown_video_is_404_naming_it_as_sent(api, route, given):
    if route == "DELETE":
        resp = api.delete(f"/v1/videos/{given}")
    elif route in ("/cancel", "/remix"):
        resp = api.post(f"/v1/videos/{given}{route}", json={"prompt": "again"} if route == "/remix" else None)
    else:
        resp = api.get(f"/v1/videos/{given}{route}")
    error = assert_openai_error(resp, 404, code="not_found")
    assert error["message"] == f"video {given} not found"


def test_content_of_an_unfinished_video_is_409(api):
    video = create(api, json={"prompt": "not yet", "model": "VEO3_1", "resolution": "1080p"})
    try:
        assert_openai_error(api.get(f"/v1/videos/{video['id']}/content"), 409, code="video_not_ready")
    finally:
        api.delete(f"/v1/videos/{video['id']}")


def test_models_listing(api):
    models = api.get("/v1/models").json()
    assert models["object"] == "list"
    ids = [m["id"] for m in models["data"]]
    assert MODEL in ids and "google/veo-3.1-lite-generate-001" in ids
    assert ids == [name for name, _ in CATALOG.names()]
    assert all(m["object"] == "model" and m["owned_by"] == "reelforge" for m in models["data"])
    for model in models["data"]:  # the catalog entry of each name, without its engine
        spec = CATALOG.get(model["id"])
        assert model == {
            "id": model["id"],
            "object": "model",
            "created": 0,
            "owned_by": "reelforge",
            **spec.model_dump(mode="json", exclude={"id", "engine", "engine_options", "fallback"}),
            # OpenAI's defaults where the model renders them
            "default_duration": 4 if 4 in spec.durations else spec.default_duration,
            "default_size": "720x1280" if "720x1280" in spec.sizes else spec.sizes[0],
        }
    alias = api.get("/v1/models/google/veo-3.1-lite-generate-001").json()
    assert alias == {**api.get(f"/v1/models/{MODEL}").json(), "id": "google/veo-3.1-lite-generate-001"}
    assert alias["durations"] == [4, 6, 8] and alias["price_per_second"]["audio"]["720p"] == 0.05
    assert_openai_error(api.get("/v1/models/sora-2"), 404)


# refusals --------------------------------------------------------------------------------------

BAD_JSON = [
    ({}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": 5}, "prompt"),
    ({"prompt": "a", "model": "sora-2"}, "model"),
    ({"prompt": "a", "seconds": "12"}, "seconds"),
    ({"prompt": "a", "seconds": "four"}, "seconds"),
    ({"prompt": "a", "seconds": 4.5}, "seconds"),
    ({"prompt": "a", "seconds": True}, "seconds"),
    ({"prompt": "a", "size": "1024x1792"}, "size"),
    ({"prompt": "a", "size": "big"}, "size"),
    ({"prompt": "a", "size": "1280x720", "aspect_ratio": "9:16"}, "size"),
    ({"prompt": "a", "resolution": "4k"}, "resolution"),
    ({"prompt": "a", "aspect_ratio": "1:1"}, "aspect_ratio"),
    ({"prompt": "a", "seed": -1}, "seed"),
    ({"prompt": "a", "seed": "7"}, "seed"),
    ({"prompt": "a", "generate_audio": "yes"}, "generate_audio"),
    ({"prompt": "a", "generate_audio": True, "audio": False}, "generate_audio"),
    ({"prompt": "a", "model": "MOTION2", "generate_audio": True}, "generate_audio"),
    ({"prompt": "a", "person_generation": "kids"}, "person_generation"),
    ({"prompt": "a", "input_reference": "not base64 !!"}, "input_reference"),
    ({"prompt": "a", "input_reference": "gs://bucket/x.png"}, "input_reference"),
    ({"prompt": "a", "input_reference": "http://127.0.0.1:1/x.png"}, "input_reference"),
    ({"prompt": "a", "input_reference": {"file_id": "file_123"}}, "input_reference"),
    ({"prompt": "a", "input_reference": 5}, "input_reference"),
    ({"prompt": "a", "last_frame": base64.b64encode(make_image(64, 64)).decode()}, "last_frame"),
    ({"prompt": "a", "n": 2}, "n"),
    ({"prompt": "a", "negativePrompt": "typo"}, "negativePrompt"),
]


@pytest.mark.parametrize("body, param", BAD_JSON)
def test_bad_json_is_400_and_creates_nothing(server, api, key, body, param):
    with nothing_created(server, key):
        assert_openai_error(api.post("/v1/videos", json=body), 400, param)


def test_unknown_parameter_says_so(api):
    resp = api.post("/v1/videos", json={"prompt": "a", "remix": True})
    error = assert_openai_error(resp, 400, "remix", code="unknown_parameter")
    assert "Unknown parameter" in error["message"]


def test_a_good_image_with_a_bad_setting_stores_no_image(server, api, key):
    files = {"input_reference": ("a.png", make_image(1280, 720), "image/png")}
    with nothing_created(server, key):
        resp = api.post("/v1/videos", data={"prompt": "a", "seconds": "5"}, files=files)
        assert_openai_error(resp, 400, "seconds")


BAD_MULTIPART = [
    ({"prompt": "a", "seed": "x"}, {}, "seed"),
    ({"prompt": "a", "generate_audio": "maybe"}, {}, "generate_audio"),
    ({"prompt": "a"}, {"input_reference": ("a.gif", b"GIF89a" + b"\0" * 64, "image/gif")}, "input_reference"),
    ({"prompt": "a"}, {"input_reference": ("a.png", b"", "image/png")}, "input_reference"),
    ({"prompt": "a"}, {"prompt2": ("x.png", make_image(64, 64), "image/png")}, "prompt2"),
    ({"prompt": "a", "input_reference": "data:image/png;base64,AAAA"},
     {"input_reference": ("a.png", make_image(64, 64), "image/png")}, "input_reference"),
    ({"seconds": "4"}, {"input_reference": ("a.png", make_image(1280, 720), "image/png")}, "prompt"),
]  # fmt: skip


@pytest.mark.parametrize("data, files, param", BAD_MULTIPART)
def test_bad_multipart_is_400_and_creates_nothing(server, api, key, data, files, param):
    with nothing_created(server, key):
        assert_openai_error(api.post("/v1/videos", data=data, files=files or None), 400, param)


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b"{", "application/json"),
        (b"[1]", "application/json"),
        (b"\xff", "application/json"),
        (b"seconds=4", "application/x-www-form-urlencoded"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    ],
)
def test_malformed_bodies_are_400(server, api, key, raw, content_type):
    with nothing_created(server, key):
        assert_openai_error(api.post("/v1/videos", content=raw, headers={"content-type": content_type}), 400)


KEYED_ROUTES = [
    ("POST", "/v1/videos", {"json": {"prompt": "a"}}),
    ("POST", "/v1/videos", {"content": b"{"}),
    ("GET", "/v1/videos", {}),
    ("GET", f"/v1/videos/{UNKNOWN_ID}", {}),
    ("DELETE", f"/v1/videos/{UNKNOWN_ID}", {}),
    ("GET", f"/v1/videos/{UNKNOWN_ID}/content", {}),
    ("GET", "/v1/models", {}),
    ("GET", "/v1/account", {}),
]


@pytest.mark.parametrize("method, path, kwargs", KEYED_ROUTES)
def test_without_a_key_it_is_401(server, key, method, path, kwargs):
    with nothing_created(server, key):
        resp = httpx.request(method, server.url + path, **kwargs)
        assert_openai_error(resp, 401)


@pytest.mark.parametrize("method, path, kwargs", KEYED_ROUTES)
def test_an_unknown_or_revoked_key_is_401(server, key, refused_key, method, path, kwargs):
    with nothing_created(server, key):
        headers = {"Authorization": f"Bearer {refused_key}"}
        resp = httpx.request(method, server.url + path, headers=headers, **kwargs)
        assert_openai_error(resp, 401)


@pytest.mark.parametrize("video_id", [str(UNKNOWN_ID), "video_123", "x" * 300, "%00"])
def test_unknown_ids_are_404(api, video_id):
    assert_openai_error(api.get(f"/v1/videos/{video_id}"), 404)
    assert_openai_error(api.delete(f"/v1/videos/{video_id}"), 404)
    assert_openai_error(api.get(f"/v1/videos/{video_id}/content"), 404)


@pytest.mark.parametrize(
    "params, param",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"order": "newest"}, "order"),
        ({"after": str(UNKNOWN_ID)}, "after"),
    ],
)
def test_bad_list_queries_are_400(api, params, param):
    assert_openai_error(api.get("/v1/videos", params=params), 400, param)


def test_bad_variant_is_400(api):
    assert_openai_error(
        api.get(f"/v1/videos/{uuid.uuid4()}/content", params={"variant": "gif"}), 400, "variant"
    )


def test_another_key_cannot_see_or_delete_a_video(server, api):
    video = create(api, json={"prompt": "mine", "seconds": "4"})
    with client(server, key=f"other-{uuid.uuid4()}") as other:
        assert_openai_error(other.get(f"/v1/videos/{video['id']}"), 404)
        assert_openai_error(other.delete(f"/v1/videos/{video['id']}"), 404)
        assert video["id"] not in [v["id"] for v in other.get("/v1/videos").json()["data"]]
    assert wait(api, video["id"])["status"] == "completed"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"],
)
def test_an_oversized_body_is_refused_while_it_streams(server, api, key, content_type):
    def body():  # 64 MB without a Content-Length, so only the streaming cap can stop it
        chunk = b"A" * (1024 * 1024)
        for _ in range(64):
            yield chunk

    with nothing_created(server, key):
        resp = api.post("/v1/videos", content=body(), headers={"content-type": content_type})
        error = assert_openai_error(resp, 400)
        assert "larger than" in error["message"] or "malformed" in error["message"], error


def _tiny_mp4(frames: int, size=(320, 180)) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i in range(frames):
            shade = int(255 * i / max(1, frames - 1))
            frame = av.VideoFrame.from_ndarray(
                np.full((size[1], size[0], 3), shade, np.uint8), format="rgb24"
            )
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


@pytest.mark.parametrize("frames, grid", [(3, (3, 1)), (7, (5, 2)), (60, (5, 5))])
def test_spritesheet_tiles_frames_in_time_order(frames, grid):
    from reelforge.media.spritesheet import build_spritesheet

    sheet = Image.open(io.BytesIO(build_spritesheet(_tiny_mp4(frames), tile_width=64))).convert("L")
    assert sheet.size == (grid[0] * 64, grid[1] * 36)
    centres = [sheet.getpixel((c * 64 + 32, r * 36 + 18)) for r in range(grid[1]) for c in range(grid[0])]
    shown = centres[: min(frames, 25)]
    assert shown == sorted(shown) and shown[0] < 20 and shown[-1] > 235  # first to last frame
