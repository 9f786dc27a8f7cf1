"""The diffusers engines (ltx2, wan, ltx) on tiny random-weight pipelines, on the CPU, offline.

Weights are built in code and saved in diffusers format (testkit/tiny_pipelines.py), then loaded by
the engines' real loading code from the directories a temporary catalog names. The catalog keeps
the models' render size tiny while the delivered clip is 1280x720 x 4 s at 24 fps, so every check
on the output (size, frame count, rate, audio track) is the real one.
"""

import itertools
import json
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

torch = pytest.importorskip("torch")  # the [diffusers] extra; CI installs it
pytest.importorskip("diffusers")

from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from reelforge.cli import app as cli_app  # noqa: E402
from reelforge.config import Settings  # noqa: E402
from reelforge.core.catalog import Catalog, ModelSpec, load_catalog  # noqa: E402
from reelforge.core.job import JobStatus  # noqa: E402
from reelforge.core.request import Draft, GenerationRequest  # noqa: E402
from reelforge.doctor import catalog_report  # noqa: E402
from reelforge.engines.base import (  # noqa: E402
    Canceled,
    EngineUnavailable,
    RenderContext,
)
from reelforge.engines.diffusers_common import ResidentPipelines, frames_for  # noqa: E402
from reelforge.engines.registry import Engines, check_catalog  # noqa: E402
from reelforge.runtime import build_runtime  # noqa: E402
from testkit import tiny_pipelines  # noqa: E402
from testkit.support import (  # noqa: E402
    ServerProcess,
    client,
    make_image,
    probe_mp4,
    upload_init_image,
    wait_for_generation,
)

PRICES = {"audio": {"720p": 0.1}, "silent": {"720p": 0.05}}
LTX2_CALL = {  # plain classifier-free guidance: the spatio-temporal guidance needs a deep model
    "stg_scale": 0,
    "modality_scale": 1,
    "audio_stg_scale": 0,
    "audio_modality_scale": 1,
    "spatio_temporal_guidance_blocks": None,
}


def _entry(model_id: str, engine: str, audio: bool, **options) -> dict:
    return {
        "id": model_id,
        "engine": engine,
        "engine_options": {"steps": 2, "max_sequence_length": 16, **options},
        "durations": [4, 6, 8],
        "default_duration": 4,
        "sizes": ["1280x720", "720x1280"],
        "audio": audio,
        "start_frame": True,
        "end_frame": True,
        "price_per_second": PRICES if audio else {"silent": PRICES["silent"]},
    }


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    return {
        "ltx2": str(tiny_pipelines.save_ltx2(root / "ltx2")),
        "ltx": str(tiny_pipelines.save_ltx(root / "ltx")),
        "wan_ti2v": str(tiny_pipelines.save_wan_ti2v(root / "wan-ti2v")),
        "wan_flf": str(tiny_pipelines.save_wan_flf(root / "wan-flf")),
        "missing": str(root / "not-there"),
    }


@pytest.fixture(scope="module")
def catalog_path(weights, tmp_path_factory):
    tiny = {"1280x720": "64x32", "720x1280": "32x64"}
    models = [
        # LTX-2 renders at 8 fps here (33 frames for 4 s): its attention spans the whole clip.
        _entry(
            "test-ltx2",
            "ltx2",
            True,
            weights=weights["ltx2"],
            fps=8,
            render_size={"1280x720": "32x32", "720x1280": "32x32"},
            pipeline_kwargs=LTX2_CALL,
        ),
        _entry(
            "test-wan",
            "wan",
            False,
            weights={"text": weights["wan_ti2v"], "frames": weights["wan_flf"]},
            fps=24,
            render_size=tiny,
        ),
        _entry(
            "test-wan-silent", "wan", True, weights=weights["wan_ti2v"], render_size=tiny, silent_audio=True
        ),
        _entry("test-ltx", "ltx", False, weights=weights["ltx"], render_size=tiny),
        _entry("test-ltx-slow", "ltx", False, weights=weights["ltx"], render_size=tiny, steps=40),
        _entry("test-missing", "ltx", False, weights=weights["missing"]),
    ]
    path = tmp_path_factory.mktemp("catalog") / "catalog.json"
    path.write_text(json.dumps({"models": models}))
    return path


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def engines():
    """Fresh engines keeping one model loaded, so load counts start at zero."""
    return Engines(resident_models=1)


@pytest.fixture
def resident(engines) -> ResidentPipelines:
    return engines.pipelines()


def _spec(catalog_path, model_id: str) -> ModelSpec:
    return load_catalog(catalog_path).get(model_id)


