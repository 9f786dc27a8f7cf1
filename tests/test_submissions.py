"""The one submission path (service/submissions.py), in process on a real SQLite database and a
real media directory: defaults from the catalog, one check before any input is stored, and no
stored input left behind by a refused request."""

import contextlib
import dataclasses
import io
import uuid

import anyio
import av
import numpy as np
import pytest
from PIL import Image

from reelforge.config import Settings
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import JobExtras, JobStatus
from reelforge.core.request import (
    MAX_NEGATIVE_PROMPT,
    MAX_PROMPT,
    Draft,
    FrameInput,
    FrameKind,
    Orientation,
    OutputFrame,
)
from reelforge.engines.preview import reference_boxes
from reelforge.runtime import build_runtime
from testkit.databases import postgres_database
from testkit.support import make_image


@pytest.fixture
def runtime(tmp_path):
    rt = build_runtime(Settings(data_dir=tmp_path / "data", workers=0))
    yield rt
    rt.stop()


def _uploads(runtime) -> list:
    path = runtime.blobs.local_path("uploads")
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def test_defaults_come_from_the_model(runtime):
    job = runtime.service.submit(Draft(prompt="a fox"), "me", JobExtras(dialect="test"))
    req = job.request
    assert (req.model, req.duration, req.width, req.height, req.audio) == ("veo-3.1-lite", 8, 1280, 720, True)
    assert job.status is JobStatus.QUEUED and job.extras.dialect == "test"
    assert str(job.cost_usd) == "0.4000"  # 8 s x $0.05 (720p with audio)
    assert runtime.service.get(job.id, "me").request == req


def test_orientation_and_tier_pick_the_size(runtime):
    draft = Draft(prompt="a fox", resolution="1080p", orientation=Orientation.PORTRAIT, audio=False)
    req = runtime.service.submit(draft, "me").request
    assert (req.width, req.height, req.audio) == (1080, 1920, False)


def test_a_duration_hint_is_ignored_by_a_single_length_model(runtime):
    assert runtime.service.submit(Draft(prompt="x", model="MOTION2", duration=8, duration_is_hint=True), "me")
    job = runtime.service.submit(Draft(prompt="x", model="MOTION2", duration=8, duration_is_hint=True), "me")
    assert job.request.duration == runtime.service.catalog.get("MOTION2").default_duration
    with pytest.raises(InvalidRequest) as refused:
        runtime.service.submit(
            Draft(prompt="x", model="veo-3.1-lite", duration=5, duration_is_hint=True), "me"
        )
    assert refused.value.field == "duration"


def test_inline_frames_become_the_owners_assets(runtime):
    start = FrameInput(FrameKind.BYTES, make_image(640, 360))
    end = FrameInput(FrameKind.BYTES, make_image(640, 360, "JPEG"))
    job = runtime.service.submit(Draft(prompt="x", start=start, end=end), "me")
    for asset_id in (job.request.start_image, job.request.end_image):
        asset = runtime.service.uploads.get(asset_id, "me")
        assert asset.ready and (asset.width, asset.height) == (640, 360)
    assert len(_uploads(runtime)) == 2


def test_a_request_the_catalog_refuses_stores_no_image(runtime):
    """VEO3 takes no end frame: refused before either image is stored."""
    frame = FrameInput(FrameKind.BYTES, make_image(640, 360))
    with pytest.raises(InvalidRequest) as refused:
        runtime.service.submit(Draft(prompt="x", model="VEO3", start=frame, end=frame), "me")
    assert refused.value.field == "end_image"
    assert _uploads(runtime) == []
    assert runtime.service.list("me") == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"prompt": " \t\n"}, "prompt"),
        ({"prompt": "p" * (MAX_PROMPT + 1)}, "prompt"),
        ({"prompt": "p", "negative_prompt": "n" * (MAX_NEGATIVE_PROMPT + 1)}, "negative_prompt"),
    ],
)
def test_prompts_are_bounded_and_not_blank_on_every_path(runtime, fields, field):
    """What the CLI and every dialect submit: refused before the frame is stored."""
    frame = FrameInput(FrameKind.BYTES, make_image(640, 360))
    with pytest.raises(InvalidRequest) as refused:
        runtime.service.submit(Draft(**fields, start=frame), "me")
    assert refused.value.field == field
    assert _uploads(runtime) == []
    assert runtime.service.list("me") == []


