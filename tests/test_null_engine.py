"""The `null` engine (engines/null.py): black frames and silence of the requested size and length
after its delay, spent sleeping rather than computing, cancelable while it waits, and only where a
deployer's catalog names it."""

import io
import json
import threading
import time
from importlib import resources

import av
import numpy as np
import pytest

from reelforge.core.catalog import Catalog, ModelSpec
from reelforge.core.request import GenerationRequest
from reelforge.engines.base import Canceled, RenderContext
from reelforge.engines.null import NullEngine, NullOptions
from reelforge.engines.registry import check_catalog
from testkit.catalogs import catalog_with
from testkit.support import ServerProcess, client

NULL = {
    "id": "load-test",
    "engine": "null",
    "engine_options": {"delay_seconds": 0.5},
    "durations": [2],
    "default_duration": 2,
    "sizes": ["320x180", "180x320"],
    "audio": True,
    "price_per_second": {"audio": {"180p": 0.01}},
}


def _context(request: GenerationRequest, progress: list | None = None, canceled=lambda: False):
    report = progress.append if progress is not None else (lambda fraction: None)
    return RenderContext(request, 1, None, None, report, canceled)


def _request(**fields) -> GenerationRequest:
    return GenerationRequest(
        **{"model": "load-test", "prompt": "x", "width": 320, "height": 180, "duration": 2, **fields}
    )


def test_a_served_null_video_is_black_and_silent_at_the_requested_size(tmp_path):
    catalog = catalog_with(tmp_path / "catalog.json", NULL)
    server = ServerProcess(
        tmp_path / "data", env={"REELFORGE_AUTH": "open", "REELFORGE_CATALOG_PATH": str(catalog)}
    ).start()
    try:
        with client(server) as http:
            body = {"model": "load-test", "prompt": "capacity", "seconds": "2", "size": "180x320"}
            video = http.post("/v1/videos", json=body).json()
            assert "status" in video, video
            deadline = time.monotonic() + 60
            while video["status"] not in ("completed", "failed"):
                assert time.monotonic() < deadline, video
                time.sleep(0.1)
                video = http.get(f"/v1/videos/{video['id']}").json()
            assert video["status"] == "completed", video
            mp4 = http.get(f"/v1/videos/{video['id']}/content").content
    finally:
        server.stop()
    with av.open(io.BytesIO(mp4)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(io.BytesIO(mp4)) as container:
        sound = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    assert len(frames) == 48 and frames[0].shape == (320, 180, 3)
    assert max(int(f.max()) for f in frames) <= 16  # black, give or take the codec's video range
    assert sound.size >= 2 * 48_000 and float(np.abs(sound).max()) < 1e-4


def test_the_delay_is_slept_not_computed_and_reported_as_progress():
    progress: list[float] = []
    engine = NullEngine(NullOptions(delay_seconds=0.6))
    start, cpu = time.monotonic(), time.thread_time()
    clip = engine.generate(_context(_request(audio=False), progress))
    waited, computed = time.monotonic() - start, time.thread_time() - cpu
    assert waited >= 0.6 and computed < 0.1 * waited, (waited, computed)
    assert progress and max(progress) <= 0.5 and clip.audio is None
    frames = list(clip.frames)
    assert len(frames) == clip.frame_count == 48 and not any(f.any() for f in frames)
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_cancel_stops_the_wait():
    flag = threading.Event()
    threading.Timer(0.2, flag.set).start()
    start = time.monotonic()
    with pytest.raises(Canceled):
        NullEngine(NullOptions(delay_seconds=30)).generate(_context(_request(), canceled=flag.is_set))
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    ("options", "message"),
    [({"delay_seconds": -1}, "delay_seconds"), ({"steps": 4}, "steps"), ({"delay_seconds": "soon"}, "delay")],
)
def test_the_catalog_refuses_bad_null_options(options, message):
    with pytest.raises(ValueError, match=f"load-test: engine_options.{message}"):
        check_catalog(Catalog([ModelSpec(**{**NULL, "engine_options": options})]))


def test_no_default_catalog_entry_uses_it():
    catalog = json.loads(resources.files("reelforge").joinpath("catalog.default.json").read_text())
    assert "null" not in {entry.get("engine", "preview") for entry in catalog["models"]}