def _context(model: str, progress=None, is_canceled=lambda: False, seed=1, **fields) -> RenderContext:
    request = GenerationRequest(model=model, prompt="a red fox", duration=4, audio=False, **fields)
    sink = progress if progress is not None else []
    return RenderContext(request, seed, None, None, sink.append, is_canceled)


# --- the request mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frames", "native_fps", "step", "expected"),
    [(96, 24, 8, 97), (96, 25, 8, 105), (96, 16, 4, 65), (96, 24, 4, 97), (192, 24, 8, 193), (96, 8, 8, 33)],
)
def test_frame_rule_covers_the_clip_at_the_native_rate(frames, native_fps, step, expected):
    assert frames_for(frames, 24, native_fps, step) == expected
    assert (expected - 1) % step == 0


def test_negative_prompt_folds_in_the_request_and_person_generation(catalog_path, engines):
    engine = engines.get(_spec(catalog_path, "test-ltx"))
    folded = engine._negative_prompt("text overlays, ", "dont_allow")
    assert folded.startswith("worst quality") and "text overlays, people" in folded
    assert "people" not in engine._negative_prompt(None, "allow_adult")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"engine": "wan", "audio": True}, "makes no audio"),
        ({"engine": "ltx2", "engine_options": {"weights": "/w", "silent_audio": True}}, "its own audio"),
        ({"engine_options": {"weights": "/w", "render_size": {"1280x720": "60x32"}}}, "multiples of 32"),
        (
            {"engine_options": {"weights": "/w", "pipeline_kwargs": {"num_frames": 9}}},
            "may not set num_frames",
        ),
        ({"engine_options": {"weights": "/w", "steps": 0}}, "engine_options.steps"),
        ({"engine_options": {"weights": "/w", "device": "gpu"}}, "engine_options.device"),
        ({"engine_options": {}}, "engine_options.weights: Field required"),
        ({"engine": "sora"}, "unknown engine 'sora'"),
    ],
)
def test_catalog_refuses_engine_settings_that_cannot_work(change, message):
    entry = {**_entry("bad", "ltx", False, weights="/w"), **change}
    with pytest.raises(ValueError, match=message):
        check_catalog(Catalog([ModelSpec(**entry)]))


# --- each family through its real loading code -----------------------------------------------------


@pytest.mark.parametrize("model", ["test-ltx2", "test-wan", "test-ltx"])
def test_engine_output_is_exact_and_seeded(catalog_path, engines, resident, model):
    engine = engines.get(_spec(catalog_path, model))
    progress = []
    clip = engine.generate(_context(model, progress, seed=7))
    frames = list(clip.frames)
    assert (clip.frame_count, clip.fps, len(frames)) == (96, 24, 96)
    assert all(f.shape == (720, 1280, 3) and f.dtype == np.uint8 for f in frames)
    assert clip.audio is None  # not asked for
    assert progress == sorted(progress) and progress[0] < 1 and progress[-1] == 1.0
    again = next(itertools.islice(engine.generate(_context(model, seed=7)).frames, 50, None))
    other = next(itertools.islice(engine.generate(_context(model, seed=8)).frames, 50, None))
    assert np.array_equal(frames[50], again) and not np.array_equal(frames[50], other)


def test_ltx2_audio_is_resampled_to_48k(catalog_path, engines, resident):
    engine = engines.get(_spec(catalog_path, "test-ltx2"))
    ctx = _context("test-ltx2")
    ctx.request = ctx.request.model_copy(update={"audio": True})
    clip = engine.generate(ctx)
    assert clip.sample_rate == 48_000 and clip.audio.dtype == np.float32
    assert clip.audio.shape[0] == 2 and clip.audio.shape[1] > 0 and np.abs(clip.audio).max() <= 1.0


def test_silent_audio_opt_in_gives_a_silent_track(catalog_path, engines, resident):
    engine = engines.get(_spec(catalog_path, "test-wan-silent"))
    ctx = _context("test-wan-silent")
    ctx.request = ctx.request.model_copy(update={"audio": True})
    clip = engine.generate(ctx)
    assert clip.audio.shape == (2, 4 * 48_000) and not clip.audio.any()


def test_cancel_stops_within_one_denoising_step(catalog_path, engines, resident):
    engine = engines.get(_spec(catalog_path, "test-ltx-slow"))
    progress = []
    with pytest.raises(Canceled):
        engine.generate(_context("test-ltx-slow", progress, is_canceled=lambda: len(progress) >= 3))
    assert len(progress) == 3  # the step that saw the cancel was the last one run


def test_a_cancel_while_the_model_loads_runs_no_step(catalog_path, engines, resident):
    progress, checks = [], itertools.count()
    with pytest.raises(Canceled):  # canceled from the second check on: the one after loading
        engine = engines.get(_spec(catalog_path, "test-ltx"))
        engine.generate(_context("test-ltx", progress, is_canceled=lambda: next(checks) >= 1))
    assert progress == []