def test_a_prompt_of_the_maximum_length_is_taken(runtime):
    job = runtime.service.submit(
        Draft(prompt="p" * MAX_PROMPT, negative_prompt="n" * MAX_NEGATIVE_PROMPT), "me"
    )
    assert runtime.service.get(job.id).request.prompt == "p" * MAX_PROMPT


def test_a_bad_second_frame_removes_the_stored_first(runtime):
    start = FrameInput(FrameKind.BYTES, make_image(640, 360))
    end = FrameInput(FrameKind.BASE64, "!!! not base64", "lastFrame.bytesBase64Encoded")
    with pytest.raises(InvalidRequest) as refused:
        runtime.service.submit(Draft(prompt="x", start=start, end=end), "me")
    assert refused.value.field == "lastFrame.bytesBase64Encoded"
    assert _uploads(runtime) == []
    assert runtime.service.list("me") == []


def test_an_end_frame_needs_a_start_frame(runtime):
    end = FrameInput(FrameKind.BYTES, make_image(640, 360))
    with pytest.raises(InvalidRequest) as refused:
        runtime.service.submit(Draft(prompt="x", end=end), "me")
    assert (refused.value.field, refused.value.message) == (
        "end_image",
        "end_image: an end frame needs a start frame",
    )
    assert _uploads(runtime) == []


def test_uploads_must_be_the_callers_and_ready(runtime):
    mine = runtime.service.uploads.add_image("me", make_image(640, 360))
    pending, _ = runtime.service.uploads.create("me", "png")
    for owner, asset_id, why in (("you", mine.id, "not found"), ("me", pending.id, "not been uploaded")):
        with pytest.raises(InvalidRequest) as refused:
            runtime.service.submit(Draft(prompt="x", start=FrameInput(FrameKind.UPLOAD, asset_id)), owner)
        assert why in refused.value.message and refused.value.field == "start_image"
    job = runtime.service.submit(Draft(prompt="x", start=FrameInput(FrameKind.UPLOAD, mine.id)), "me")
    assert job.request.start_image == mine.id


def test_start_frame_orientation_follows_the_upload(runtime):
    tall = runtime.service.uploads.add_image("me", make_image(360, 640))
    draft = Draft(
        prompt="x",
        model="SVD",
        audio=False,
        orientation=Orientation.START_FRAME,
        start=FrameInput(FrameKind.UPLOAD, tall.id),
    )
    req = runtime.service.submit(draft, "me").request
    assert req.height > req.width


def test_a_finished_videos_frame_becomes_the_next_ones_start(runtime):
    service = runtime.service
    first = service.submit(Draft(prompt="a fox", duration=4, resolution="720p"), "me")
    unfinished = FrameInput(FrameKind.OUTPUT, OutputFrame(first.id), "generatedImageId")
    with pytest.raises(InvalidRequest, match="has no finished output") as refused:
        service.submit(Draft(prompt="next", start=unfinished), "me")
    assert refused.value.field == "generatedImageId"
    assert runtime.worker.work_next(first.id) and service.get(first.id).status is JobStatus.SUCCEEDED
    video = runtime.blobs.read_bytes(service.get(first.id).outputs[0].video_key)
    frames = [f.to_ndarray(format="rgb24") for f in av.open(io.BytesIO(video)).decode(video=0)]

    for which, expected in (("last", frames[-1]), ("first", frames[0])):
        frame = FrameInput(FrameKind.OUTPUT, OutputFrame(first.id, 0, which))
        job = service.submit(Draft(prompt="next", start=frame), "me")
        image = Image.open(
            io.BytesIO(runtime.blobs.read_bytes(service.uploads.get(job.request.start_image).key))
        )
        assert np.array_equal(np.asarray(image.convert("RGB")), expected), which
    assert not np.array_equal(frames[0], frames[-1])  # so the two checks above tell the frames apart

    for owner, output in (("someone else", OutputFrame(first.id)), ("me", OutputFrame(first.id, sample=1))):
        with pytest.raises(InvalidRequest, match="not found|no finished output"):
            service.submit(Draft(prompt="next", start=FrameInput(FrameKind.OUTPUT, output)), owner)
    assert len(_uploads(runtime)) == 2  # the two accepted above; the refused stored nothing


