"""Can this installation serve its catalog? Packages, weights and devices, checked before any job runs.

A missing weights directory or optional package would otherwise surface as a failed first job;
`reelforge doctor` and GET /healthz/engines report it at start-up instead. The checks read
package metadata and the weights' `model_index.json` only, so they are cheap and import neither
torch nor diffusers; `devices()` (the CLI's) imports torch to see the GPUs.
"""

import json
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from reelforge.core.catalog import Catalog, ModelSpec
from reelforge.engines.diffusers_options import FAMILIES, Mode, missing_modules
from reelforge.engines.registry import INSTALL_HINT, Engines, parse_options

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
    if spec.engine == "preview":
        report.notes.append("CPU preview renderer: no weights needed")
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
