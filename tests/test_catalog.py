"""The model catalog: built-in entries, size resolution, checks, prices, a deployer's own file."""

import json
from decimal import Decimal

import pytest

from reelforge.core.catalog import load_catalog
from reelforge.core.errors import InvalidRequest
from reelforge.core.request import GenerationRequest

VEO_SIZES = [(1280, 720), (720, 1280), (1920, 1080), (1080, 1920)]


def _req(**fields) -> GenerationRequest:
    return GenerationRequest(**{"model": "veo-3.1-lite", "prompt": "p", **fields})


def test_builtin_catalog_has_every_public_id_on_the_preview_engine():
    catalog = load_catalog()
    for model_id in [
        "veo-3.1-lite",
        "VEO3_1",
        "VEO3_1FAST",
        "VEO3",
        "VEO3FAST",
        "MOTION2",
        "MOTION2FAST",
        "KLING2_1",
        "KLING2_5",
        "google/veo-3.1-lite-generate-001",
    ]:
        assert catalog.get(model_id).engine == "preview"
    lite = catalog.get("google/veo-3.1-lite-generate-001")
    assert lite is catalog.get("veo-3.1-lite")
    assert [lite.parse_size(s) for s in lite.sizes] == VEO_SIZES
    assert lite.durations == (4, 6, 8) and lite.default_duration == 8


def test_list_prices_per_second():
    lite = load_catalog().get("veo-3.1-lite")
    assert lite.price(_req(duration=8)) == Decimal("0.4000")
    assert lite.price(_req(duration=8, audio=False)) == Decimal("0.2400")
    assert lite.price(_req(duration=4, width=1920, height=1080)) == Decimal("0.3200")
    assert lite.price(_req(duration=6, width=1080, height=1920, audio=False, samples=2)) == Decimal("0.6000")


@pytest.mark.parametrize(
    ("args", "size"),
    [
        ({}, (1280, 720)),
        ({"tier": "1080p"}, (1920, 1080)),
        ({"tier": "720p", "portrait": True}, (720, 1280)),
        ({"width": 1080}, (1080, 1920)),
        ({"tier": "1080p", "height": 1920}, (1080, 1920)),
    ],
)
def test_resolve_size(args, size):
    assert load_catalog().get("veo-3.1-lite").resolve_size(**args) == size


@pytest.mark.parametrize(
    "args", [{"tier": "480p"}, {"tier": "720p", "width": 1920}, {"width": 1280, "height": 1280}]
)
def test_resolve_size_refuses_contradictions(args):
    with pytest.raises(InvalidRequest):
        load_catalog().get("veo-3.1-lite").resolve_size(**args)


@pytest.mark.parametrize(
    ("model", "fields", "message"),
    [
        ("veo-3.1-lite", {"duration": 5}, "duration must be one of 4, 6, 8"),
        ("veo-3.1-lite", {"width": 1280, "height": 1280}, "size 1280x1280 is not supported"),
        ("MOTION2", {"duration": 5, "width": 832, "height": 480}, "cannot generate audio"),
        ("VEO3", {"start_image": "a", "end_image": "b"}, "does not take an end frame"),
        ("KLING2_5", {"duration": 5, "audio": False, "samples": 2}, "at most 1 samples"),
        ("SVD", {"duration": 4, "width": 1024, "height": 576, "audio": False}, "needs a start frame image"),
    ],
)
def test_model_checks(model, fields, message):
    with pytest.raises(InvalidRequest, match=message):
        load_catalog().get(model).check(_req(model=model, **fields))


def test_deployer_catalog_file(tmp_path):
    entry = {
        "id": "house-model",
        "aliases": ["house"],
        "engine": "preview",
        "durations": [2],
        "default_duration": 2,
        "sizes": ["640x360"],
        "audio": True,
        "price_per_second": {"audio": {"360p": 0.5}},
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [entry]}))
    catalog = load_catalog(path)
    spec = catalog.get("house")
    assert spec.price(_req(model="house", duration=2, width=640, height=360)) == Decimal("1.0000")
    with pytest.raises(InvalidRequest, match="unknown model 'veo-3.1-lite'"):
        catalog.get("veo-3.1-lite")

    path.write_text(json.dumps({"models": [entry, entry]}))
    with pytest.raises(ValueError, match="appears twice"):
        load_catalog(path)
