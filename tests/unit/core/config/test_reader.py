"""core/config/reader.py: a schema's settings resolved from a TOML table and the environment,
the environment over the file over the default, each value's source recorded, and every error
naming the file (or the variable) and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildcache.core.config.kinds import CONVERTERS
from buildcache.core.config.reader import Reader, kind_of
from buildcache.core.config.schema import Setting
from buildcache.errors import ConfigError

ROOT = Path("/repo")
SCHEMA = (
    Setting("platforms", "platforms", ("linux/amd64",), env="BUILDCACHE_PLATFORMS"),
    Setting("target", "name", env="BUILDCACHE_TARGET"),
    Setting("keep-going", "bool", False),
)


def _reader(env: dict[str, str] | None = None, name: str = "buildcache.toml") -> Reader:
    return Reader(ROOT / name, ROOT, env or {}, CONVERTERS)


def test_the_environment_is_over_the_file_over_the_default_and_each_source_is_kept() -> None:
    reader = _reader({"BUILDCACHE_PLATFORMS": "linux/amd64, linux/arm64,"})
    values = reader.section({"platforms": ["linux/riscv64"], "target": "app"}, SCHEMA, "build.")
    assert values == {
        "platforms": ("linux/amd64", "linux/arm64"),  # a list, comma-separated, in a variable
        "target": "app",
        "keep-going": False,
    }
    assert reader.sources == {
        "build.platforms": "env BUILDCACHE_PLATFORMS",
        "build.target": "file buildcache.toml",
        "build.keep-going": "default",
    }
    assert reader.given("build.target")
    assert not reader.given("build.keep-going")
    assert not reader.given("build.never-read")


def test_an_empty_variable_is_no_value_and_a_required_setting_must_be_written() -> None:
    assert _reader({"BUILDCACHE_TARGET": "  "}).section({}, SCHEMA, "")["target"] is None
    required = (Setting("images", "images", required=True),)
    with pytest.raises(ConfigError) as caught:
        _reader().section({}, required, "")
    assert caught.value.message == "/repo/buildcache.toml: images: is required"
    assert caught.value.hint == 'e.g. images = ["ghcr.io/acme/widget"]'


def test_an_unknown_key_is_refused_with_the_one_meant_or_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        _reader().section({"keep_going": True}, SCHEMA, "build.")
    assert caught.value.message == "/repo/buildcache.toml: build.keep_going: is not a known setting"
    assert caught.value.hint == "perhaps you meant 'build.keep-going'?"
    with pytest.raises(ConfigError) as caught:
        _reader().check_keys({"zzz": 1}, ("platforms", "target"), "")
    assert caught.value.hint == "known keys: platforms, target"
    # the keys another reader reads are known too
    assert _reader().section({"nodes": []}, SCHEMA, "", known=("nodes",))["target"] is None


def test_a_wrong_value_from_a_variable_blames_the_variable_not_the_file() -> None:
    with pytest.raises(ConfigError) as caught:
        _reader({"BUILDCACHE_PLATFORMS": "amd64"}).section({}, SCHEMA, "")
    assert caught.value.message == (
        "environment BUILDCACHE_PLATFORMS: 'amd64' is not a platform like 'linux/amd64' or "
        "'linux/arm/v7'"
    )


def test_in_pyproject_toml_a_key_is_named_under_its_tool_table() -> None:
    with pytest.raises(ConfigError) as caught:
        _reader(name="pyproject.toml").section({"keep-going": "yes"}, SCHEMA, "build.")
    assert caught.value.message == (
        "/repo/pyproject.toml: tool.buildcache.build.keep-going: must be true or false, not a string"
    )
    assert Reader(None, ROOT, {}, CONVERTERS).error("images", "is required").message == (
        "the environment: images: is required"
    )


def test_a_section_that_is_not_a_table_is_refused() -> None:
    reader = _reader()
    assert reader.table({}, "cache") == {}
    assert reader.table({"cache": {"mode": "min"}}, "cache") == {"mode": "min"}
    with pytest.raises(ConfigError) as caught:
        reader.table({"cache": "ghcr.io/acme/cache"}, "cache")
    assert caught.value.message == "/repo/buildcache.toml: cache: must be a table, not a string"


@pytest.mark.parametrize(
    ("value", "words"),
    [("x", "a string"), (1, "a number"), (1.5, "a number"), (True, "a boolean"),
     ([], "a list"), ({}, "a table"), (None, "NoneType")],
)  # fmt: skip
def test_a_value_s_kind_is_named_as_toml_names_it(value: object, words: str) -> None:
    assert kind_of(value) == words
