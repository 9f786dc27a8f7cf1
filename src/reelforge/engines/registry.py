"""Engines by the name a catalog entry gives, and the checks a catalog's engine settings must pass.

`Engines` is built once per process by the runtime, with the runtime's settings: it hands out the
engine of a catalog entry and owns the diffusers pipelines kept loaded between jobs. The diffusers
engines import torch and diffusers only when first used, so a server without the `[diffusers]`
extra never imports them; what `check_catalog` needs comes from `diffusers_options`, which is light.
"""

import logging
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from reelforge.core.catalog import Catalog, ModelSpec
from reelforge.core.errors import first_error
from reelforge.core.metrics import MODEL_LOAD
from reelforge.engines.base import Engine, EngineUnavailable
from reelforge.engines.diffusers_options import FAMILIES, DiffusersOptions, check_options, missing_modules
from reelforge.engines.null import NullEngine, NullOptions
from reelforge.engines.upstream.options import UpstreamOptions
from reelforge.media.fetch import Allowlist

if TYPE_CHECKING:
    from reelforge.engines.diffusers_common import ResidentPipelines

log = logging.getLogger(__name__)
Options = TypeVar("Options", bound=BaseModel)

ENGINES = ("preview", "null", "upstream", *FAMILIES)
INSTALL_HINT = "pip install 'reelforge[diffusers]'"


def check_engine(spec: ModelSpec) -> None:
    """Raise ValueError if a catalog entry's engine or engine_options cannot work."""
    if spec.engine not in ENGINES:
        raise ValueError(f"unknown engine {spec.engine!r}; known: {', '.join(ENGINES)}")
    if spec.engine == "preview":
        if spec.engine_options:
            raise ValueError("the preview engine takes no engine_options")
        return
    if spec.engine == "null":  # black frames whatever the inputs, references included
        _validated(NullOptions, spec.engine_options)
        return
    if spec.engine == "upstream":
        _validated(UpstreamOptions, spec.engine_options)
        if spec.reference_images:  # no adapter sends reference images yet
            raise ValueError("the upstream engine takes no reference images: set reference_images to 0")
        return
    if spec.reference_images:  # the diffusers pipelines have no reference-image conditioning
        raise ValueError(f"the {spec.engine} engine takes no reference images: set reference_images to 0")
    check_options(FAMILIES[spec.engine], parse_options(spec.engine_options), spec.sizes, spec.audio)


def check_catalog(catalog: Catalog) -> Catalog:
    """The catalog, if every entry's engine can work; ValueError naming the first entry that cannot."""
    for spec in catalog.models:
        try:
            check_engine(spec)
        except ValueError as exc:
            raise ValueError(f"{spec.id}: {exc}") from None
    return catalog


def parse_options(options: dict) -> DiffusersOptions:
    """engine_options as DiffusersOptions; a ValueError naming the first bad field otherwise."""
    return _validated(DiffusersOptions, options)


def upstream_options(spec: ModelSpec) -> UpstreamOptions:
    return _validated(UpstreamOptions, spec.engine_options)


def _validated(model: type[Options], options: dict) -> Options:
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        field, message, _ = first_error(exc)
        raise ValueError(f"engine_options.{field}: {message}" if field else message) from None


def model_loaded(model: str, engine: str, weights: str, seconds: float) -> None:
    """Log and time a diffusers pipeline load."""
    MODEL_LOAD.labels(model, engine).observe(seconds)
    fields = {"model": model, "engine": engine, "weights": weights, "seconds": round(seconds, 3)}
    log.info("model %s loaded (engine %s, %s) in %.1f s", model, engine, weights, seconds, extra=fields)


class Engines:
    """The engine of each catalog entry, and the pipelines this process keeps loaded."""

    def __init__(self, resident_models: int = 1, upstream_allowlist: str = ""):
        self.resident_models = resident_models
        self.upstream_allowlist = Allowlist.parse(upstream_allowlist)
        self._preview: Engine | None = None
        self._resident: ResidentPipelines | None = None

    def get(self, spec: ModelSpec) -> Engine:
        if spec.engine == "preview":
            if self._preview is None:
                from reelforge.engines.preview import PreviewEngine

                self._preview = PreviewEngine()
            return self._preview
        if spec.engine == "null":
            return NullEngine(_validated(NullOptions, spec.engine_options))
        if spec.engine == "upstream":
            from reelforge.engines.upstream.engine import UpstreamEngine

            return UpstreamEngine(spec.id, upstream_options(spec), self.upstream_allowlist)
        options = parse_options(spec.engine_options)
        missing = missing_modules(FAMILIES[spec.engine], options)
        if missing:
            raise EngineUnavailable(
                f"engine {spec.engine} needs {', '.join(missing)}, not installed: {INSTALL_HINT}"
            )
        if spec.engine == "ltx2":
            from reelforge.engines.diffusers_ltx2 import LTX2Engine as engine_class
        elif spec.engine == "wan":
            from reelforge.engines.diffusers_wan import WanEngine as engine_class
        else:
            from reelforge.engines.diffusers_ltx import LTXEngine as engine_class
        return engine_class(spec.id, options, self.pipelines())

    def preload_compiled(self, catalog: Catalog) -> None:
        """Load every available model whose engine_options ask for `compile`, which compiles and
        warms up its transformer, before this process takes jobs; a model that cannot load is
        logged and left to fail its jobs as it would have."""
        for spec in catalog.models:
            if spec.available and spec.engine in FAMILIES and spec.engine_options.get("compile"):
                try:
                    self.get(spec).preload()
                except Exception as exc:
                    log.warning("could not preload %s: %s", spec.id, exc)

    def pipelines(self) -> "ResidentPipelines":
        """The diffusers pipelines this process keeps loaded, shared by every diffusers engine."""
        if self._resident is None:
            from reelforge.engines.diffusers_common import ResidentPipelines

            self._resident = ResidentPipelines(capacity=self.resident_models, loaded=model_loaded)
        return self._resident

    def resident_status(self) -> list[dict]:
        """The pipelines loaded in this process (empty until a diffusers engine has run)."""
        return self._resident.status() if self._resident else []
