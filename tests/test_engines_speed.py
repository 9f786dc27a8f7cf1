"""The diffusers engines' speed options on tiny random-weight pipelines, on the CPU, offline:
batched samples (`max_batch`), step caching (`step_cache`) and torch.compile (`compile`).

Batched and sequential renders of a seed are compared on the delivered uint8 frames. They are not
bit-identical: the transformer's float32 matmuls over a batch of 2N rows reduce in another order
than over 2 rows, which moves pipeline outputs by at most 2.3e-6 (measured on LTX, Wan and LTX-2
at 32x32, 9 frames, 4 steps), and that flips the rounding of the rare value lying on a half-level,
so a few channel values differ by one level, never more.
"""

import json
import threading
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the [diffusers] extra; CI installs it
pytest.importorskip("diffusers")

from diffusers import AutoencoderKLLTXVideo, LTXPipeline, LTXVideoTransformer3DModel  # noqa: E402
from PIL import Image  # noqa: E402

from reelforge.config import Settings  # noqa: E402
from reelforge.core.catalog import Catalog, ModelSpec  # noqa: E402
from reelforge.core.job import JobStatus  # noqa: E402
from reelforge.core.request import Draft, GenerationRequest  # noqa: E402
from reelforge.engines.base import RenderContext  # noqa: E402
from reelforge.engines.registry import Engines, check_catalog  # noqa: E402
from reelforge.runtime import build_runtime  # noqa: E402
from testkit import tiny_pipelines  # noqa: E402

SEEDS = [7, 8, 9]


def deeper_ltx(directory: Path) -> Path:
    """The tiny LTX with two transformer blocks (First Block Cache needs blocks after the first) and
    a VAE conditioned on the decode timestep, as every LTX-Video checkpoint since 0.9.1 has."""
    tiny_pipelines.save_ltx(directory)
    config = dict(LTXVideoTransformer3DModel.load_config(directory / "transformer"))
    torch.manual_seed(0)
    LTXVideoTransformer3DModel.from_config({**config, "num_layers": 2}).save_pretrained(
        directory / "transformer"
    )
    vae = dict(AutoencoderKLLTXVideo.load_config(directory / "vae"))
    torch.manual_seed(0)
    conditioned = AutoencoderKLLTXVideo.from_config({**vae, "timestep_conditioning": True})
    conditioned.save_pretrained(directory / "vae")
    return directory


def _entry(model_id: str, engine: str, weights: str, **options) -> dict:
    return {
        "id": model_id,
        "engine": engine,
        # 8 fps native: 9 frames for the 1 s clip, kept small
        "engine_options": {"weights": weights, "steps": 3, "fps": 8, "max_sequence_length": 16, **options},
        "durations": [1],
        "default_duration": 1,
        "sizes": ["64x64", "128x64"],
        "audio": False,
        "start_frame": True,
        "end_frame": True,
        "max_samples": 4,
        "price_per_second": {"silent": {"64p": 0.05}},
    }


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    return {
        "ltx": str(deeper_ltx(root / "ltx")),
        "wan": str(tiny_pipelines.save_wan_ti2v(root / "wan")),
        "ltx2": str(tiny_pipelines.save_ltx2(root / "ltx2")),
    }


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _engine(model: str, weights: dict, **options):
    family = "wan" if model == "wan" else "ltx"
    return Engines().get(ModelSpec(**_entry(f"test-{model}", family, weights[model], **options)))


def _contexts(model: str, seeds, progress: list, start=None, end=None) -> list[RenderContext]:
    request = GenerationRequest(
        model=f"test-{model}", prompt="a red fox", duration=1, audio=False, width=64, height=64
    )
    return [RenderContext(request, seed, start, end, progress.append, lambda: False) for seed in seeds]


def _frames(clip) -> np.ndarray:
    return np.stack(list(clip.frames))


# --- batched samples -------------------------------------------------------------------------------


RED, BLUE = Image.new("RGB", (64, 64), (200, 40, 40)), Image.new("RGB", (64, 64), (20, 40, 240))


@pytest.mark.parametrize(("model", "mode"), [("ltx", "text"), ("wan", "text")])
def test_batched_samples_equal_the_sequential_render_of_their_seed(weights, model, mode):
    """Rendered at the delivered size: scaling would spread a one-level difference."""
    engine = _engine(model, weights, max_batch=4)
    start = RED if mode == "image" else None
    assert engine.batch_limit(_contexts(model, SEEDS, [], start)[0]) == 4
    sequential = [_frames(engine.generate(ctx)) for ctx in _contexts(model, SEEDS, [], start)]
    progress = []
    batched = [_frames(clip) for clip in engine.generate_batch(_contexts(model, SEEDS, progress, start))]
    for alone, together in zip(sequential, batched, strict=True):
        assert alone.shape == together.shape == (24, 64, 64, 3)
        difference = np.abs(alone.astype(int) - together.astype(int))
        assert difference.max() <= 1 and np.count_nonzero(difference) <= alone.size // 1000
    assert not np.array_equal(batched[0], batched[1])  # each sample has its own noise
    # one progress for the batch: its 3 steps take it to 0.9, then each sample's delivery in turn
    assert progress == sorted(progress) and progress[2] == pytest.approx(0.9) and progress[-1] == 1.0
    assert progress[3 + 23] == pytest.approx(0.9 + 0.1 / 3)  # the first sample's 24 frames delivered