def test_resident_pipelines_are_reused_and_evicted_least_recently_used(
    catalog_path, engines, weights, resident
):
    ltx, wan = engines.get(_spec(catalog_path, "test-ltx")), engines.get(_spec(catalog_path, "test-wan"))
    for _ in range(2):
        list(ltx.generate(_context("test-ltx")).frames)
    assert resident.loads == {weights["ltx"]: 1}  # the second job did not reload
    list(wan.generate(_context("test-wan")).frames)  # capacity 1: evicts ltx
    list(ltx.generate(_context("test-ltx")).frames)
    assert resident.loads == {weights["ltx"]: 2, weights["wan_ti2v"]: 1}
    assert [entry["weights"] for entry in resident.status()] == [weights["ltx"]]


def test_missing_weights_are_a_clear_error_and_reported_by_doctor(
    catalog_path, engines, weights, resident, tmp_path
):
    with pytest.raises(EngineUnavailable, match="weights directory .*not-there does not exist"):
        engines.get(_spec(catalog_path, "test-missing")).generate(_context("test-missing"))
    report = {m["id"]: m for m in catalog_report(load_catalog(catalog_path), engines)["models"]}
    assert report["test-ltx2"]["ok"] and report["test-wan"]["ok"]
    assert not report["test-missing"]["ok"]
    assert "not-there does not exist" in report["test-missing"]["problems"][0]

    args = ["doctor", "--catalog", str(catalog_path), "--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 1, result.output
    assert "problem model test-missing" in result.output and "ok      model test-ltx2" in result.output


def test_doctor_refuses_ti2v_weights_for_first_and_last_frame(weights, tmp_path):
    entry = _entry("ti2v-frames", "wan", False, weights=weights["wan_ti2v"])
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [entry]}))
    [report] = catalog_report(load_catalog(path), Engines())["models"]
    assert "cannot take an end frame" in report["problems"][0]


