"""Can this installation serve its catalog and reach what it depends on? Checked before any job runs.

A missing weights directory or optional package, an unreachable database, broker or store would
otherwise surface as a failed first job; `reelforge doctor`, GET /readyz, GET /healthz/engines and
the start-up warnings of `serve` and `reelforge worker` all report them with the checks here. The
model checks read package metadata and the weights' `model_index.json` only (an upstream entry's:
whether its credential variable is set), so they are cheap and import neither torch nor diffusers;
`upstream_status` is an upstream's one network call; `devices()` (the CLI's) imports torch. The
probes (database, broker, storage, worker threads) each return what they saw or raise the problem;
`run_probes` runs them side by side with a deadline, so a dead dependency cannot hang a caller.
"""

import importlib.util
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from sqlalchemy import Engine

from reelforge.blobs import BlobStore
from reelforge.core.catalog import Catalog, ModelSpec
from reelforge.db.connect import MIGRATIONS
from reelforge.engines.diffusers_options import FAMILIES, Mode, missing_modules
from reelforge.engines.registry import INSTALL_HINT, Engines, parse_options, upstream_options
from reelforge.media.fetch import Allowlist

PROBE_TIMEOUT = 3.0  # seconds a probe may take before its dependency counts as not answering

PACKAGES = ("torch", "diffusers", "transformers", "accelerate", "ftfy", "sentencepiece")


@dataclass
class ModelReport:
    id: str
    engine: str
    weights: dict[str, str] = field(default_factory=dict)  # "text, image" -> where those modes' weights are
    problems: list[str] = field(default_factory=list)  # the model cannot run until these are fixed
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def check_model(spec: ModelSpec) -> ModelReport:
    report = ModelReport(spec.id, spec.engine)
    if not spec.available:
        reason = f": {spec.unavailable_reason}" if spec.unavailable_reason else ""
        report.notes.append(f"marked unavailable in the catalog{reason}; its creates are refused")
        return report
    if spec.engine == "preview":
        report.notes.append("CPU preview renderer: no weights needed")
        return report
    if spec.engine == "null":
        report.notes.append("null engine for load tests: black frames and silence, no weights needed")
        return report
    if spec.engine == "upstream":
        options = upstream_options(spec)
        report.notes.append(f"{options.provider} at {options.base_url}, model {options.model}")
        if not os.environ.get(options.credential_env):
            report.problems.append(f"the credential variable {options.credential_env} is not set")
        return report
    family, options = FAMILIES[spec.engine], parse_options(spec.engine_options)
    missing = missing_modules(family, options)
    if missing:
        report.problems.append(f"needs {', '.join(missing)}: {INSTALL_HINT}")
    modes: list[Mode] = [
        "text",
        *(["image"] if spec.start_frame else []),
        *(["frames"] if spec.end_frame else []),
    ]
    uses: dict[str, list[Mode]] = {}  # weights -> the modes read from them
    for mode in modes:
        uses.setdefault(options.weights_for(mode), []).append(mode)
    for weights, used_by in uses.items():
        label = ", ".join(used_by)
        report.weights[label] = weights
        problem = _weights_problem(spec.engine, weights, used_by, options.allow_download)
        if problem:
            report.problems.append(f"{label}: {problem}")
        elif not Path(weights).expanduser().is_dir():
            report.notes.append(f"{label}: {weights} is downloaded on first use")
    if spec.audio and not family.audio:
        report.notes.append("audio requests get a silent track (silent_audio)")
    return report


def upstream_status(spec: ModelSpec, allowlist: str) -> str:
    """One cheap authenticated call to an upstream entry's provider, not retried."""
    from reelforge.engines.upstream.engine import adapter_for, http_for

    options = upstream_options(spec).model_copy(update={"retries": 0})
    adapter = adapter_for(options)
    adapter.probe(http_for(options, adapter, Allowlist.parse(allowlist)))
    return f"{options.provider} at {options.base_url} answers and accepts the credential"


def _weights_problem(engine: str, weights: str, modes: list[Mode], allow_download: bool) -> str | None:
    path = Path(weights).expanduser()
    if not path.is_dir():
        return None if allow_download else f"weights directory {path} does not exist"
    index_file = path / "model_index.json"
    if not index_file.is_file():
        return f"{path} is not a diffusers pipeline (no model_index.json)"
    index = json.loads(index_file.read_text())
    if index.get("_class_name") not in FAMILIES[engine].pipelines.values():
        return f"{path} holds a {index.get('_class_name')}, not a {engine} pipeline"
    if "frames" in modes and index.get("expand_timesteps"):
        return (
            f"{path} (Wan TI2V-5B style) cannot take an end frame; set engine_options.weights.frames "
            "to FLF2V or I2V-A14B weights, or end_frame false"
        )
    return None


def catalog_report(catalog: Catalog, engines: Engines) -> dict:
    """The JSON report of GET /healthz/engines: packages, each model's readiness, loaded pipelines."""
    models = [check_model(spec) for spec in catalog.models]
    return {
        "ok": all(m.ok for m in models),
        "packages": package_versions(),
        "models": [{**asdict(m), "ok": m.ok} for m in models],
        "resident": engines.resident_status(),
    }