@pytest.mark.parametrize("mode", ["text", "frames"])
def test_ltx2_batches_video_and_audio_like_its_sequential_renders(weights, mode):
    """LTX-2 renders at 32x32 here (64x64 would take minutes), scaled to the delivered 64x64: the
    scaling filter can spread a one-level difference to two."""
    plain_cfg = {"stg_scale": 0, "modality_scale": 1, "audio_stg_scale": 0, "audio_modality_scale": 1}
    options = {
        "max_batch": 3,
        "render_size": {"64x64": "32x32"},
        "pipeline_kwargs": {**plain_cfg, "spatio_temporal_guidance_blocks": None},
    }
    entry = {**_entry("test-ltx2", "ltx2", weights["ltx2"], **options), "audio": True}
    entry["price_per_second"] = {"audio": {"64p": 0.1}, "silent": {"64p": 0.05}}
    engine = Engines().get(ModelSpec(**entry))
    start, end = (RED, BLUE) if mode == "frames" else (None, None)
    contexts = _contexts("ltx2", SEEDS, [], start, end)
    for ctx in contexts:
        ctx.request = ctx.request.model_copy(update={"audio": True})
    assert engine.batch_limit(contexts[0]) == 3
    sequential = [engine.generate(ctx) for ctx in contexts]
    batched = engine.generate_batch(contexts)
    for alone, together in zip(sequential, batched, strict=True):
        a, b = _frames(alone), _frames(together)
        difference = np.abs(a.astype(int) - b.astype(int))
        assert difference.max() <= 2 and np.count_nonzero(difference) <= a.size // 1000
        np.testing.assert_allclose(alone.audio, together.audio, atol=1e-6)
    assert not np.array_equal(sequential[0].audio, sequential[1].audio)


def test_modes_whose_pipeline_cannot_batch_render_one_sample_per_call(weights):
    engine = _engine("ltx", weights, max_batch=4)  # see FAMILIES["ltx"].batched for why
    for start, end in ((RED, BLUE), (RED, None)):
        contexts = _contexts("ltx", SEEDS, [], start, end)
        assert engine.batch_limit(contexts[0]) == 1
        with pytest.raises(ValueError, match="3 samples in one call, more than 1"):
            engine.generate_batch(contexts)
    assert _engine("ltx", weights).batch_limit(_contexts("ltx", SEEDS, [])[0]) == 1  # default max_batch


def test_a_job_renders_its_samples_in_batches_of_max_batch(tmp_path, weights, monkeypatch):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [_entry("test-ltx", "ltx", weights["ltx"], max_batch=2)]}))
    runtime = build_runtime(Settings(data_dir=tmp_path / "data", workers=0, catalog_path=path))
    calls, real_call = [], LTXPipeline.__call__

    def counted(pipe, **kwargs):
        calls.append(len(kwargs["generator"]))
        return real_call(pipe, **kwargs)

    monkeypatch.setattr(LTXPipeline, "__call__", counted)
    try:
        draft = Draft(model="test-ltx", prompt="fox", duration=1, audio=False, width=64, height=64, samples=3)
        job = runtime.service.submit(draft, "me")
        worker = threading.Thread(target=runtime.worker.work_next, kwargs={"only": job.id})
        worker.start()
        worker.join(timeout=120)
        got = runtime.service.get(job.id)
    finally:
        runtime.stop()
    assert got.status is JobStatus.SUCCEEDED, got.error_message
    assert calls == [2, 1]
    assert [(o.index, o.seed) for o in got.outputs] == [(i, job.sample_seed(i)) for i in range(3)]
    assert all(o.frame_count == 24 for o in got.outputs)


