from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from buildcache.core.config.load import parse_config
from buildcache.core.plan.ci import GitFacts, RunContext, branch_slug, cache_policy, run_context
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


def test_github_context_from_the_environment_and_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "repository": {"default_branch": "trunk"},
                "pull_request": {"head": {"repo": {"full_name": "someone/widget", "fork": True}}},
            }
        )
    )
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_HEAD_REF": "patch-1",
        "GITHUB_REF_NAME": "12/merge",
        "GITHUB_REPOSITORY": "acme/widget",
        "GITHUB_SHA": "feedface",
    }
    context = run_context(env, LOCAL)
    assert context.ci == "github"
    assert context.branch == "patch-1"
    assert context.default_branch == "trunk"
    assert context.pull_request
    assert context.fork
    assert context.sha == "feedface"
    # the same repository is not a fork
    event.write_text(json.dumps({"pull_request": {"head": {"repo": {"full_name": "acme/widget"}}}}))
    env["GITHUB_BASE_REF"] = "main"
    context = run_context(env, LOCAL)
    assert not context.fork
    assert context.default_branch == "main"


def test_github_push_to_a_branch_and_a_tag() -> None:
    push = run_context(
        {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "dev"}, LOCAL
    )
    assert (push.branch, push.tag_build, push.pull_request) == ("dev", False, False)
    tag = run_context(
        {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v1.0.0"}, LOCAL
    )
    assert (tag.branch, tag.tag_build) == (None, True)


def test_gitlab_context() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_DEFAULT_BRANCH": "master",
        "CI_MERGE_REQUEST_IID": "4",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "topic",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "99",
        "CI_MERGE_REQUEST_PROJECT_ID": "1",
    }
    context = run_context(env, LOCAL)
    assert (context.ci, context.branch, context.default_branch) == ("gitlab", "topic", "master")
    assert context.pull_request
    assert context.fork


def test_local_default_branch_from_git_else_main() -> None:
    assert run_context({}, GitFacts(branch="dev", default_branch="trunk")).default_branch == "trunk"
    local = run_context({}, GitFacts(branch="dev"))
    assert local.default_branch == "main"
    assert run_context({"CI": "true"}, GitFacts()).ci == "ci"


def _github(tmp_path: Path, name: str, payload: dict[str, Any], **env: str) -> RunContext:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    base = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(event)}
    return run_context({**base, "GITHUB_SHA": "merge0000", **env}, LOCAL)


PULL = {"number": 15, "pull_request": {"base": {"ref": "trunk"}, "head": {"sha": "head1111"}}}


def test_base_ref_is_a_pull_request_s_base_and_a_tag_push_s_base_ref(tmp_path: Path) -> None:
    assert _github(tmp_path, "pull_request", PULL, GITHUB_BASE_REF="x").base_ref == "trunk"
    # no pull_request in the event: GitHub's own variable
    assert _github(tmp_path, "pull_request", {}, GITHUB_BASE_REF="main").base_ref == "main"
    tag = {"base_ref": "refs/heads/master"}
    assert _github(tmp_path, "push", tag, GITHUB_REF_TYPE="tag").base_ref == "master"
    assert _github(tmp_path, "push", {"base_ref": None}, GITHUB_REF_TYPE="tag").base_ref is None
    assert _github(tmp_path, "push", tag, GITHUB_REF_TYPE="branch").base_ref is None
    gitlab = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "4"}
    target = {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "develop"}
    assert run_context({**gitlab, **target}, LOCAL).base_ref == "develop"


@pytest.mark.parametrize(
    ("name", "switch", "sha"),
    [
        ("pull_request", "true", "head1111"),
        ("pull_request_target", "TRUE", "head1111"),
        ("pull_request", "false", "merge0000"),
        ("pull_request", "", "merge0000"),
        ("push", "true", "merge0000"),  # only a pull request has a head apart from its merge
    ],
)
def test_docker_metadata_pr_head_sha_makes_a_pull_request_s_commit_its_head(
    tmp_path: Path, name: str, switch: str, sha: str
) -> None:
    context = _github(tmp_path, name, PULL, DOCKER_METADATA_PR_HEAD_SHA=switch)
    assert context.sha == sha