def devices() -> list[str]:
    """The GPUs torch sees, with their memory; empty without torch or without a GPU."""
    try:
        import torch
    except ModuleNotFoundError:
        return []
    return [
        f"cuda:{i} {torch.cuda.get_device_name(i)} "
        f"{torch.cuda.get_device_properties(i).total_memory / 2**30:.0f} GiB"
        for i in range(torch.cuda.device_count())
    ]


def model_problems(catalog: Catalog) -> dict[str, list[str]]:
    """Model id -> what stops it from running here, for the models that cannot run (and are not
    marked unavailable)."""
    reports = (check_model(spec) for spec in catalog.models)
    return {report.id: report.problems for report in reports if report.problems}


class Problem(Exception):
    """What a probe found wrong, in words for an operator."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # what the probe saw, or the problem


def run_probes(probes: dict[str, Callable[[], str]], timeout: float = PROBE_TIMEOUT) -> list[Check]:
    """Every probe at once, each in a daemon thread; one that raises is a problem, one still
    running after `timeout` seconds is a dependency that does not answer (its thread is left to end
    on its own)."""
    results: dict[str, Check] = {}

    def run(name: str, probe: Callable[[], str]) -> None:
        try:
            results[name] = Check(name, True, probe())
        except Exception as exc:  # any failure of a dependency is the problem to report
            results[name] = Check(name, False, _reason(exc))

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in probes.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        results.get(name) or Check(name, False, f"did not answer within {timeout:g} s") for name in probes
    ]


def _reason(exc: Exception) -> str:
    """One line about a failure: the driver's own message rather than SQLAlchemy's wrapping."""
    if isinstance(exc, Problem):
        return str(exc)
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else 'no message'}"


@lru_cache(maxsize=1)
def _migrations():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def database_status(database: Engine) -> str:
    """The database answers and its schema is one this reelforge knows: at the newest migration,
    or older (`serve` migrates it at start). A revision unknown here (a newer reelforge migrated the
    database) is a problem."""
    from alembic.runtime.migration import MigrationContext

    with database.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    script = _migrations()
    heads = set(script.get_heads())
    where = database.url.render_as_string(hide_password=True)
    if current == heads:
        return f"{where}: schema at the newest migration ({', '.join(sorted(heads))})"
    unknown = current - {revision.revision for revision in script.walk_revisions()}
    if unknown:
        raise Problem(
            f"{where}: schema at revision {', '.join(sorted(unknown))}, unknown to this reelforge "
            "(a newer version migrated it): upgrade reelforge"
        )
    at = f"at {', '.join(sorted(current))}" if current else "empty"
    return f"{where}: schema {at}; `reelforge serve` migrates it at start"


def broker_status(url: str, timeout: float = PROBE_TIMEOUT) -> str:
    """The Celery broker (Redis or AMQP) accepts a connection, through kombu, within `timeout`."""
    from kombu import Connection

    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    with Connection(url, connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        return f"broker {conn.as_uri()} answers"


def storage_status(blobs: BlobStore) -> str:
    """Blob storage takes a write, a read and a delete of a tiny probe object: a read-only, full or
    unreachable store fails here rather than at the end of a render."""
    key = f".readiness-{uuid.uuid4().hex}"
    data = b"reelforge readiness probe"
    blobs.put_bytes(key, data)
    try:
        if blobs.read_bytes(key) != data:
            raise Problem("a probe object read back different bytes")
    finally:
        blobs.delete(key)
    return "write, read and delete of a probe object work"


def workers_status(alive: Callable[[], int], wanted: int) -> str:
    """The embedded worker threads are all running."""
    running = alive()
    if running < wanted:
        raise Problem(f"{running} of {wanted} embedded worker threads are running")
    return f"{running} embedded worker threads" if wanted else "no embedded worker (workers=0: API only)"


def codecs_status() -> str:
    """PyAV's ffmpeg has the encoders media/encode.py writes MP4s with (H.264 and AAC)."""
    import av

    from reelforge.media.encode import AUDIO_CODEC, VIDEO_CODEC

    missing = []
    for name in (VIDEO_CODEC, AUDIO_CODEC):
        try:
            av.codec.Codec(name, "w")
        except av.codec.codec.UnknownCodecError:
            missing.append(name)
    if missing:
        raise Problem(
            f"PyAV {av.__version__}'s ffmpeg has no {' or '.join(missing)} encoder: install PyAV's own "
            "wheel (pip install --force-reinstall av), which bundles them"
        )
    return f"{VIDEO_CODEC} and {AUDIO_CODEC} encoders in PyAV {av.__version__}"


def torch_status() -> str:
    """Whether torch is installed, and the CUDA devices it sees; a problem only when it is
    installed but cannot be imported."""
    if importlib.util.find_spec("torch") is None:
        return f"torch: not installed (diffusers engines cannot run; install with: {INSTALL_HINT})"
    version = package_versions()["torch"]
    try:
        gpus = devices()
    except Exception as exc:  # a broken install: a wrong CUDA build, a missing shared library
        raise Problem(f"torch {version} is installed but cannot be imported: {_reason(exc)}") from None
    return "CUDA devices: " + (", ".join(gpus) if gpus else f"none (torch {version} on CPU)")
