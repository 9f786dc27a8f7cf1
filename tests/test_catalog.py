"""The model catalog: built-in entries, size resolution, checks, prices, a deployer's own file."""

import json
from decimal import Decimal

import pytest

from reelforge.core.catalog import Catalog, ModelSpec, load_catalog
from reelforge.core.errors import InvalidRequest
from reelforge.core.request import GenerationRequest
from reelforge.engines.registry import check_catalog

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
        ("veo-3.1-lite", {"reference_images": ("a",)}, "veo-3.1-lite takes no reference images"),
        ("MOTION2", {"duration": 5, "audio": False, "reference_images": ("a",)}, "takes no reference images"),
        ("VEO3_1", {"reference_images": ("a", "b", "c", "d")}, "takes at most 3 reference images"),
        (
            "VEO3_1",
            {"duration": 4, "reference_images": ("a",)},
            "duration must be 8 for VEO3_1 with reference",
        ),
        ("VEO3_1FAST", {"duration": 6, "reference_images": ("a",)}, "duration must be 8 .* reference images"),
        (
            "veo-3-1-lite-generate-preview",
            {"duration": 4, "start_image": "a", "end_image": "b"},
            "duration must be 8 for veo-3-1-lite-generate-preview with an end frame",
        ),
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


def test_reference_images_and_the_durations_inputs_allow():
    catalog = load_catalog()
    for model in ("VEO3_1", "VEO3_1FAST"):
        spec = catalog.get(model)
        assert spec.reference_images == 3 and spec.durations_with == {"reference_images": (8,)}
        spec.check(_req(model=model, duration=8, reference_images=("a", "b", "c")))
        spec.check(_req(model=model, duration=4, start_image="a", end_image="b"))  # no references: any
    assert [spec.id for spec in catalog.models if spec.reference_images] == ["VEO3_1", "VEO3_1FAST"]

    preview = catalog.get("google/veo-3-1-lite-generate-preview")
    assert preview.id == "veo-3-1-lite-generate-preview" and preview.durations == (4, 6, 8)
    preview.check(_req(model=preview.id, duration=8, start_image="a", end_image="b"))
    preview.check(_req(model=preview.id, duration=4, start_image="a"))  # the rule is the last frame's
    catalog.get("veo-3.1-lite").check(_req(duration=4, start_image="a", end_image="b"))  # Lite 001: any


@pytest.mark.parametrize(
    "changes, says",
    [
        ({"durations_with": {"end_frame": [6]}}, "durations_with.end_frame must be some of durations"),
        ({"durations_with": {"end_frame": []}}, "durations_with.end_frame must be some of durations"),
        ({"durations_with": {"start_frame": [2]}}, "durations_with.start_frame"),
        ({"reference_images": -1}, "reference_images"),
    ],
)
def test_deployer_catalog_input_rules_are_checked(tmp_path, changes, says):
    entry = {
        "id": "house",
        "durations": [2],
        "default_duration": 2,
        "sizes": ["640x360"],
        "price_per_second": {"silent": {"360p": 0.5}},
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [{**entry, **changes}]}))
    with pytest.raises(ValueError, match=says):
        load_catalog(path)


def test_only_the_preview_engine_takes_reference_images():
    entry = {
        "id": "house-ltx",
        "engine": "ltx",
        "engine_options": {"weights": "/w"},
        "durations": [4],
        "default_duration": 4,
        "sizes": ["1280x720"],
        "price_per_second": {"silent": {"720p": 0.1}},
    }
    check_catalog(Catalog([ModelSpec(**entry)]))  # 0 references: the diffusers engines' declaration
    with pytest.raises(ValueError, match="house-ltx: the ltx engine takes no reference images"):
        check_catalog(Catalog([ModelSpec(**entry, reference_images=1)]))
    check_catalog(load_catalog())  # the built-in Veo 3.1 entries with 3 are on the preview engine


UPSTREAM = {
    "id": "veo-upstream",
    "engine": "upstream",
    "engine_options": {
        "provider": "gemini",
        "base_url": "https://generativelanguage.googleapis.com/",
        "model": "veo-3.1-lite-generate-preview",
        "credential_env": "GEMINI_API_KEY",
    },
    "durations": [4, 6, 8],
    "default_duration": 8,
    "sizes": ["1280x720"],
    "price_per_second": {"silent": {"720p": 0.03}},
}
LOCAL = {**UPSTREAM, "id": "local", "engine": "preview", "engine_options": {}}


@pytest.mark.parametrize(
    "options, says",
    [
        ({"provider": "runway"}, "engine_options.provider: .*must be one of gemini, vertex"),
        ({"base_url": "https://user:pw@example.com"}, "engine_options.base_url: .*without credentials"),
        ({"base_url": "ftp://example.com"}, "engine_options.base_url"),
        ({"credential_env": "AIza-the-key-itself"}, "engine_options.credential_env: .*not the credential"),
        ({"secret": "x"}, "engine_options.secret"),
        ({"poll_interval": 0}, "engine_options.poll_interval"),
    ],
)
def test_upstream_entries_are_checked(options, says):
    entry = {**UPSTREAM, "engine_options": {**UPSTREAM["engine_options"], **options}}
    with pytest.raises(ValueError, match=f"veo-upstream: {says}"):
        check_catalog(Catalog([ModelSpec(**entry)]))


def test_an_upstream_entry_and_its_fallbacks():
    catalog = check_catalog(Catalog([ModelSpec(**UPSTREAM, fallback=["local"]), ModelSpec(**LOCAL)]))
    upstream = catalog.get("veo-upstream")
    assert [spec.id for spec in catalog.route(upstream)] == ["veo-upstream", "local"]
    assert [spec.id for spec in catalog.route(catalog.get("local"))] == ["local"]
    assert upstream.engine_options["base_url"] == "https://generativelanguage.googleapis.com/"  # as written
    with pytest.raises(ValueError, match="veo-upstream: fallback 'elsewhere' is not another entry"):
        Catalog([ModelSpec(**UPSTREAM, fallback=["elsewhere"])])
    with pytest.raises(ValueError, match="fallback 'veo-upstream' is not another entry"):
        Catalog([ModelSpec(**UPSTREAM, fallback=["veo-upstream"])])
    with pytest.raises(ValueError, match="the upstream engine takes no reference images"):
        check_catalog(Catalog([ModelSpec(**UPSTREAM, reference_images=1)]))
