"""Videos made from videos in the OpenAI shape, with the official `openai` SDK against a live
server: `videos.remix` (same model, size, length and frames, a new prompt, `remixed_from_video_id`),
extensions (`POST /videos/extensions`: a clip that starts at the source's last frame) and edits
(`POST /videos/edits`: no engine can, so 400 `unsupported_value`). The installed SDK types
extensions and edits but has no methods for them yet, so they go through its generic `post`.
Every new video is decoded with PyAV."""

import json
import uuid

import httpx
import numpy as np
import pytest

from testkit.support import ServerProcess, make_image, probe_mp4

openai = pytest.importorskip("openai")
from openai.types import Video  # noqa: E402

RED, BLUE = (220, 40, 40), (40, 60, 220)


@pytest.fixture
def oai(server):
    with openai.OpenAI(
        api_key=server.key(f"openai-derived-{uuid.uuid4()}"), base_url=f"{server.url}/v1", max_retries=0
    ) as c:
        yield c


@pytest.fixture(scope="module")
def source(server):
    """A completed portrait video with a red | blue start frame, made by its own account."""
    key = server.key(f"openai-derived-source-{uuid.uuid4()}")
    with openai.OpenAI(api_key=key, base_url=f"{server.url}/v1", max_retries=0) as c:
        video = c.videos.create_and_poll(
            prompt="a harbour at dawn",
            seconds="4",
            size="720x1280",
            input_reference=("start.png", make_image(720, 1280, "PNG", left=RED, right=BLUE), "image/png"),
        )
        assert video.status == "completed", video
        yield c, video, probe_mp4(c.videos.download_content(video.id).content)


def test_remix_keeps_everything_but_the_prompt(source):
    oai, original, original_probe = source
    remix = oai.videos.remix(original.id, prompt="the same harbour at night")
    assert remix.id.startswith("video_") and remix.id != original.id
    assert remix.remixed_from_video_id == original.id
    assert (remix.status, remix.model, remix.size, remix.seconds, remix.prompt) == (
        "queued",
        original.model,
        original.size,
        original.seconds,
        "the same harbour at night",
    )
    raw = remix.to_dict()
    assert (raw["seed"], raw["has_input_reference"]) == (original.to_dict()["seed"], True)
    done = oai.videos.poll(remix.id)
    assert done.status == "completed" and done.remixed_from_video_id == original.id
    probe = probe_mp4(oai.videos.download_content(remix.id).content)
    assert (probe.width, probe.height, probe.frames) == (720, 1280, 96)
    assert probe.first[640, 100][0] > 180 and probe.first[640, 620][2] > 180  # the same start frame
    assert np.abs(probe.first.astype(int) - original_probe.first.astype(int)).mean() < 8
    assert original.id in [v.id for v in oai.videos.list()]  # the source is untouched
    assert oai.videos.retrieve(original.id).remixed_from_video_id is None


def test_remix_refusals(source, server):
    oai, original, _ = source
    unfinished = oai.videos.create(prompt="not yet", model="VEO3_1", extra_body={"resolution": "1080p"})
    with pytest.raises(openai.BadRequestError) as refused:
        oai.videos.remix(unfinished.id, prompt="too early")
    assert "completed" in refused.value.body["message"]
    oai.videos.delete(unfinished.id)
    with pytest.raises(openai.NotFoundError) as missing:
        oai.videos.remix(unfinished.id, prompt="gone")
    assert missing.value.body["message"] == f"video {unfinished.id} not found"
    other_key = server.key(f"other-{uuid.uuid4()}")
    with (
        openai.OpenAI(api_key=other_key, base_url=f"{server.url}/v1") as other,
        pytest.raises(openai.NotFoundError),
    ):
        other.videos.remix(original.id, prompt="not mine")
    with pytest.raises(openai.BadRequestError) as unknown:
        oai.videos.remix(original.id, prompt="x", extra_body={"seconds": "8"})
    assert (unknown.value.body["code"], unknown.value.body["param"]) == ("unknown_parameter", "seconds")


def test_an_extension_starts_at_the_last_frame(source):
    oai, original, original_probe = source
    plain_id = original.id.removeprefix("video_")  # either form of the id names the source
    extension = oai.post(
        "/videos/extensions",
        body={"prompt": "the boats sail out", "seconds": "8", "video": {"id": plain_id}},
        cast_to=Video,
    )
    assert (extension.model, extension.size, extension.seconds) == (original.model, original.size, "8")
    assert extension.remixed_from_video_id is None and extension.to_dict()["has_input_reference"]
    assert oai.videos.poll(extension.id).status == "completed"
    probe = probe_mp4(oai.videos.download_content(extension.id).content)
    assert (probe.width, probe.height, probe.frames) == (720, 1280, 192)
    onto_last = np.abs(probe.first.astype(int) - original_probe.last.astype(int)).mean()
    onto_first = np.abs(probe.first.astype(int) - original_probe.first.astype(int)).mean()
    assert onto_last < 8 and onto_last < onto_first, (onto_last, onto_first)


