"""core/config/json_schema.py: the JSON Schema editors read, made from the one declaration."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from buildcache.core.config.json_schema import config_schema
from tests.conftest import ROOT

SHIPPED = ROOT / "buildcache" / "config.schema.json"


def test_the_shipped_schema_is_the_one_the_declaration_makes() -> None:
    """Regenerate it with `buildcache schema > buildcache/config.schema.json`."""
    assert json.loads(SHIPPED.read_text()) == config_schema()


@pytest.mark.parametrize(
    "config", [ROOT / "buildcache.toml", *sorted((ROOT / "examples").glob("*.toml"))]
)
def test_the_repository_s_configs_are_valid(config: Path) -> None:
    jsonschema.validate(tomllib.loads(config.read_text()), config_schema())


@pytest.mark.parametrize(
    "table",
    [
        {"images": ["a/b"], "cache": {"mdoe": "max"}},  # a misspelt key
        {"images": ["a/b"], "cache": {"mode": "all"}},
        {"images": ["a/b"], "variants": {"x": {"defualt": True}}},
        {"images": ["a/b"], "publish": {"retries": 99}},
        {"platforms": ["linux/amd64"]},  # no images
    ],
)
def test_what_buildcache_refuses_the_schema_refuses_too(table: dict) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(table, config_schema())