def test_the_server_without_running_an_engine_imports_no_torch(catalog_path):
    code = (
        "import sys\n"
        "from reelforge.api.app import create_app\n"
        "from reelforge.core.catalog import load_catalog\n"
        "from reelforge.doctor import catalog_report\n"
        "from reelforge.engines.registry import Engines, check_catalog\n"
        f"create_app(); catalog = check_catalog(load_catalog({str(catalog_path)!r}))\n"
        "catalog_report(catalog, Engines())\n"
        "assert not {'torch', 'diffusers', 'transformers'} & set(sys.modules), sorted(sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


# --- jobs in process: progress, cancel, out of memory ----------------------------------------------


@pytest.fixture
def runtime(tmp_path, catalog_path):
    rt = build_runtime(Settings(data_dir=tmp_path / "data", workers=0, catalog_path=catalog_path))
    yield rt
    rt.stop()


def _run(runtime, model: str):
    job = runtime.service.submit(Draft(model=model, prompt="fox", duration=4, audio=False), "me")
    thread = threading.Thread(target=runtime.worker.work_next, kwargs={"only": job.id})
    thread.start()
    return job, thread


def test_job_reports_progress_then_cancel_stops_it(runtime):
    service = runtime.service
    job, thread = _run(runtime, "test-ltx-slow")
    seen, deadline = [], time.monotonic() + 60
    while service.get(job.id).progress < 20:
        assert time.monotonic() < deadline and thread.is_alive()
        seen.append(service.get(job.id).progress)
        time.sleep(0.05)
    service.cancel(job.id)
    thread.join(timeout=10)
    assert not thread.is_alive(), "the render kept going after cancel"
    got = service.get(job.id)
    assert got.status is JobStatus.CANCELED and got.outputs == []
    assert any(0 < p < 20 for p in seen)


def test_out_of_memory_fails_the_job_and_the_worker_goes_on(runtime, monkeypatch):
    from diffusers import LTXPipeline

    def out_of_memory(self, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")

    service = runtime.service
    with monkeypatch.context() as patch:
        patch.setattr(LTXPipeline, "__call__", out_of_memory)
        job, thread = _run(runtime, "test-ltx")
        thread.join(timeout=60)
    got = service.get(job.id)
    assert got.status is JobStatus.FAILED and got.error_code == "render_failed"
    assert got.error_message.startswith("GPU out of memory rendering test-ltx at 64x32 x 105 frames")

    job, thread = _run(runtime, "test-ltx")
    thread.join(timeout=60)
    assert service.get(job.id).status is JobStatus.SUCCEEDED


# --- the full HTTP path ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory, catalog_path):
    env = {
        "REELFORGE_CATALOG_PATH": str(catalog_path),
        "HF_HUB_OFFLINE": "1",
        "REELFORGE_RESIDENT_MODELS": "2",
    }
    srv = ServerProcess(tmp_path_factory.mktemp("engine-server") / "data", workers=1, env=env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def engine_http(engine_server):
    with client(engine_server) as c:
        yield c


def _frames(http, mode: str) -> dict:
    guidances = {}
    if mode in ("image", "frames"):
        image_id = upload_init_image(http, make_image(1280, 720))
        guidances["start_frame"] = [{"image": {"id": image_id, "type": "UPLOADED"}}]
    if mode == "frames":
        image_id = upload_init_image(http, make_image(1280, 720, left=(30, 200, 30), right=(250, 250, 250)))
        guidances["end_frame"] = [{"image": {"id": image_id, "type": "UPLOADED"}}]
    return {"guidances": guidances} if guidances else {}


@pytest.mark.parametrize("mode", ["text", "image", "frames"])
@pytest.mark.parametrize("model", ["test-ltx2", "test-wan", "test-ltx"])
def test_http_generation_is_exact(engine_http, model, mode):
    audio = model == "test-ltx2"
    body = {
        "model": model,
        "parameters": {
            "prompt": f"a red fox, {mode}",
            "duration": 4,
            "motion_has_audio": audio,
            **_frames(engine_http, mode),
        },
    }
    resp = engine_http.post("/api/rest/v2/generations", json=body)
    assert resp.status_code == 200, resp.text
    gen = wait_for_generation(engine_http, resp.json()["generate"]["generationId"])
    assert gen["status"] == "COMPLETE", gen
    [image] = gen["generated_images"]
    assert image["imageToVideo"] is (mode != "text")
    video = engine_http.get(image["motionMP4URL"])
    assert video.status_code == 200
    probe = probe_mp4(video.content)
    assert (probe.width, probe.height, probe.frames, probe.fps) == (1280, 720, 96, 24.0)
    if audio:
        assert probe.audio_codec == "aac" and probe.audio_seconds == pytest.approx(4.0, abs=0.05)
    else:
        assert probe.audio_codec is None


def test_http_refuses_audio_for_wan(engine_http):
    body = {"model": "test-wan", "parameters": {"prompt": "a red fox", "duration": 4}}  # audio on by default
    resp = engine_http.post("/api/rest/v2/generations", json=body)
    assert resp.status_code == 400
    assert "test-wan cannot generate audio" in resp.json()["error"]
    assert resp.json()["path"] == ["parameters", "motion_has_audio"]


def test_http_engine_health(engine_server, engine_http, weights):
    assert engine_http.get("/healthz/engines").status_code == 403  # weights paths are operators' business
    admin = {"Authorization": f"Bearer {engine_server.key('engines-admin', admin=True)}"}
    report = httpx.get(f"{engine_server.url}/healthz/engines", headers=admin, timeout=30).json()
    models = {m["id"]: m for m in report["models"]}
    assert models["test-ltx2"]["ok"] and not models["test-missing"]["ok"]
    assert report["packages"]["torch"].startswith("2.13")
    # Jobs ran in this server: the models they used are resident, each loaded once.
    assert report["resident"] and all(entry["loads"] == 1 for entry in report["resident"])


def test_http_model_loads_are_measured_and_logged(engine_server, engine_http, weights):
    """Every pipeline load of the jobs this server ran is in `reelforge_model_load_seconds` and has
    its log line, with the model and engine it was loaded for."""
    admin = {"Authorization": f"Bearer {engine_server.key('engines-admin', admin=True)}"}
    text = httpx.get(f"{engine_server.url}/metrics", headers=admin, timeout=30).text
    loads = {
        (sample.labels["model"], sample.labels["engine"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "reelforge_model_load_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
    }
    # the HTTP tests above ran every mode of these three models in this server
    assert {model for model, _ in loads} >= {"test-ltx2", "test-wan", "test-ltx"}, loads
    assert all(count >= 1 for count in loads.values()), loads
    log = (engine_server.data_dir.parent / f"server-{engine_server.port}.log").read_text()
    for model, engine in loads:
        assert f"model {model} loaded (engine {engine}," in log


def test_start_frame_reaches_the_model(catalog_path, engines, resident):
    """The start image is fitted to the render size and handed to the pipeline (not dropped)."""
    engine = engines.get(_spec(catalog_path, "test-ltx"))
    red = Image.new("RGB", (1280, 720), (220, 30, 30))
    blue = Image.new("RGB", (1280, 720), (30, 30, 220))
    ctx_red, ctx_blue = _context("test-ltx"), _context("test-ltx")
    ctx_red.start_image, ctx_blue.start_image = red, blue
    assert not np.array_equal(next(engine.generate(ctx_red).frames), next(engine.generate(ctx_blue).frames))