@pytest.mark.parametrize(
    "body, param",
    [
        ({"prompt": "x", "video": {"id": "{id}"}}, "seconds"),
        ({"prompt": "x", "seconds": "5", "video": {"id": "{id}"}}, "seconds"),
        ({"prompt": "x", "seconds": "four", "video": {"id": "{id}"}}, "seconds"),
        ({"prompt": "x", "seconds": "4", "video": "AAAA"}, "video"),
        ({"prompt": "x", "seconds": "4", "video": {"id": "{id}", "url": "u"}}, "video"),
        ({"seconds": "4", "video": {"id": "{id}"}}, "prompt"),
    ],
)
def test_bad_extensions_are_400(source, body, param):
    oai, original, _ = source
    body = json.loads(json.dumps(body).replace("{id}", original.id))
    with pytest.raises(openai.BadRequestError) as refused:
        oai.post("/videos/extensions", body=body, cast_to=Video)
    assert refused.value.body["param"] == param, refused.value.body


def test_extensions_and_remixes_as_forms(source, server):
    oai, original, _ = source
    with httpx.Client(base_url=f"{server.url}/v1", headers={"Authorization": f"Bearer {oai.api_key}"}) as api:
        form = {"prompt": "a form", "seconds": "4", "video[id]": original.id}
        extension = api.post("/videos/extensions", data=form)
        assert extension.status_code == 200, extension.text
        assert (extension.json()["seconds"], extension.json()["size"]) == ("4", original.size)
        remix = api.post(f"/videos/{original.id}/remix", files={"prompt": (None, "a multipart remix")})
        assert remix.json()["remixed_from_video_id"] == original.id, remix.text
        file = api.post(
            "/videos/extensions",
            data={"prompt": "x", "seconds": "4"},
            files={"video": ("clip.mp4", b"\x00" * 64, "video/mp4")},
        )
        error = file.json()["error"]
        assert (file.status_code, error["param"], error["code"]) == (400, "video", "invalid_request"), error
        twice = api.post(
            "/videos/extensions",
            content=b"prompt=a&prompt=b&seconds=4&video%5Bid%5D=" + original.id.encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert (twice.status_code, twice.json()["error"]["param"]) == (400, "prompt"), twice.text
        for made in (extension, remix):
            assert api.delete(f"/videos/{made.json()['id']}").status_code == 200


def test_an_extension_of_an_unfinished_video_is_400(oai):
    unfinished = oai.videos.create(prompt="not yet", model="VEO3_1", extra_body={"resolution": "1080p"})
    with pytest.raises(openai.BadRequestError) as refused:
        oai.post(
            "/videos/extensions",
            body={"prompt": "x", "seconds": "4", "video": {"id": unfinished.id}},
            cast_to=Video,
        )
    assert refused.value.body["param"] == "video"
    oai.videos.delete(unfinished.id)


def test_edits_are_unsupported_by_every_model(source):
    oai, original, _ = source
    with pytest.raises(openai.BadRequestError) as refused:
        oai.post("/videos/edits", body={"prompt": "add snow", "video": {"id": original.id}}, cast_to=Video)
    body = refused.value.body
    assert (refused.value.status_code, body["code"], body["param"], body["type"]) == (
        400,
        "unsupported_value",
        "model",
        "invalid_request_error",
    )
    with pytest.raises(openai.NotFoundError):  # an unknown video is 404 first
        oai.post("/videos/edits", body={"prompt": "add snow", "video": {"id": "video_nope"}}, cast_to=Video)


CATALOG = [
    {
        "id": "NO-FRAMES",
        "engine": "preview",
        "durations": [4],
        "default_duration": 4,
        "sizes": ["1280x720"],
        "audio": False,
        "start_frame": False,
        "end_frame": False,
        "price_per_second": {"silent": {"720p": 0.01}},
    }
]


def test_a_model_without_start_frames_cannot_extend(tmp_path):
    (tmp_path / "catalog.json").write_text(json.dumps({"models": CATALOG}))
    env = {"REELFORGE_CATALOG_PATH": str(tmp_path / "catalog.json")}
    srv = ServerProcess(tmp_path / "data", workers=1, env=env).start()
    try:
        with openai.OpenAI(api_key=srv.key("no-frames"), base_url=f"{srv.url}/v1", max_retries=0) as oai:
            video = oai.videos.create_and_poll(prompt="a field")
            assert (video.status, video.size, video.seconds) == ("completed", "1280x720", "4")
            with pytest.raises(openai.BadRequestError) as refused:
                oai.post(
                    "/videos/extensions",
                    body={"prompt": "more", "seconds": "4", "video": {"id": video.id}},
                    cast_to=Video,
                )
            body = refused.value.body
            assert (body["code"], body["param"]) == ("unsupported_value", "model"), body
            assert oai.videos.remix(video.id, prompt="again").remixed_from_video_id == video.id
    finally:
        srv.stop()


def test_a_retried_remix_or_extension_makes_one_video(source):
    oai, original, _ = source
    before = len(oai.videos.list(limit=100).data)
    for path, body in (
        (f"/videos/{original.id}/remix", {"prompt": "once only"}),
        ("/videos/extensions", {"prompt": "once only", "seconds": "4", "video": {"id": original.id}}),
    ):
        headers = {"Authorization": f"Bearer {oai.api_key}", "Idempotency-Key": f"retry-{uuid.uuid4()}"}
        url = f"{oai.base_url}{path.lstrip('/')}"
        first = httpx.post(url, json=body, headers=headers)
        again = httpx.post(url, json=body, headers=headers)
        assert first.status_code == 200 and first.json()["id"].startswith("video_"), first.text
        assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert len(oai.videos.list(limit=100).data) == before + 2
