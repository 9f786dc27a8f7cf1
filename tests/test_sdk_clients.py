"""The official clients from PyPI, pointed at a live reelforge, complete create -> poll -> download.

- `google-genai` in Gemini API mode: `models.generate_videos` + `operations.get` +
  `files.download` (the key travels as `x-goog-api-key`; over plain http the SDK sends the whole
  video URI as the file name, which reelforge understands); `files.list` (paged), `files.get`
  and `files.delete`; refused keys as Google's 403 PERMISSION_DENIED;
- `google-genai` in Vertex AI mode, with OAuth credentials on a project/location (inline video
  bytes) and in express mode with an API key (`output_gcs_uri`, so a video URI);
- `openai`: `videos.create_and_poll` (which honours `openai-poll-after-ms`) + `download_content`,
  with and without an `input_reference` upload, plus listing and deleting; `models.list` and
  `models.retrieve` with reelforge's catalog fields.

google-genai 3.x dropped `generate_videos` from Gemini API mode (Vertex only), so the test extra
pins it below 3; the wire format these tests prove is the Gemini API's either way.
"""

import time
import uuid
import warnings

import httpx
import pytest

from testkit.support import UNKNOWN_KEY, make_image, probe_mp4

genai = pytest.importorskip("google.genai")
openai = pytest.importorskip("openai")
from google.genai import types  # noqa: E402
from google.oauth2.credentials import Credentials  # noqa: E402

PROMPT = "A koala and a cat playing together in a sunlit meadow"


