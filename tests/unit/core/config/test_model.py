"""core/config/model.py: the typed config, every schema key a field of it, and what a Config
answers of itself (its default variant, cache image, builder, registries, platforms)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from buildcache.core.config.load import parse_config
from buildcache.core.config.model import Config


def _parse(text: str) -> Config:
    return parse_config(
        tomllib.loads(text), {}, path=Path("/repo/buildcache.toml"), root=Path("/repo")
    )


# Each config key is declared once, as its dataclass field, named as its key with `_`
# for `-` (load.fields maps the one to the other); a key that maps to no field fails here.
def _section_fields() -> list[tuple[str, type, tuple[str, ...]]]:
    from buildcache.core.config import model
    from buildcache.core.config.schema import BUILDER_SCHEMA, NODE_SCHEMA, SCHEMA, VARIANT_SCHEMA

    def keys(prefix: str) -> tuple[str, ...]:
        return tuple(
            s.key.removeprefix(prefix)
            for s in SCHEMA
            if s.key.startswith(prefix) and "." not in s.key.removeprefix(prefix)
        )

    return [
        ("top", model.Config, keys("")),
        ("attest", model.AttestConfig, keys("attest.")),
        ("tags", model.TagsConfig, keys("tags.")),
        ("build", model.BuildConfig, keys("build.")),
        ("publish", model.PublishConfig, keys("publish.")),
        ("base", model.BaseConfig, keys("base.")),
        ("variants", model.VariantConfig, tuple(s.key for s in VARIANT_SCHEMA)),
        ("builder", model.BuilderConfig, tuple(s.key for s in BUILDER_SCHEMA)),
        ("nodes", model.NodeConfig, tuple(s.key for s in NODE_SCHEMA)),
    ]


@pytest.mark.parametrize(("section", "dataclass", "keys"), _section_fields())
def test_every_schema_key_has_its_field(
    section: str, dataclass: type, keys: tuple[str, ...]
) -> None:
    import dataclasses

    from buildcache.core.config.load import fields

    names = {f.name for f in dataclasses.fields(dataclass)}
    assert keys, section
    missing = [key for key in fields(dict.fromkeys(keys)) if key not in names]
    assert not missing, f"{section}: no field for {missing}"


def test_the_default_variant_and_a_variant_by_name() -> None:
    config = _parse('images = ["a/b"]\n[variants.slim]\n[variants.full]\ndefault = true\n')
    assert config.default_variant.name == "full"
    assert config.variant("slim").name == "slim"
    assert not config.variant("slim").default


def test_the_cache_image_is_the_first_image_unless_given() -> None:
    two = 'images = ["ghcr.io/acme/widget", "acme/widget"]\n'
    assert str(_parse(two).cache_image) == "ghcr.io/acme/widget"
    given = _parse(two + '[cache]\nimage = "quay.io/acme/cache"\n')
    assert str(given.cache_image) == "quay.io/acme/cache"


def test_registries_are_every_image_s_and_the_cache_s_in_order_once() -> None:
    config = _parse(
        'images = ["ghcr.io/acme/widget", "acme/widget", "ghcr.io/acme/other"]\n'
        '[cache]\nimage = "quay.io/acme/cache"\n'
    )
    assert config.registries == ["ghcr.io", "docker.io", "quay.io"]
    assert _parse('images = ["ghcr.io/a/b"]').registries == ["ghcr.io"]


def test_the_builder_is_named_only_where_it_is_not_the_engine_s_own() -> None:
    assert _parse('images = ["a/b"]').builder_name is None  # no [builder]: buildx's current
    named = _parse('images = ["a/b"]\n[builder]\nname = "ci"\n')
    assert named.builder_name == "ci"
    engine = _parse('images = ["a/b"]\n[builder]\ndriver = "docker"\n')
    assert engine.builder is not None
    assert engine.builder_name is None  # the docker driver is the engine's builder


def test_wanted_platforms_are_every_variant_s_sorted_once() -> None:
    config = _parse(
        'images = ["a/b"]\nplatforms = ["linux/arm64", "linux/amd64"]\n'
        '[variants.slim]\n[variants.arm]\nplatforms = ["linux/arm/v7", "linux/arm64"]\n'
    )
    assert config.wanted_platforms() == ["linux/amd64", "linux/arm/v7", "linux/arm64"]
