"""Engine lookup by the name a catalog entry gives. Engines are built once per process, on first use,
so heavy ones (model weights) stay resident and light servers never import them."""

from functools import lru_cache

from reelforge.engines.base import Engine


@lru_cache
def get_engine(name: str) -> Engine:
    if name == "preview":
        from reelforge.engines.preview import PreviewEngine

        return PreviewEngine()
    raise ValueError(f"unknown engine {name!r}")