# --- step cache ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["ltx", "wan"])
def test_step_cache_threshold_zero_changes_nothing_and_a_high_one_skips_blocks(weights, model):
    plain = _engine(model, weights)
    expected = _frames(plain.generate(_contexts(model, [5], [])[0]))
    runs = {}
    for threshold in (0.0, 1.0):
        engine = _engine(model, weights, step_cache={"kind": "first_block", "threshold": threshold})
        ctx = _contexts(model, [5], [])[0]
        with engine.resident.use(engine._load_key("text"), engine._load, ctx.check_cancel) as loaded:
            pipe = loaded.pipelines[engine.family.pipelines["text"]]
            blocks = getattr(pipe.transformer, "transformer_blocks", None) or pipe.transformer.blocks
            inner = getattr(blocks[-1], "ff", None) or blocks[-1].ffn  # not run when the block is cached
            counter = []
            inner.register_forward_pre_hook(lambda module, args, counter=counter: counter.append(1))
        frames = _frames(engine.generate(ctx))
        runs[threshold] = len(counter)
        if threshold == 0.0:
            assert np.array_equal(frames, expected)
        else:
            assert not np.array_equal(frames, expected)
            # the cache starts empty on every call: a second job is not served the first one's blocks
            assert np.array_equal(_frames(engine.generate(_contexts(model, [5], [])[0])), frames)
    calls_per_step = 1 if model == "ltx" else 2  # LTX runs cond and uncond as one batch, Wan apart
    assert runs[0.0] == 3 * calls_per_step
    assert runs[1.0] < runs[0.0]


@pytest.mark.parametrize(
    ("engine", "step_cache", "message"),
    [
        ("ltx2", {"kind": "first_block", "threshold": 0.1}, "does not work for ltx2"),
        ("ltx", {"kind": "taylor_seer", "threshold": 0.1}, "engine_options.step_cache.kind"),
        ("ltx", {"kind": "first_block", "threshold": -1}, "engine_options.step_cache.threshold"),
        ("ltx", {"kind": "first_block"}, "engine_options.step_cache.threshold"),
    ],
)
def test_catalog_refuses_a_step_cache_that_cannot_work(engine, step_cache, message):
    entry = _entry("bad", engine, "/w", step_cache=step_cache)
    with pytest.raises(ValueError, match=message):
        check_catalog(Catalog([ModelSpec(**entry)]))


def test_catalog_refuses_max_batch_below_one():
    with pytest.raises(ValueError, match="engine_options.max_batch"):
        check_catalog(Catalog([ModelSpec(**_entry("bad", "ltx", "/w", max_batch=0))]))


# --- compile ---------------------------------------------------------------------------------------


def _graphs() -> int:
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def test_compiled_transformer_renders_like_the_plain_one(weights, monkeypatch):
    """Inductor (the default backend) on this CPU: C++ kernels, built with the machine's gcc.
    Without inductor's on-disk graph cache: its cache key pickles functions by name, and pickle
    then asks every imported module for that name; a test process holds `aimlapi` (an SDK other
    tests drive), whose module `__getattr__` raises instead of answering no."""
    monkeypatch.setattr(torch._inductor.config, "fx_graph_cache", False)
    expected = _frames(_engine("ltx", weights).generate(_contexts("ltx", [3], [])[0]))
    torch._dynamo.reset()
    compiled = _frames(_engine("ltx", weights, compile=True).generate(_contexts("ltx", [3], [])[0]))
    difference = np.abs(expected.astype(int) - compiled.astype(int))
    assert difference.max() <= 1 and np.count_nonzero(difference) <= expected.size // 1000


@pytest.mark.parametrize("model", ["ltx", "wan"])  # Wan calls its transformer with batches of 1
def test_compile_warms_up_when_the_weights_load_not_in_the_first_job(weights, model):
    torch._dynamo.reset()
    engine = _engine(model, weights, compile=True, compile_backend="eager", max_batch=2)  # dynamo only
    before, at_load = _graphs(), []
    engine.resident.loaded = lambda *args: at_load.append(_graphs())
    steps = []
    ctx = _contexts(model, [3], steps)[0]
    ctx.progress = lambda fraction: steps.append(_graphs())
    list(engine.generate(ctx).frames)
    assert at_load and at_load[0] > before  # compiled while loading, by the warm-up calls
    assert set(steps) == {at_load[0]}  # and nothing compiled during the job's own steps
    # another render size (128x64), and a batch of two, reuse the graphs
    wide = _contexts(model, [4, 5], [])
    for each in wide:
        each.request = each.request.model_copy(update={"width": 128})
    [list(clip.frames) for clip in engine.generate_batch(wide)]
    assert _graphs() == at_load[0]


def test_a_worker_compiles_its_models_before_it_takes_a_job(tmp_path, weights):
    torch._dynamo.reset()
    entries = [
        _entry("test-ltx", "ltx", weights["ltx"], compile=True, compile_backend="eager"),
        _entry("plain-ltx", "ltx", weights["ltx"]),  # not compiled: left to load on first use
    ]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": entries}))
    runtime = build_runtime(Settings(data_dir=tmp_path / "data", workers=1, catalog_path=path))
    before = _graphs()
    runtime.start()
    try:
        assert runtime.engines.pipelines().loads == {weights["ltx"]: 1} and _graphs() > before
        assert runtime.service.stats()["running"] == 0  # loaded with no job in sight
    finally:
        runtime.stop()