def _until_done(client, operation, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not operation.done:
        assert time.monotonic() < deadline, "operation did not finish"
        time.sleep(0.3)
        operation = client.operations.get(operation)
    return operation


@pytest.fixture
def gemini(server):
    return genai.Client(
        api_key=server.key(f"genai-{uuid.uuid4()}"), http_options=types.HttpOptions(base_url=server.url)
    )


def test_genai_gemini_text_to_video_downloaded_with_files_download(gemini):
    operation = gemini.models.generate_videos(
        model="veo-3.1-lite-generate-preview",
        source=types.GenerateVideosSource(prompt=PROMPT),
        config=types.GenerateVideosConfig(
            duration_seconds=4,
            aspect_ratio="9:16",
            resolution="720p",
            number_of_videos=2,
            negative_prompt="blurry",
            person_generation="allow_adult",
        ),
    )
    assert operation.name.startswith("models/veo-3.1-lite-generate-preview/operations/")
    operation = _until_done(gemini, operation)
    assert operation.error is None
    videos = operation.result.generated_videos
    assert len(videos) == 2
    for generated in videos:
        data = gemini.files.download(file=generated.video)
        assert generated.video.video_bytes == data  # the SDK also keeps the bytes on the Video
        probe = probe_mp4(data)
        assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (720, 1280, 96, "aac")


def test_genai_gemini_image_and_last_frame(gemini):
    start = types.Image(image_bytes=make_image(1280, 720, "PNG"), mime_type="image/png")
    end = types.Image(
        image_bytes=make_image(1280, 720, "JPEG", left=(30, 200, 30), right=(250, 250, 250)),
        mime_type="image/jpeg",
    )
    operation = gemini.models.generate_videos(
        model="veo-3.1-lite-generate-preview",
        source=types.GenerateVideosSource(prompt="push in", image=start),
        config=types.GenerateVideosConfig(duration_seconds=4, last_frame=end),
    )
    operation = _until_done(gemini, operation)
    probe = probe_mp4(gemini.files.download(file=operation.result.generated_videos[0].video))
    assert probe.first[360, 200][0] > 180 and probe.last[360, 1080][0] > 180


def test_genai_gemini_errors_surface_as_client_errors(gemini, server):
    from google.genai import errors

    with pytest.raises(errors.ClientError) as refused:
        gemini.models.generate_videos(
            model="veo-3.1-lite-generate-preview",
            source=types.GenerateVideosSource(prompt=PROMPT),
            config=types.GenerateVideosConfig(duration_seconds=5),
        )
    assert refused.value.code == 400 and refused.value.status == "INVALID_ARGUMENT"
    with pytest.raises(errors.ClientError) as unknown:
        gemini.models.generate_videos(model="sora-2", source=types.GenerateVideosSource(prompt=PROMPT))
    assert unknown.value.code == 404
    keyless = genai.Client(api_key=" ", http_options=types.HttpOptions(base_url=server.url))
    with pytest.raises(errors.ClientError) as anonymous:
        keyless.models.generate_videos(
            model="veo-3.1-lite-generate-preview", source=types.GenerateVideosSource(prompt=PROMPT)
        )
    assert anonymous.value.code == 403 and anonymous.value.status == "PERMISSION_DENIED"
    never_issued = genai.Client(api_key=UNKNOWN_KEY, http_options=types.HttpOptions(base_url=server.url))
    with pytest.raises(errors.ClientError) as refused:
        never_issued.models.generate_videos(
            model="veo-3.1-lite-generate-preview", source=types.GenerateVideosSource(prompt=PROMPT)
        )
    assert refused.value.code == 403 and refused.value.status == "PERMISSION_DENIED"


def test_genai_gemini_files_list_get_and_delete(gemini, server):
    from google.genai import errors

    names = []
    for _ in range(3):
        operation = gemini.models.generate_videos(
            model="veo-3.1-lite-generate-preview",
            source=types.GenerateVideosSource(prompt=PROMPT),
            config=types.GenerateVideosConfig(duration_seconds=4),
        )
        names.insert(0, _until_done(gemini, operation).name.rsplit("/", 1)[1])
    listed = list(gemini.files.list(config=types.ListFilesConfig(page_size=2)))  # the pager follows the token
    assert [f.name for f in listed] == [f"files/{uuid.UUID(n).hex}v0" for n in names]
    for file in listed:
        assert file.mime_type == "video/mp4" and file.source == types.FileSource.GENERATED
        assert file.state == types.FileState.ACTIVE and file.size_bytes > 0
        assert gemini.files.get(name=file.name) == file
        assert probe_mp4(gemini.files.download(file=file.name)).frames == 96
    gemini.files.delete(name=listed[0].name)
    assert [f.name for f in gemini.files.list()] == [f.name for f in listed[1:]]
    with pytest.raises(errors.ClientError) as gone:
        gemini.files.get(name=listed[0].name)
    assert gone.value.code == 403 and gone.value.status == "PERMISSION_DENIED"
    with pytest.raises(errors.ClientError) as again:
        gemini.files.delete(name=listed[0].name)
    assert again.value.code == 403
    stranger = genai.Client(
        api_key=server.key(f"genai-{uuid.uuid4()}"), http_options=types.HttpOptions(base_url=server.url)
    )
    assert list(stranger.files.list()) == []
    with pytest.raises(errors.ClientError) as others:
        stranger.files.delete(name=listed[1].name)
    assert others.value.code == 403
    assert [f.name for f in gemini.files.list()] == [f.name for f in listed[1:]]


def test_genai_vertex_with_oauth_credentials_returns_inline_bytes(server):
    client = genai.Client(
        vertexai=True,
        project="my-project",
        location="us-central1",
        credentials=Credentials(token=server.key(f"vertex-token-{uuid.uuid4()}")),
        http_options=types.HttpOptions(base_url=server.url),
    )
    operation = client.models.generate_videos(
        model="veo-3.1-lite-generate-001",
        source=types.GenerateVideosSource(prompt=PROMPT),
        config=types.GenerateVideosConfig(duration_seconds=4, generate_audio=False, seed=42),
    )
    assert operation.name.startswith("projects/my-project/locations/us-central1/")
    operation = _until_done(client, operation)
    [generated] = operation.result.generated_videos
    assert generated.video.mime_type == "video/mp4" and generated.video.uri is None
    probe = probe_mp4(generated.video.video_bytes)
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, None)


