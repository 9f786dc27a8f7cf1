"""Engine lookup by the name a catalog entry gives, and the checks the catalog runs on engine settings.

The diffusers engines import torch and diffusers only when first used, so a server without the
`[diffusers]` extra never imports them; what the catalog needs to validate an entry comes from
`diffusers_options`, which is light. Pipelines are shared process-wide by the diffusers engines
(see `diffusers_common`), so an engine object is cheap and made per catalog entry and call.
"""

from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import ValidationError

from reelforge.engines.base import Engine, EngineUnavailable
from reelforge.engines.diffusers_options import FAMILIES, DiffusersOptions, check_options, missing_modules

if TYPE_CHECKING:
    from reelforge.catalog import ModelSpec

ENGINES = ("preview", *FAMILIES)
INSTALL_HINT = "pip install 'reelforge[diffusers]'"


def check_engine(name: str, options: dict, sizes: tuple[str, ...], audio: bool) -> None:
    """Raise ValueError if a catalog entry's engine or engine_options cannot work."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    if name == "preview":
        if options:
            raise ValueError("the preview engine takes no engine_options")
        return
    check_options(FAMILIES[name], parse_options(options), sizes, audio)


def parse_options(options: dict) -> DiffusersOptions:
    """engine_options as DiffusersOptions; a ValueError naming the first bad field otherwise."""
    try:
        return DiffusersOptions.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(part) for part in ("engine_options", *err["loc"]))
        raise ValueError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None


@lru_cache
def _preview() -> Engine:
    from reelforge.engines.preview import PreviewEngine

    return PreviewEngine()


def get_engine(spec: "ModelSpec") -> Engine:
    if spec.engine == "preview":
        return _preview()
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
    return engine_class(spec.id, options)