# reference images (issue 14) ---------------------------------------------------------------------

REFERENCE_COLOURS = [(230, 30, 30), (30, 200, 60), (40, 60, 230)]


def _solid(colour, size=(320, 240)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def _references(*colours) -> tuple[FrameInput, ...]:
    return tuple(FrameInput(FrameKind.BYTES, _solid(colour)) for colour in colours)


def test_reference_images_become_the_owners_assets_and_show_in_the_video(runtime):
    service = runtime.service
    draft = Draft(
        prompt="x", model="VEO3_1", resolution="720p", reference_images=_references(*REFERENCE_COLOURS)
    )
    job = service.submit(draft, "me")
    assert len(job.request.reference_images) == 3 and job.request.start_image is None
    for asset_id in job.request.reference_images:
        asset = service.uploads.get(asset_id, "me")
        assert asset.ready and (asset.width, asset.height) == (320, 240)
    assert service.get(job.id).request == job.request  # read back from the database as stored
    assert runtime.worker.work_next(job.id) and service.get(job.id).status is JobStatus.SUCCEEDED

    video = runtime.blobs.read_bytes(service.get(job.id).outputs[0].video_key)
    frames = [f.to_ndarray(format="rgb24") for f in av.open(io.BytesIO(video)).decode(video=0)]
    assert len(frames) == 8 * 24
    for box, colour in zip(reference_boxes(1280, 720, 3), REFERENCE_COLOURS, strict=True):
        left, top, right, bottom = box
        for frame in (frames[0], frames[-1]):
            mean = frame[top + 3 : bottom - 3, left + 3 : right - 3].reshape(-1, 3).mean(axis=0)
            assert np.abs(mean - colour).max() < 12, (box, mean, colour)


@pytest.mark.parametrize(
    ("model", "count", "says"),
    [
        ("veo-3.1-lite", 1, "veo-3.1-lite takes no reference images"),
        ("VEO3_1", 4, "takes at most 3 reference images"),
    ],
)
def test_references_the_model_cannot_take_are_refused_before_anything_is_stored(runtime, model, count, says):
    references = _references(*(REFERENCE_COLOURS * 2)[:count])
    with pytest.raises(InvalidRequest, match=says) as refused:
        runtime.service.submit(Draft(prompt="x", model=model, reference_images=references), "me")
    assert refused.value.field == "reference_images"
    assert _uploads(runtime) == [] and runtime.service.list("me") == []


def test_references_need_8_seconds_on_veo_3_1(runtime):
    draft = Draft(
        prompt="x", model="VEO3_1FAST", duration=4, reference_images=_references(REFERENCE_COLOURS[0])
    )
    with pytest.raises(
        InvalidRequest, match="duration must be 8 for VEO3_1FAST with reference images"
    ) as refused:
        runtime.service.submit(draft, "me")
    assert refused.value.field == "duration"
    assert runtime.service.submit(dataclasses.replace(draft, duration=8), "me").request.duration == 8


def test_a_bad_reference_removes_every_image_stored_before_it(runtime):
    bad = FrameInput(FrameKind.SOURCE, "data:image/gif;base64,R0lGODlh", "image_urls[2]")
    draft = Draft(
        prompt="x",
        model="VEO3_1",
        start=FrameInput(FrameKind.BYTES, make_image(640, 360)),
        reference_images=(*_references(*REFERENCE_COLOURS[:2]), bad),
    )
    with pytest.raises(InvalidRequest) as refused:
        runtime.service.submit(draft, "me")
    assert refused.value.field == "image_urls[2]"
    assert _uploads(runtime) == [] and runtime.service.list("me") == []


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_runtime(request, tmp_path):
    """A runtime on a SQLite file, and on the PostgreSQL server on 127.0.0.1:5432."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if request.param == "postgresql" else None
        rt = build_runtime(Settings(data_dir=tmp_path / "data", workers=0, database_url=url))
        yield rt
        rt.stop()


def test_deleting_a_job_deletes_its_references_unless_another_job_uses_them(any_database_runtime):
    runtime = any_database_runtime
    service = runtime.service
    shared = service.uploads.add_image("me", _solid(REFERENCE_COLOURS[0]))
    own = _references(REFERENCE_COLOURS[1])
    first = service.submit(
        Draft(prompt="x", model="VEO3_1", reference_images=(FrameInput(FrameKind.UPLOAD, shared.id), *own)),
        "me",
    )
    second = service.submit(
        Draft(prompt="y", model="VEO3_1", reference_images=(FrameInput(FrameKind.UPLOAD, shared.id),)), "me"
    )
    inline = first.request.reference_images[1]
    assert len(_uploads(runtime)) == 2

    service.delete(first.id, "me")
    with pytest.raises(NotFound):
        service.uploads.get(inline)
    assert service.uploads.get(shared.id, "me").ready  # the second job still uses it
    assert len(_uploads(runtime)) == 1

    service.delete(second.id, "me")
    with pytest.raises(NotFound):
        service.uploads.get(shared.id)
    assert _uploads(runtime) == []


@pytest.fixture
def fetching_runtime(tmp_path):
    """A runtime trusting loopback image URLs, with one image fetch in flight per account."""
    settings = Settings(
        data_dir=tmp_path / "data", workers=0, image_fetch_allowlist="127.0.0.1", image_fetches_per_account=1
    )
    rt = build_runtime(settings)
    yield rt
    rt.stop()


def test_reference_urls_are_fetched_one_after_the_other_within_the_fetch_cap(fetching_runtime, image_host):
    tag = uuid.uuid4().hex[:8]
    urls = [f"{image_host.base}/img.png?{tag}-{index}" for index in range(3)]
    draft = Draft(
        prompt="x",
        model="VEO3_1",
        start=FrameInput(FrameKind.SOURCE, f"{image_host.base}/img.webp?{tag}-start"),
        reference_images=tuple(
            FrameInput(FrameKind.SOURCE, url, f"image_urls[{i}]") for i, url in enumerate(urls)
        ),
    )
    job = anyio.run(fetching_runtime.service.submit_async, draft, "me")
    assert [path for path, _ in image_host.hits if tag in path] == [
        f"/img.webp?{tag}-start",
        *(f"/img.png?{tag}-{index}" for index in range(3)),
    ]  # four fetches in one slot of the account's one
    for asset_id in job.request.reference_images:
        assert fetching_runtime.service.uploads.get(asset_id, "me").width == 64

    refused = dataclasses.replace(
        draft,
        reference_images=(
            *draft.reference_images[:2],
            FrameInput(FrameKind.SOURCE, f"{image_host.base}/gif?{tag}", "image_urls[2]"),
        ),
    )
    before = len(_uploads(fetching_runtime))
    with pytest.raises(InvalidRequest, match="JPEG, PNG or WebP") as caught:
        anyio.run(fetching_runtime.service.submit_async, refused, "me")
    assert caught.value.field == "image_urls[2]"
    assert len(_uploads(fetching_runtime)) == before  # nothing of the refused batch is left