def test_genai_vertex_express_mode_with_an_output_uri(server):
    client = genai.Client(
        vertexai=True,
        api_key=server.key(f"express-{uuid.uuid4()}"),
        http_options=types.HttpOptions(base_url=server.url),
    )
    start = types.Image(image_bytes=make_image(720, 1280, "PNG"), mime_type="image/png")
    operation = client.models.generate_videos(
        model="veo-3.1-lite-generate-001",
        source=types.GenerateVideosSource(prompt="portrait", image=start),
        config=types.GenerateVideosConfig(
            duration_seconds=4, aspect_ratio="9:16", output_gcs_uri="gs://bucket/out/", number_of_videos=1
        ),
    )
    operation = _until_done(client, operation)
    [generated] = operation.result.generated_videos
    assert generated.video.uri.startswith(server.url)
    probe = probe_mp4(httpx.get(generated.video.uri).content)
    assert (probe.width, probe.height, probe.frames) == (720, 1280, 96)


@pytest.fixture
def oai(server):
    with openai.OpenAI(
        api_key=server.key(f"openai-sdk-{uuid.uuid4()}"), base_url=f"{server.url}/v1", max_retries=0
    ) as c:
        yield c


def test_openai_create_and_poll_then_download_every_variant(oai):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "6" and the Veo model are outside the SDK's Sora literals
        video = oai.videos.create_and_poll(
            prompt=PROMPT,
            model="veo-3.1-lite",
            seconds="4",
            size="1280x720",
            extra_body={"negative_prompt": "text", "seed": 7, "generate_audio": True},
        )
    assert video.status == "completed" and video.progress == 100 and video.error is None
    assert (video.seconds, video.size, video.model) == ("4", "1280x720", "veo-3.1-lite")
    probe = probe_mp4(oai.videos.download_content(video.id).content)
    assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")
    thumbnail = oai.videos.download_content(video.id, variant="thumbnail").content
    spritesheet = oai.videos.download_content(video.id, variant="spritesheet").content
    assert thumbnail[:3] == spritesheet[:3] == b"\xff\xd8\xff"

    assert video.id in [v.id for v in oai.videos.list()]
    assert oai.videos.retrieve(video.id).status == "completed"
    deleted = oai.videos.delete(video.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (video.id, True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        oai.videos.retrieve(video.id)


def test_openai_input_reference_upload(oai):
    video = oai.videos.create_and_poll(
        prompt="push in",
        model="veo-3.1-lite",
        seconds="4",
        size="720x1280",
        input_reference=("start.png", make_image(720, 1280, "PNG"), "image/png"),
    )
    assert video.status == "completed"
    probe = probe_mp4(oai.videos.download_content(video.id).content)
    assert (probe.width, probe.height) == (720, 1280)
    assert probe.first[640, 100][0] > 180 and probe.first[640, 620][2] > 180  # red | blue halves


def test_openai_models_list_and_retrieve_keep_reelforges_catalog_fields(oai):
    models = list(oai.models.list())
    assert "veo-3.1-lite" in [m.id for m in models] and all(m.owned_by == "reelforge" for m in models)
    model = oai.models.retrieve("veo-3.1-lite").to_dict()
    assert (model["durations"], model["default_duration"], model["default_size"], model["end_frame"]) == (
        [4, 6, 8],
        4,
        "720x1280",
        True,
    )
    assert model["price_per_second"]["audio"]["720p"] == 0.05


def test_openai_errors_surface_as_sdk_exceptions(oai, server):
    with pytest.raises(openai.BadRequestError) as refused:
        oai.videos.create(prompt=PROMPT, model="sora-2")
    assert refused.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        oai.videos.retrieve(str(uuid.uuid4()))
    keyless = openai.OpenAI(api_key="", base_url=f"{server.url}/v1", max_retries=0)
    with keyless, pytest.raises(openai.AuthenticationError):
        keyless.videos.list()
    never_issued = openai.OpenAI(api_key=UNKNOWN_KEY, base_url=f"{server.url}/v1", max_retries=0)
    with never_issued, pytest.raises(openai.AuthenticationError):
        never_issued.videos.list()
