"""Catalog files for servers under test: the built-in catalog plus entries of the test's own."""

import json
from importlib import resources
from pathlib import Path

# a model whose weights are missing: every video of it fails (engine_unavailable), deterministically
BROKEN = {
    "id": "broken-ltx",
    "engine": "ltx",
    "engine_options": {
        "weights": "/nonexistent/ltx",
        "steps": 2,
        "max_sequence_length": 16,
        "render_size": {"1280x720": "64x32"},
    },
    "durations": [4],
    "default_duration": 4,
    "sizes": ["1280x720"],
    "audio": False,
    "price_per_second": {"silent": {"720p": 0.05}},
}


def catalog_with(path: Path, *entries: dict) -> Path:
    """Write the built-in catalog with `entries` added to `path`; returns `path`."""
    catalog = json.loads(resources.files("reelforge").joinpath("catalog.default.json").read_text())
    catalog["models"].extend(entries)
    path.write_text(json.dumps(catalog))
    return path
