from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from buildcache.ci.providers import run_context
from buildcache.core.config.load import parse_config
from buildcache.core.plan.ci import GitFacts, RunContext, branch_slug, cache_policy
from buildcache.core.plan.model import BuildPlan
from buildcache.core.plan.tags import version_names
from buildcache.errors import UsageError
from tests.unit.plans import make_plan

LOCAL = GitFacts(branch="main", default_branch=None, sha="0123456789abcdef")


def _context(**changes: object) -> RunContext:
    base = run_context({}, LOCAL)
    return RunContext(**{**base.__dict__, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "expected", "release"),
    [
        ("v1.2.3", ["1.2.3", "1.2", "1"], True),
        ("1.2.3", ["1.2.3", "1.2", "1"], True),
        ("0.10.0", ["0.10.0", "0.10", "0"], True),
        ("1.3.0-rc.1", ["1.3.0-rc.1"], False),
        ("v2.0.0-beta.2+build.7", ["2.0.0-beta.2_build.7"], False),
        ("1.2.3+linux", ["1.2.3_linux", "1.2", "1"], True),
    ],
)
def test_semver_tags(version: str, expected: list[str], release: bool) -> None:
    assert version_names(version, semver=True) == (expected, release)


@pytest.mark.parametrize("bad", ["1.2", "v1", "latest", "1.2.3.4", "01.2.3"])
def test_a_version_that_is_not_semver_is_an_error_when_semver_is_on(bad: str) -> None:
    with pytest.raises(UsageError, match="not a semantic version"):
        version_names(bad, semver=True)


def test_without_semver_the_version_is_one_tag_and_sha_adds_one() -> None:
    assert version_names("v1.2.3", semver=False) == (["v1.2.3"], True)
    assert version_names("1.2.3", semver=True, sha="abcdef0123") == (
        ["1.2.3", "1.2", "1", "sha-abcdef0"],
        True,
    )


CONFIG = """\
images = ["ghcr.io/acme/widget"]
[tags]
semver = true
sha = true
[variants.slim]
default = true
[variants.full]
"""


def _config(text: str = CONFIG):
    return parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))


def plan_json(plan: BuildPlan) -> dict[str, Any]:
    """The plan as `plan --json` writes it: the references as the strings buildx reads."""
    return plan.to_json()


def _tags(plan, name: str) -> list[str]:
    return [t.tag for t in next(v for v in plan.variants if v.name == name).tags]


def test_semver_and_sha_follow_the_variant_suffix_rule() -> None:
    plan = make_plan(_config(), version="v1.2.3", sha="abcdef0123")
    assert _tags(plan, "slim") == ["1.2.3", "1.2", "1", "sha-abcdef0", "latest"]
    assert _tags(plan, "full") == ["1.2.3-full", "1.2-full", "1-full", "sha-abcdef0-full", "full"]


def test_a_prerelease_never_moves_minor_major_latest_or_the_alias() -> None:
    plan = make_plan(_config(), version="1.3.0-rc.1", sha="abcdef0123")
    assert _tags(plan, "slim") == ["1.3.0-rc.1", "sha-abcdef0"]
    assert _tags(plan, "full") == ["1.3.0-rc.1-full", "sha-abcdef0-full"]


def test_sha_needs_a_commit() -> None:
    with pytest.raises(UsageError, match="commit is unknown"):
        make_plan(_config(), version="1.2.3")


@pytest.mark.parametrize(
    ("branch", "slug"),
    [
        ("feature/Login-Page", "feature-login-page"),
        ("fix__x..y", "fix__x..y"),
        ("-weird--", "weird"),
        ("renovate/python-3.x", "renovate-python-3.x"),
        ("日本", "branch"),
    ],
)
def test_branch_slug_is_a_safe_tag_part(branch: str, slug: str) -> None:
    assert branch_slug(branch) == slug


def test_branch_slug_fits_the_room_left_in_a_tag() -> None:
    assert len(branch_slug("x" * 300, 100)) == 100


@pytest.mark.parametrize(
    ("context", "flag", "push", "release", "mode", "reason"),
    [
        ({"ci": None}, "auto", True, False, "rw", "a local run with --push"),
        ({"ci": None}, "auto", False, False, "ro", "a local run without --push"),
        (
            {"ci": "github", "branch": "main"},
            "auto",
            False,
            False,
            "rw",
            "the default branch (main)",
        ),
        (
            {"ci": "github", "branch": "feature/x"},
            "auto",
            True,
            False,
            "ro",
            "branch feature/x, not the default (main)",
        ),
        (
            {"ci": "github", "branch": None, "tag_build": True},
            "auto",
            True,
            True,
            "rw",
            "a release tag",
        ),
        (
            {"ci": "github", "branch": "f", "pull_request": True},
            "auto",
            True,
            False,
            "ro",
            "a pull request reads",
        ),
        (
            {"ci": "github", "branch": "f", "pull_request": True, "fork": True},
            "rw",
            True,
            False,
            "ro",
            "from a fork",
        ),
        ({"ci": "github", "branch": "f"}, "rw", False, False, "rw", "--cache rw"),
        ({"ci": None}, "off", True, False, "off", "--cache off"),
    ],
)
def test_cache_policy(
    context: dict, flag: str, push: bool, release: bool, mode: str, reason: str
) -> None:
    policy = cache_policy(flag, push=push, context=_context(**context), release=release)  # type: ignore[arg-type]
    assert policy.mode == mode
    assert reason in policy.reason


def test_a_branch_reads_its_own_ref_then_the_main_one_and_writes_its_own() -> None:
    context = _context(ci="github", branch="Feature/Login")
    policy = cache_policy("rw", push=True, context=context, release=False)
    plan = make_plan(
        _config('images = ["ghcr.io/acme/widget"]'), version="1", push=True, cache_policy=policy
    )
    variant = plan_json(plan)["variants"][0]
    assert tuple(variant["cache_from"]) == (
        "type=registry,ref=ghcr.io/acme/widget:buildcache-default-feature-login",
        "type=registry,ref=ghcr.io/acme/widget:buildcache-default",
    )
    assert variant["cache_to"][0].startswith(
        "type=registry,ref=ghcr.io/acme/widget:buildcache-default-feature-login,"
    )
    # read-only: the same two refs read, nothing written
    policy = cache_policy("auto", push=True, context=context, release=False)
    plan = make_plan(
        _config('images = ["ghcr.io/acme/widget"]'), version="1", push=True, cache_policy=policy
    )
    assert len(plan.variants[0].cache_from) == 2
    assert plan.variants[0].cache_to is None
    # off: nothing read or written
    policy = cache_policy("off", push=True, context=context, release=False)
    plan = make_plan(
        _config('images = ["ghcr.io/acme/widget"]'), version="1", push=True, cache_policy=policy
    )
    assert (plan.variants[0].cache_from, plan.variants[0].cache_to) == ((), None)


def test_default_branch_and_release_use_the_main_ref_only() -> None:
    for context, release in (
        (_context(ci="github", branch="main"), False),
        (_context(ci="github", branch=None, tag_build=True), True),
    ):
        policy = cache_policy("auto", push=True, context=context, release=release)
        plan = make_plan(
            _config('images = ["ghcr.io/acme/widget"]'), version="1", push=True, cache_policy=policy
        )
        variant = plan_json(plan)["variants"][0]
        assert variant["cache_from"] == ["type=registry,ref=ghcr.io/acme/widget:buildcache-default"]
        assert variant["cache_to"][0].startswith(
            "type=registry,ref=ghcr.io/acme/widget:buildcache-default,"
        )
