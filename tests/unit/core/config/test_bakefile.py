"""core/config/bakefile.py: a printed bake definition -> variants."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from buildcache.core.build_inputs import Secret
from buildcache.core.config.bakefile import bake_variants, parse_sets
from buildcache.core.config.load import parse_config
from buildcache.errors import ConfigError, UsageError

PRINTED = {
    "group": {"default": {"targets": ["slim", "full"]}},
    "target": {
        "slim": {
            "context": ".",
            "dockerfile": "docker/Dockerfile",
            "args": {"PY": "3.12"},
            "tags": ["ghcr.io/acme/widget:slim"],
            "platforms": ["linux/amd64"],
        },
        "full": {
            "context": "app",
            "dockerfile": "Dockerfile",
            "args": {"PY": "3.12", "EXTRAS": "all"},
            "target": "runtime",
            "secret": ["id=pypi,env=PYPI_TOKEN"],
            "ssh": ["default"],
            "contexts": {"shared": "../shared"},
        },
        "Other.Target": {},
    },
}


def _config(text: str = ""):
    table = tomllib.loads('images = ["ghcr.io/acme/widget"]\n' + text)
    return parse_config(table, {}, path=Path("/r/buildcache.toml"), root=Path("/r"))


def test_each_target_of_the_group_is_a_variant_with_buildx_s_paths() -> None:
    config, notes = bake_variants(_config(), PRINTED, (), Path("/cwd"))
    slim, full = config.variants
    assert (slim.name, slim.default, full.default) == ("slim", True, False)
    assert slim.context == Path("/cwd")
    assert slim.dockerfile == Path("/cwd/docker/Dockerfile")
    assert full.dockerfile == Path("/cwd/app/Dockerfile")  # relative to its context, as buildx
    assert (full.target, full.build_args["EXTRAS"]) == ("runtime", "all")
    assert full.secrets == (Secret("pypi", env="PYPI_TOKEN"),)
    assert full.ssh == ("default",)
    assert full.contexts == {"shared": "/cwd/../shared"}
    assert notes == ["bake target slim: its tags are buildcache's to make, and replaced"]


def test_a_variant_table_adds_to_its_target_and_may_choose_the_default() -> None:
    text = '[variants.full]\ndefault = true\nbuild-args = { EXTRAS = "some" }\n'
    config, _ = bake_variants(_config(text), PRINTED, (), Path("/cwd"))
    slim, full = config.variants
    assert (slim.default, full.default) == (False, True)
    assert full.build_args == {"PY": "3.12", "EXTRAS": "some"}
    # a table without default = true leaves the bake file's first target the default
    config, _ = bake_variants(_config("[variants.full]\n"), PRINTED, (), Path("/cwd"))
    assert [v.default for v in config.variants] == [True, False]


def test_targets_that_cannot_be_variants_are_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="no target 'nope'"):
        bake_variants(_config(), PRINTED, ("nope",), Path("/cwd"))
    with pytest.raises(ConfigError, match="cannot name a variant"):
        bake_variants(_config(), PRINTED, ("Other.Target",), Path("/cwd"))
    with pytest.raises(ConfigError, match=r"\[variants.extra\] is not a target"):
        bake_variants(_config("[variants.extra]\n"), PRINTED, (), Path("/cwd"))
    assert parse_sets(["slim.args.PY=3.13", "*.platform=linux/arm64"]) == {
        "slim.args.PY": "3.13",
        "*.platform": "linux/arm64",
    }
    with pytest.raises(UsageError, match=r"is not TARGET\.KEY=VALUE"):
        parse_sets(["PY=3.13"])


# docker buildx bake --print of data/monorepo.docker-bake.hcl (a function, a variable, a matrix,
# inherits, nested groups, two images), recorded; the integration test checks the recording
MONOREPO = json.loads((Path(__file__).parent / "data" / "monorepo.print.json").read_text())


def _monorepo(text: str = ""):
    table = tomllib.loads('images = ["ghcr.io/acme/app"]\n' + text)
    config = parse_config(table, {}, path=Path("/r/buildcache.toml"), root=Path("/r"))
    return bake_variants(config, MONOREPO, config.bake_targets, Path("/cwd"))[0]


def test_nested_groups_and_matrix_targets_are_followed_down_to_their_targets() -> None:
    config = _monorepo()
    assert [v.name for v in config.variants] == ["app-debian", "app-alpine", "tools"]
    debian, alpine, tools = config.variants
    assert (debian.build_args, alpine.build_args["FLAVOUR"]) == (
        {"BASE": "base", "FLAVOUR": "debian"},
        "alpine",
    )
    assert tools.context == Path("/cwd/tools")
    assert tools.platforms == ("linux/arm/v7", "linux/arm64")  # as BuildKit names them
    # a group asked for by name is followed too
    asked = _monorepo('bake-targets = ["apps"]')
    assert [v.name for v in asked.variants] == ["app-debian", "app-alpine"]


def test_each_target_is_pushed_to_the_images_its_tags_name() -> None:
    config = _monorepo()
    assert [[str(i) for i in config.images_of(v.name)] for v in config.variants] == [
        ["ghcr.io/acme/app"],
        ["ghcr.io/acme/app"],
        ["ghcr.io/acme/tools", "docker.io/acme/tools"],
    ]
    # tools is alone in its images: bare there; of the app's two, the first (no rule says)
    assert [v.default for v in config.variants] == [True, False, True]
    assert str(config.cache_image_of("tools")) == "ghcr.io/acme/tools"
    assert config.registries == ["ghcr.io", "docker.io"]


def test_a_target_s_own_flavor_makes_another_the_bare_one() -> None:
    config = _monorepo('[variants.app-debian.tags]\nflavor = ["suffix=-debian,onlatest=true"]\n')
    assert [v.default for v in config.variants] == [False, True, True]
    assert config.variant("app-debian").tags is not None
