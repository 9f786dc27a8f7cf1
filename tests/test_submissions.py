"""The one submission path (service/submissions.py), in process on a real SQLite database and a
real media directory: defaults from the catalog, one check before any input is stored, and no
stored input left behind by a refused request."""

import io

import av
import numpy as np
import pytest
from PIL import Image

from reelforge.config import Settings
from reelforge.core.errors import InvalidRequest
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
from reelforge.runtime import build_runtime
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
