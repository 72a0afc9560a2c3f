"""core/config/schema.py: every setting declared once, with a kind that has a converter, a
default that its converter takes, and a BUILDCACHE_* variable where it has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildcache.core.config.kinds import CONVERTERS
from buildcache.core.config.load import parse_config
from buildcache.core.config.schema import (
    BUILDER_SCHEMA,
    NODE_SCHEMA,
    SCHEMA,
    TABLES,
    TOP_KEYS,
    VARIANT_SCHEMA,
    Setting,
)

SCHEMAS = {"top": SCHEMA, "variant": VARIANT_SCHEMA, "builder": BUILDER_SCHEMA, "node": NODE_SCHEMA}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_key_is_declared_once_with_a_kind_that_has_a_converter(name: str) -> None:
    keys = [s.key for s in SCHEMAS[name]]
    assert len(keys) == len(set(keys))
    assert all(s.kind in CONVERTERS for s in SCHEMAS[name])


def test_each_variable_is_buildcache_s_own_and_names_one_setting() -> None:
    variables = [s.env for s in SCHEMA if s.env]
    assert len(variables) == len(set(variables))
    for setting in SCHEMA:
        # BUILDCACHE_ and the key's last word or more: attest.provenance is BUILDCACHE_PROVENANCE
        name = setting.key.upper().replace(".", "_").replace("-", "_")
        if setting.env:
            assert setting.env.startswith("BUILDCACHE_"), setting.key
            assert name.endswith(setting.env.removeprefix("BUILDCACHE_")), setting.key


def test_choices_and_numbers_allow_their_own_default() -> None:
    settings: list[Setting] = [s for schema in SCHEMAS.values() for s in schema]
    for setting in settings:
        if setting.kind == "choice":
            assert setting.default in setting.choices, setting.key
        if setting.kind in ("int", "number"):
            assert 0 <= setting.default <= setting.high, setting.key


def test_every_default_is_taken_by_its_converter() -> None:
    """A config of the one required key: every other value is its default, converted."""
    config = parse_config({"images": ["a/b"]}, {}, path=Path("/r/buildcache.toml"), root=Path("/r"))
    defaults = {key for key, source in config.sources.items() if source == "default"}
    assert defaults == {s.key for s in SCHEMA if not s.required}


def test_the_top_keys_are_the_settings_and_the_tables_read_apart() -> None:
    assert set(TOP_KEYS) == {s.key.split(".")[0] for s in SCHEMA} | set(TABLES)
    assert {"cache", "variants"} <= set(TOP_KEYS)
