"""core/plan/invariants.py: what must hold of every plan, through the plan that checks it: one
writer per tag, no name written that is another's (a cache, a record, a staging tag), no image
tag shaped like a cache tag, a cache ref that keeps a record beside it, a Dockerfile that is one,
paths that exist, and a note for a path outside the project."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from buildcache.core.config.load import parse_config
from buildcache.core.plan.ci import GitFacts
from buildcache.core.plan.invariants import check_dockerfiles
from buildcache.errors import ConfigError, UsageError
from tests.unit.core.plan.test_make import CONFIG, _config
from tests.unit.plans import make_plan, plan_run


def test_a_cache_ref_equal_to_an_image_tag_is_a_config_error() -> None:
    # the alias of variant buildcache-full is the cache tag of variant full, in the same repository
    text = CONFIG + "\n[variants.buildcache-full]\n"
    with pytest.raises(ConfigError, match="is shaped like a cache tag"):
        make_plan(_config(text), version="1")
    with pytest.raises(ConfigError, match="must not be empty"):
        _config(CONFIG.replace("[cache]\n", '[cache]\ntag-prefix = ""\n'))


def test_two_variants_writing_one_tag_is_refused_naming_both() -> None:
    # --tag 1-x on the default variant is version 1 of variant x
    text = 'images = ["ghcr.io/acme/w"]\n[variants.main]\n[variants.x]\n'
    with pytest.raises(UsageError, match="the variants main and x would both write"):
        make_plan(_config(text), version="1", extra_tags=["1-x"])


def test_a_dockerfile_that_is_not_there_fails_the_plan(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    config = parse_config(
        tomllib.loads(CONFIG), {}, path=tmp_path / "buildcache.toml", root=tmp_path
    )
    with pytest.raises(
        UsageError, match=r"the Dockerfile of full, .*Dockerfile.full, does not exist"
    ):
        plan_run(config, env={}, git=GitFacts(), version="1", exists=Path.exists)


NAMESPACE = 'images = ["ghcr.io/acme/w"]\n[variants.slim]\ndefault = true\n'


@pytest.mark.parametrize(
    ("variants", "branch", "tags", "words"),
    [
        # base's staging tag (a docker-driver push) is base-image's cache
        (["base", "base-image"], "main", [],
         "w:buildcache-base-image would be the staging tag of base and the cache of base-image"),
        # slim's cache on branch dev is the main cache of slim-dev
        (["slim-dev"], "dev", [],
         "w:buildcache-slim-dev would be written as the cache of slim and is the cache of slim-dev"),
        (["full"], "main", ["buildcache-full.record"],
         "w:buildcache-full.record would be written as a tag of slim and is the cache record of full"),
        (["full"], "buildcache-full-image", [], "shaped like a cache tag of full"),
    ],
)  # fmt: skip
def test_a_name_buildcache_writes_is_never_another_s(
    variants: list[str], branch: str, tags: list[str], words: str
) -> None:
    config = _config(NAMESPACE + "".join(f"[variants.{name}]\n" for name in variants))
    with pytest.raises(UsageError, match=re.escape(words)):
        plan_run(config, tags=tags, git=GitFacts(branch=branch, default_branch="main"))
    # the same config on its default branch, without the tag, plans (unless the config itself
    # gives one name to two variants)
    if "staging tag" not in words:
        plan_run(config, git=GitFacts(branch="main", default_branch="main"))


def test_a_file_that_is_not_a_dockerfile_is_refused_without_a_line_of_it(tmp_path: Path) -> None:
    secret = "root:$6$hash:20228:0:99999:7:::\n"
    config = _config('images = ["ghcr.io/acme/w"]\ndockerfile = "/etc/shadow"\ncontext = "/"\n')
    with pytest.raises(ConfigError, match="/etc/shadow is not a Dockerfile: line 1") as refused:
        plan_run(config, version="1", read_text=lambda path: secret, exists=lambda path: True)
    assert "root" not in str(refused.value)
    plan = plan_run(
        config, version="1", read_text=lambda path: "FROM a\n", exists=lambda path: True
    )
    assert "the context of default, /, is outside the project (/r)" in plan.notes


def test_a_cache_ref_too_long_to_keep_a_record_beside_it_is_refused() -> None:
    text = f'images = ["ghcr.io/acme/w"]\n[cache]\ntag-prefix = "{"b" * 118}-"\n'
    with pytest.raises(ConfigError) as refused:
        make_plan(_config(text), version="1")
    assert refused.value.key == "cache.tag-prefix"
    assert refused.value.reason == (
        f"the cache ref ghcr.io/acme/w:{'b' * 118}-default is not a valid Docker tag, or is too "
        "long to keep a record beside it (at most 121 characters)"
    )


def test_only_a_file_that_is_not_a_dockerfile_is_refused_by_its_line_number() -> None:
    check_dockerfiles({Path("/r/Dockerfile"): "# syntax=docker/dockerfile:1\nFROM a\nRUN true\n"})
    check_dockerfiles({Path("/r/Dockerfile"): None})  # not read: left to the path check
    with pytest.raises(ConfigError) as refused:
        check_dockerfiles({Path("/r/notes.txt"): "FROM a\nplease build me\n"})
    assert refused.value.reason == (
        "/r/notes.txt is not a Dockerfile: line 2 is no instruction BuildKit knows (not shown: "
        "the file may hold anything)"
    )
    assert "please" not in refused.value.message
