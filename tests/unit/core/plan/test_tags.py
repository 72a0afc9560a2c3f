"""Tags for every CI event, with metadata-action's rules as the anchor."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from buildcache.core.config.load import parse_config
from buildcache.core.plan.ci import GitFacts
from buildcache.core.plan.model import BuildPlan
from buildcache.errors import ConfigError, UsageError
from tests.unit.plans import plan_run

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/widget", "GITHUB_SHA": "a" * 40}


def _plan(
    env: dict[str, str],
    tags_toml: str = "",
    *,
    version: str | None = None,
    known: tuple[str, ...] = (),
    **options: Any,
) -> BuildPlan:
    text = (
        'images = ["ghcr.io/acme/widget"]\n[tags]\n'
        + tags_toml
        + "\n[variants.slim]\n[variants.full]\n"
    )
    config = parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))
    return plan_run(
        config,
        env=env,
        git=GitFacts(branch="main", default_branch="main", sha="b" * 40),
        known_versions=lambda: known,
        now=NOW,
        version=version,
        **options,
    )


def _names(plan: BuildPlan, variant: str = "slim") -> list[str]:
    chosen = next(v for v in plan.variants if v.name == variant)
    return [t.tag or "" for t in chosen.tags]


def _rules(plan: BuildPlan, variant: str = "slim") -> dict[str, str]:
    return dict(next(v for v in plan.variants if v.name == variant).tag_rules)


def test_a_pull_request_is_tagged_pr_n_and_never_latest() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/12/merge"}
    env |= {"GITHUB_HEAD_REF": "feature/x", "GITHUB_BASE_REF": "main"}
    plan = _plan(env)
    assert _names(plan) == ["pr-12"]
    assert _names(plan, "full") == ["pr-12-full"]
    assert (plan.version, plan.latest) == ("pr-12", False)
    assert _rules(plan) == {"pr-12": "pull request"}


def test_a_gitlab_merge_request_too() -> None:
    env = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "7", "CI_DEFAULT_BRANCH": "main"}
    assert _names(_plan(env)) == ["pr-7"]


def test_a_branch_push_is_tagged_by_its_slug_and_the_default_branch_edge_where_asked() -> None:
    push = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
    assert _names(_plan({**push, "GITHUB_REF_NAME": "Feature/Login"})) == ["feature-login"]
    main = {**push, "GITHUB_REF_NAME": "main", "GITHUB_BASE_REF": "main"}
    assert _names(_plan(main)) == ["main"]
    plan = _plan(main, "edge = true")
    assert _names(plan) == ["main", "edge"]
    assert _rules(plan)["edge"].startswith("edge (the default branch")


def test_a_manual_run_on_a_branch_builds_without_a_version() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF_TYPE": "branch"}
    plan = _plan({**env, "GITHUB_REF_NAME": "main"})
    assert _names(plan) == ["main"]
    assert plan.latest is False


def test_a_schedule_is_nightly_or_a_date_pattern() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "schedule", "GITHUB_REF_NAME": "main"}
    assert _names(_plan(env)) == ["nightly"]
    assert _names(_plan(env, "schedule = \"nightly-{{date 'YYYYMMDD'}}\"")) == ["nightly-20261128"]
    gitlab = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main"}
    assert _names(_plan(gitlab)) == ["nightly"]


def test_a_tag_build_is_a_release_with_semver_tags_and_latest() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    plan = _plan({**env, "GITHUB_REF_NAME": "v1.2.3"}, "semver = true")
    assert _names(plan) == ["1.2.3", "1.2", "1", "latest"]
    assert _names(plan, "full") == ["1.2.3-full", "1.2-full", "1-full", "full"]
    assert _rules(plan)["1.2"] == "semver {{major}}.{{minor}}"
    assert _rules(plan)["latest"] == "latest: the highest release"


def test_latest_moves_only_for_the_highest_final_release() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    hotfix = _plan(
        {**env, "GITHUB_REF_NAME": "v1.2.4"}, "semver = true", known=("v1.3.0", "v1.2.3")
    )
    assert _names(hotfix) == ["1.2.4", "1.2", "1"]
    assert hotfix.latest_reason == "not the highest release (v1.3.0 is higher)"
    newest = _plan({**env, "GITHUB_REF_NAME": "v1.3.1"}, "semver = true", known=("v1.3.0",))
    assert "latest" in _names(newest)
    always = _plan({**env, "GITHUB_REF_NAME": "v1.2.4"}, "latest = true", known=("v1.3.0",))
    assert "latest" in _names(always)
    never = _plan({**env, "GITHUB_REF_NAME": "v9.0.0"}, "latest = false")
    assert "latest" not in _names(never)


def test_pep440_versions_and_their_pre_releases() -> None:
    final = _plan({}, "pep440 = true", version="1.2.3")
    assert _names(final) == ["1.2.3", "1.2", "1", "latest"]
    candidate = _plan({}, "pep440 = true", version="1.3.0rc1")
    assert _names(candidate) == ["1.3.0rc1"]
    assert candidate.latest_reason == "a pre-release"


@pytest.mark.parametrize("version", ["2.0.0-rc.1", "v2.1.0-beta", "2.1.0rc1", "1.0.0.dev3"])
def test_a_pre_release_never_moves_latest_without_the_series_either(version: str) -> None:
    """docs/tags.md: latest = "auto" moves latest only for a final release, with or without
    semver/pep440 (a new user's 2.0.0-rc.1 moved it: the shorthand took every version as final)."""
    candidate = _plan({}, "", version=version)
    assert _names(candidate) == [version]
    assert candidate.latest_reason == "a pre-release"
    assert "latest" in _names(_plan({}, "", version="2.0.0"))


def test_sha_prefix_suffix_and_raw_tags() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
    env["GITHUB_REF_NAME"] = "dev"
    plan = _plan(env, 'sha = true\nsha-format = "long"\nraw = ["stable"]\nprefix = "py312-"')
    assert _names(plan) == ["py312-dev", f"py312-sha-{'a' * 40}", "py312-stable"]
    assert _rules(plan)[f"py312-sha-{'a' * 40}"] == "sha (long)"


def test_a_given_version_on_a_branch_is_a_release_and_no_latest_keeps_it_out() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF_NAME": "main"}
    plan = _plan(env, version="1.4.0", no_latest=True)
    assert (_names(plan), _names(plan, "full"), plan.release) == (["1.4.0"], ["1.4.0-full"], True)
    assert (plan.latest, plan.latest_reason) == (False, "--no-latest")


@pytest.mark.parametrize("version", ["test", "nightly", "pr-12", "feature-x"])
@pytest.mark.parametrize("tags_toml", ["", "semver = true", "pep440 = true"])
def test_a_given_version_that_is_not_a_release_moves_and_never_moves_latest(
    version: str, tags_toml: str
) -> None:
    """--version test (the README's test image): tagged as given, not published once (built
    and moved by every run), and latest stays where it is, --no-latest or not."""
    env = {**GITHUB, "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF_NAME": "main"}
    for no_latest in (False, True):
        plan = _plan(env, tags_toml, version=version, no_latest=no_latest)
        assert (_names(plan), _names(plan, "full")) == ([version], [f"{version}-full"])
        assert (plan.release, plan.latest) == (False, False)
        assert [dict(v.release_tags) for v in plan.variants] == [{}, {}]
        assert plan.latest_reason == f"{version} is not a release: it does not read as a version"


@pytest.mark.parametrize(
    ("version", "rules"),
    [
        ("test", 'rules = ["type=ref,event=tag", "type=semver,pattern={{version}}"]'),
        ("nightly", 'rules = ["type=ref,event=tag", "type=semver,pattern={{version}}"]'),
        # what init --from makes of a manual run's literal tag: a match rule is no release either
        ("test", 'rules = ["type=match,pattern=^test$", "type=semver,pattern={{version}}"]'),
    ],
)
def test_a_given_version_that_is_not_a_release_with_metadata_action_rules(
    version: str, rules: str
) -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF_NAME": "main"}
    plan = _plan(env, rules, version=version)
    assert (_names(plan), _names(plan, "full")) == ([version], [f"{version}-full"])
    assert (plan.release, plan.latest) == (False, False)
    assert plan.latest_reason == f"{version} is not a release: it does not read as a version"
    assert [dict(v.release_tags) for v in plan.variants] == [{}, {}]
    release = _plan(env, rules, version="v1.2.3")
    assert (release.release, release.latest) == (True, True)
    assert _names(release)[0] == "1.2.3"
    assert release.variants[0].release_tags["1.2.3"] == "1.2.3"


@pytest.mark.parametrize(
    ("version", "release"),
    [
        ("1.2.3", True),
        ("v1.3.0-rc.1", True),
        ("1.3.0rc1", True),
        ("2026.11", True),
        ("v2", True),
        ("test", False),
        ("nightly", False),
        ("pr-12", False),
        ("latest-test", False),
    ],
)
def test_a_version_is_a_release_when_it_reads_as_one(version: str, release: bool) -> None:
    from buildcache.core.plan.tags import reads_as_release

    assert reads_as_release(version) is release


@pytest.mark.parametrize(
    ("tags", "words"),
    [
        ('latest = "sometimes"', 'must be "auto", true or false'),
        ('schedule = "nightly build"', "is not a Docker tag pattern"),
        ('raw = ["-x"]', "is not a valid Docker tag"),
        ('suffix = "!"', "cannot end a Docker tag"),
    ],
)
def test_tag_settings_are_checked(tags: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        _plan({}, tags, version="1")


PUSH = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}


@pytest.mark.parametrize(
    ("branch", "tags", "version", "extra"),
    [
        ("1.0.0", "", None, ()),  # a branch named like the release it would overwrite
        ("v1.0.0", "", None, ()),
        ("1.0", "", None, ()),  # the moving tag of the 1.0 series
        ("v2", "", None, ()),
        ("2.0.0-rc.1", "", None, ()),
        ("1.3.0rc1", "pep440 = true\nsemver = false\n", None, ()),
        ("main", 'raw = ["2.0"]\n', None, ()),  # a raw rule outside the 2.0 release
        ("main", "", None, ("1.2.3",)),  # --tag
        ("main", "", "1.0.0", ("2",)),  # a release, tagging another release's series
        ("main", "", "1.0.0", ("1.1",)),  # a series it is not in
    ],
)
def test_a_tag_that_reads_as_a_release_is_written_only_by_that_release(
    branch: str, tags: str, version: str | None, extra: tuple[str, ...]
) -> None:
    env = {**PUSH, "GITHUB_REF_NAME": branch}
    with pytest.raises(UsageError, match="reads as a release, and this run is not that release"):
        _plan(env, tags, version=version, tags=extra)


@pytest.mark.parametrize(
    ("branch", "tags", "version", "extra", "expected"),
    [
        ("release/1.0.0", "", None, (), "release-1.0.0"),  # a slug with a word before it
        ("1.0.0", 'prefix = "branch-"\n', None, (), "branch-1.0.0"),  # the way out
        ("2fa", "", None, (), "2fa"),
        ("main", "semver = true\n", "1.0.0", ("1.0",), "1.0.0"),  # the release's own series
        ("main", "", "1.2.0", ("stable",), "1.2.0"),
    ],
)
def test_what_does_not_read_as_another_release_is_tagged(
    branch: str, tags: str, version: str | None, extra: tuple[str, ...], expected: str
) -> None:
    env = {**PUSH, "GITHUB_REF_NAME": branch}
    assert _names(_plan(env, tags, version=version, tags=extra))[0] == expected


def test_a_nightly_named_by_its_date_is_not_a_release() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "schedule", "GITHUB_REF_NAME": "main"}
    assert _names(_plan(env, "schedule = \"{{date 'YYYYMMDD'}}\"\n")) == ["20261128"]


RULES = """\
rules = [
  "type=ref,event=branch",
  "type=ref,event=pr",
  "type=semver,pattern={{version}}",
  "type=semver,pattern={{major}}.{{minor}}",
  "type=sha",
]
"""


def test_metadata_action_rules_tag_a_release_with_its_series_and_the_variant_suffix() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    plan = _plan({**env, "GITHUB_REF_NAME": "v1.2.3", "GITHUB_REF": "refs/tags/v1.2.3"}, RULES)
    assert _names(plan) == ["1.2.3", "1.2", "sha-aaaaaaa", "latest"]
    assert _names(plan, "full") == ["1.2.3-full", "1.2-full", "sha-aaaaaaa-full", "full"]
    assert (plan.version, plan.release, plan.latest) == ("1.2.3", True, True)
    slim, full = plan.variants
    assert slim.floating == {"1.2", "latest"}  # moved forward only, written last
    assert full.floating == {"1.2-full", "full"}  # a variant's series moves forward too
    assert _rules(plan)["1.2"] == "semver (type=semver,pattern={{major}}.{{minor}})"
    # the release's own tag: a re-run of v1.2.3 finds it and never replaces it
    assert (slim.release_tags, full.release_tags) == ({"1.2.3": "1.2.3"}, {"1.2.3-full": "1.2.3"})


@pytest.mark.parametrize(
    ("rules", "exact"),
    [
        ('"type=semver,pattern={{version}}"', {"1.2.3"}),
        ('"type=pep440,pattern={{version}}"', {"1.2.3"}),
        ('"type=ref,event=tag"', {"v1.2.3"}),
        ('"type=semver,pattern={{major}}.{{minor}}"', set()),  # a series is no release's own
        ('"type=raw,value=stable"', set()),  # moved by every release
        ('"type=match,pattern=v(.*),group=1"', {"1.2.3"}),
    ],
)
def test_the_release_tag_of_metadata_action_rules(rules: str, exact: set[str]) -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    env |= {"GITHUB_REF_NAME": "v1.2.3", "GITHUB_REF": "refs/tags/v1.2.3"}
    plan = _plan(env, f"rules = [{rules}]")
    assert set(plan.variants[0].release_tags) == exact


def test_a_branch_run_has_no_release_tag() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
    plan = _plan({**env, "GITHUB_REF_NAME": "main", "GITHUB_REF": "refs/heads/main"}, RULES)
    assert [v.release_tags for v in plan.variants] == [{}, {}]
    shorthand = _plan({**env, "GITHUB_REF_NAME": "main", "GITHUB_REF": "refs/heads/main"})
    assert [v.release_tags for v in shorthand.variants] == [{}, {}]


def test_the_release_tag_of_the_shorthand_is_its_version() -> None:
    semver = _plan({}, "semver = true", version="v2.0.0-rc.1")
    assert [set(v.release_tags) for v in semver.variants] == [{"2.0.0-rc.1"}, {"2.0.0-rc.1-full"}]
    plain = _plan({}, version="2026.11")
    assert [set(v.release_tags) for v in plain.variants] == [{"2026.11"}, {"2026.11-full"}]


def test_metadata_action_rules_tag_a_branch_and_a_pull_request_by_ref() -> None:
    push = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
    assert _names(_plan({**push, "GITHUB_REF_NAME": "dev"}, RULES)) == ["dev", "sha-aaaaaaa"]
    pr = {**GITHUB, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge"}
    pr |= {"GITHUB_HEAD_REF": "x", "GITHUB_BASE_REF": "main"}
    assert _names(_plan(pr, RULES)) == ["pr-7", "sha-aaaaaaa"]


def test_metadata_action_rules_never_let_a_branch_write_a_release() -> None:
    push = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
    with pytest.raises(UsageError, match="reads as a release, and this run is not that release"):
        _plan({**push, "GITHUB_REF_NAME": "1.0.0"}, RULES)


def test_a_flavor_affixes_the_tags_and_on_latest_the_moving_tag_too() -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    env |= {"GITHUB_REF_NAME": "v2.0.0", "GITHUB_REF": "refs/tags/v2.0.0"}
    flavored = (
        'rules = ["type=semver,pattern={{version}}"]\nflavor = ["suffix=-py312,onlatest=true"]\n'
    )
    assert _names(_plan(env, flavored)) == ["2.0.0-py312", "latest-py312"]


TAG_PUSH = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
TAG_PUSH |= {"GITHUB_REF_NAME": "v1.2.3", "GITHUB_REF": "refs/tags/v1.2.3"}


@pytest.mark.parametrize(
    ("event", "source"),
    [
        ({"GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "dev"},
         "the branch dev"),
        ({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/12/merge",
          "GITHUB_HEAD_REF": "feature/x", "GITHUB_BASE_REF": "main"}, "the pull request"),
    ],
)  # fmt: skip
def test_a_run_no_rule_tags_pushes_nothing_and_says_so(event: dict[str, str], source: str) -> None:
    plan = _plan({**GITHUB, **event}, 'rules = ["type=semver,pattern={{version}}"]\n', push=True)
    assert [_names(plan, v) for v in ("slim", "full")] == [[], []]
    assert not plan.push
    assert not plan.latest
    assert f"no rule of tags.rules gives {source} a tag: building without pushing" in plan.notes


ISSUE_ORDER = (
    'rules = ["type=semver,pattern={{major}}", "type=semver,pattern={{major}}.{{minor}}", '
    '"type=semver,pattern={{major}}.{{minor}}.{{patch}}"]\n'
)


def test_a_release_is_its_full_version_whatever_rule_comes_first() -> None:
    plan = _plan(TAG_PUSH, ISSUE_ORDER)
    slim = plan.variants[0]
    assert _names(plan) == ["1", "1.2", "1.2.3", "latest"]  # metadata-action's order
    assert plan.version == "1.2.3"  # the version label: not `1`
    assert slim.labels["org.opencontainers.image.version"].value == "1.2.3"
    assert slim.release_tags == {"1.2.3": "1.2.3"}  # published once; higher ones found by it
    assert slim.floating == {"1", "1.2", "latest"}  # follow the releases
    assert _names(plan, "full") == ["1-full", "1.2-full", "1.2.3-full", "full"]


@pytest.mark.parametrize(
    ("rules", "version"),
    [
        ('"type=ref,event=tag"', "v1.2.3"),  # metadata-action's version, a full one
        ('"type=sha", "type=semver,pattern={{version}}"', "1.2.3"),  # sha first by priority
        ('"type=raw,value=stable", "type=sha"', "1.2.3"),  # none spells it: the ref's
    ],
)
def test_the_version_label_is_the_release_s_own(rules: str, version: str) -> None:
    rules = rules.replace('"type=sha"', '"type=sha,priority=1000"')
    assert _plan(TAG_PUSH, f"rules = [{rules}]\n").version == version


def test_a_raw_latest_on_the_default_branch_moves_with_the_branch_as_written() -> None:
    push = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
    rules = (
        'rules = ["type=ref,event=branch", "type=raw,value=latest,enable={{is_default_branch}}"]\n'
    )
    main = _plan({**push, "GITHUB_REF_NAME": "main"}, rules)
    assert _names(main) == ["main", "latest"]
    assert main.variants[0].floating == frozenset()  # written with the branch, never held
    assert _names(_plan({**push, "GITHUB_REF_NAME": "dev"}, rules)) == ["dev"]


@pytest.mark.parametrize(("flavor", "follows"), [("latest=auto", True), ("latest=true", False)])
def test_only_latest_auto_follows_the_releases(flavor: str, follows: bool) -> None:
    rules = f'rules = ["type=ref,event=tag"]\nflavor = ["{flavor}"]\n'
    assert ("latest" in _plan(TAG_PUSH, rules).variants[0].floating) is follows


@pytest.mark.parametrize(("latest", "follows"), [('"auto"', True), ("true", False)])
def test_the_shorthand_s_latest_true_moves_as_written_too(latest: str, follows: bool) -> None:
    slim = _plan(TAG_PUSH, f"semver = true\nlatest = {latest}\n").variants[0]
    assert ("latest" in slim.floating) is follows
    assert {"1.2", "1"} <= slim.floating  # the series follow the releases either way


def test_a_match_rule_s_series_moves_as_written_and_a_semver_one_follows_the_releases() -> None:
    rules = (
        'rules = ["type=match,pattern=^v(\\\\d+\\\\.\\\\d+),group=1", '
        '"type=semver,pattern=v{{major}}"]\n'
    )
    slim = _plan(TAG_PUSH, rules).variants[0]
    assert [t.tag for t in slim.tags] == ["v1", "1.2", "latest"]  # semver first, by priority
    assert slim.floating == {"v1", "latest"}


def test_comment_and_blank_lines_in_rules_and_flavor_are_left_out() -> None:
    rules = (
        'rules = """\n# the release\ntype=semver,pattern={{version}}\n\n  # series\n'
        'type=semver,pattern={{major}}.{{minor}}\n"""\nflavor = ["# none", "latest=false"]\n'
    )
    assert _names(_plan(TAG_PUSH, rules)) == ["1.2.3", "1.2"]


@pytest.mark.parametrize(
    ("tags_toml", "expected"),
    [
        # metadata-action's flavor: every tag but latest suffixed
        (RULES + 'flavor = ["suffix=-alpine"]\n', {"1.2.3-alpine": "1.2.3"}),
        (RULES + 'flavor = ["prefix=v"]\n', {"v1.2.3": "1.2.3"}),
        # the shorthand's own prefix and suffix
        ('semver = true\nsuffix = "-alpine"\n', {"1.2.3-alpine": "1.2.3"}),
    ],
)
def test_a_release_tag_knows_the_version_it_carries_inside_its_affixes(
    tags_toml: str, expected: dict[str, str]
) -> None:
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    plan = _plan({**env, "GITHUB_REF_NAME": "v1.2.3", "GITHUB_REF": "refs/tags/v1.2.3"}, tags_toml)
    assert plan.variants[0].release_tags == expected


# --tag as build-push-action's `tags`: metadata-action's full references of the configured images


def _two_images(*given: str, **options: Any) -> BuildPlan:
    text = 'images = ["ghcr.io/acme/widget", "acme/widget"]\n[variants.slim]\n[variants.full]\n'
    config = parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))
    return plan_run(
        config,
        env={**PUSH, "GITHUB_REF_NAME": "main"},
        git=GitFacts(branch="main", default_branch="main", sha="b" * 40),
        now=NOW,
        tags=given,
        **options,
    )


def test_a_full_reference_of_a_configured_image_is_its_tag_once_for_every_image() -> None:
    plan = _two_images(
        "ghcr.io/acme/widget:edge",
        "docker.io/acme/widget:edge",  # metadata-action's same tag of the second image
        "index.docker.io/acme/widget:sha-bbbbbbb",  # Docker Hub by another of its names
        "acme/widget:pr-check",
        "plain",
    )
    slim = next(v for v in plan.variants if v.name == "slim")
    assert [str(t) for t in slim.tags] == [
        f"{image}:{tag}"
        for tag in ("main", "edge", "sha-bbbbbbb", "pr-check", "plain")
        for image in ("ghcr.io/acme/widget", "docker.io/acme/widget")
    ]
    assert _rules(plan)["edge"] == "--tag"
    assert _names(plan, "full")[2] == "edge-full"  # as a tag alone: T-x for variant x


def test_a_full_reference_s_latest_is_left_to_the_release_rules_with_a_note() -> None:
    plan = _two_images("ghcr.io/acme/widget:latest", "acme/widget:latest", "ghcr.io/acme/widget")
    assert "latest" not in _names(plan)
    assert (
        plan.notes.count(
            "--tag ghcr.io/acme/widget:latest: latest is left to buildcache's release rules, which "
            "move it only to a release above every earlier one"
        )
        == 1
    )
    with pytest.raises(UsageError, match="'latest' \\(--tag\\) is a moving tag"):
        _two_images("latest")  # a bare latest is still refused, as before


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (
            "ghcr.io/other/app:1",
            "--tag 'ghcr.io/other/app:1' is a tag of ghcr.io/other/app, which is not an image of "
            "the config (ghcr.io/acme/widget, docker.io/acme/widget)",
        ),
        ("quay.io/acme/widget:1", "quay.io/acme/widget, which is not an image of the config"),
        ("ghcr.io/acme/widget@sha256:" + "a" * 64, "has a digest: give a tag"),
        ("ghcr.io/acme/widget:-x", "is neither a tag nor an image reference"),
        ("ghcr.io/acme/widget:a:b", "is neither a tag nor an image reference"),
    ],
)
def test_a_full_reference_of_another_image_is_a_usage_error_naming_it(
    given: str, words: str
) -> None:
    with pytest.raises(UsageError) as raised:
        _two_images("ghcr.io/acme/widget:edge", given)
    assert words in raised.value.message
    assert raised.value.exit_code == 2


def test_a_rule_that_writes_the_git_tag_makes_a_tag_of_that_release() -> None:
    tag = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    tag |= {"GITHUB_REF_NAME": "v1.1.1", "GITHUB_REF": "refs/tags/v1.1.1"}
    rules = 'rules = ["type=raw,{{tag}}-{{sha}}-foo"]\n'
    assert _names(_plan(tag, rules)) == ["v1.1.1-aaaaaaa-foo"]
    assert _rules(_plan(tag, rules))["v1.1.1-aaaaaaa-foo"].startswith("git tag, raw (")
    # a branch has no git tag: the same rule's release-shaped tag is refused there
    push = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
    with pytest.raises(UsageError, match="reads as a release"):
        _plan({**push, "GITHUB_REF_NAME": "dev"}, 'rules = ["type=raw,{{tag}}1.0.0"]\n')


def test_base_ref_and_the_pr_head_sha_reach_the_rules(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"base": {"ref": "trunk"}, "head": {"sha": "c0ffee00"}}}')
    pr = {**GITHUB, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge"}
    pr |= {"GITHUB_EVENT_PATH": str(event), "DOCKER_METADATA_PR_HEAD_SHA": "true"}
    plan = _plan(pr, 'rules = ["type=ref,event=pr", "type=raw,to-{{base_ref}}", "type=sha"]\n')
    assert _names(plan) == ["pr-7", "to-trunk", "sha-c0ffee0"]
    assert plan.variants[0].labels["org.opencontainers.image.revision"].value == "c0ffee00"


# metadata-action's semver tags of a release, passed on as build-push-action's `tags`


def _release_with(rules: str, *given: str) -> BuildPlan:
    text = f'images = ["ghcr.io/acme/widget"]\n{rules}\n[variants.slim]\n'
    config = parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))
    env = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    env |= {"GITHUB_REF_NAME": "v1.2.3", "GITHUB_REF": "refs/tags/v1.2.3"}
    return plan_run(
        config, env=env, git=GitFacts(default_branch="main", sha="b" * 40), now=NOW, tags=given
    )


@pytest.mark.parametrize(
    "rules", ["", '[tags]\nrules = ["type=semver,pattern={{version}}"]'], ids=["shorthand", "rules"]
)
def test_a_release_s_own_version_and_series_given_as_tags_are_its_own(rules: str) -> None:
    plan = _release_with(rules, "ghcr.io/acme/widget:1.2.3", "ghcr.io/acme/widget:1.2", "1")
    slim = plan.variants[0]
    assert {"1.2.3", "1.2", "1"} <= {t.tag for t in slim.tags}
    assert slim.release_tags["1.2.3"] == "1.2.3"  # published once, as the version's own tag
    assert {"1.2", "1"} <= slim.floating  # only ever moved forward
    # another release's version or series is still refused
    for other in ("1.2.4", "1.3", "2"):
        with pytest.raises(
            UsageError, match="reads as a release, and this run is not that release"
        ):
            _release_with(rules, other)


# What buildcache publishes against what the real metadata-action outputs: the generated cases
# of scripts/metadata-action-oracle.py (tests/unit/core/plan/data), each planned as a run of
# GitHub Actions with the runner's variables for its ref and its event file, the default
# variant's tags against the action's `tag-names`. The rules engine alone is test_rules.py's;
# here the plan's own rules come on top (a release written only by a release).
ORACLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "metadata_action_oracle.json").read_text()
)
COMMIT_TIME = int(
    datetime.fromisoformat(ORACLE["commit_date"]).timestamp()
)  # HEAD's, as git has it
# where the plan differs on purpose, and why (docs/tags.md#the-real-metadata-action-as-the-oracle)
RELEASE_ONLY = "a release is written only by a release: a branch named 1.0.0"
INVALID = "metadata-action outputs a tag docker refuses (`-860c190`: `{{branch}}` on a tag push)"
OWN_KEYS = "no tags or flavor lines: buildcache's own tag keys make the tags"
PUBLISHED_FIGURES = {RELEASE_ONLY: 7, INVALID: 62, OWN_KEYS: 23}  # of 1,200: 1,108 equal


def _why_it_differs(case: dict[str, Any], found: dict[str, Any]) -> str:
    if not case["tags"].strip() and not case["flavor"].strip():
        return OWN_KEYS
    error = found.get("error", "")
    if "reads as a release, and this run is not that release" in error:
        return RELEASE_ONLY
    return INVALID if "is not a valid Docker tag" in error else ""


def _runner_env(event: dict[str, Any], payload_file: Path) -> dict[str, str]:
    """The variables a runner sets for the event's ref."""
    ref = event["ref"]
    env = {**GITHUB, "GITHUB_EVENT_NAME": event["event_name"], "GITHUB_REF": ref}
    env |= {"GITHUB_SHA": event["sha"], "GITHUB_EVENT_PATH": str(payload_file)}
    kind, _, name = ref.removeprefix("refs/").partition("/")
    env |= {"GITHUB_REF_TYPE": "tag" if kind == "tags" else "branch", "GITHUB_REF_NAME": name}
    pull = event["payload"].get("pull_request")
    if pull is not None and event["event_name"] == "pull_request":
        env |= {"GITHUB_HEAD_REF": pull["head"]["ref"], "GITHUB_BASE_REF": pull["base"]["ref"]}
    return env


def published(case: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """The default variant's tags and the plan's version, or the sentence the plan stops with."""
    payload = tmp / f"{case['id']}.json"
    payload.write_text(json.dumps(case["event"]["payload"]))
    text = 'images = ["ghcr.io/acme/widget"]\n[tags]\n'
    for key in ("tags", "flavor"):  # the input's text as one entry (a multi-line string)
        lines = [case[key]] if case[key].strip() else []
        text += f"{'rules' if key == 'tags' else key} = {json.dumps(lines)}\n"
    try:
        config = parse_config(tomllib.loads(text), {}, path=Path("/r/b.toml"), root=Path("/r"))
        plan = plan_run(
            config,
            env=_runner_env(case["event"], payload),
            git=GitFacts(sha=case["event"]["sha"], commit_time=COMMIT_TIME),
            now=datetime.fromisoformat(ORACLE["now"]),
        )
    except (UsageError, ConfigError) as error:
        return {"error": error.message}
    return {"version": plan.version, "tags": [t.tag for t in plan.variants[0].tags]}


def _published_same(case: dict[str, Any], found: dict[str, Any]) -> bool:
    expected = case["expected"]
    if "error" in expected or "error" in found:
        return ("error" in expected) == ("error" in found)
    return found["tags"] == list(dict.fromkeys(expected["tags"]))


def test_what_buildcache_publishes_is_what_the_real_metadata_action_outputs(
    tmp_path: Path,
) -> None:
    """Every case gives the action's tags, or differs for a reason docs/tags.md gives."""
    differ: dict[str, list[str]] = {}
    for case in ORACLE["cases"]:
        found = published(case, tmp_path)
        if _published_same(case, found):
            continue
        differ.setdefault(_why_it_differs(case, found), []).append(
            f"{case['id']}: {found} != {case['expected']}"
        )
    assert differ.pop("", []) == []
    # the figures docs/tags.md gives, and every case that differs named there
    assert {why: len(cases) for why, cases in differ.items()} == PUBLISHED_FIGURES
    docs = (Path(__file__).parents[4] / "docs" / "tags.md").read_text()
    named = [line.partition(":")[0] for cases in differ.values() for line in cases]
    assert [case for case in named if f"`{case}`" not in docs] == []


@pytest.mark.parametrize(
    "rule", ["type=raw,value={{date 'YYYYMMDD'}}", "type=raw,value={{commit_date 'YYYYMMDD'}}"]
)
def test_a_date_tag_of_a_raw_rule_is_no_release_on_a_branch(rule: str) -> None:
    """The oracle's cases: 19 refused as 'reads as a release' before."""
    push = {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
    plan = _plan({**push, "GITHUB_REF_NAME": "main"}, f'rules = ["{rule}"]\n')
    assert _names(plan) == ["20261128"]


def test_a_nightly_s_date_tag_is_no_release_above_the_releases() -> None:
    """`type=schedule,pattern={{date 'YYYYMMDD'}}` beside releases: 20261128 must not hold
    latest (a release's key of 20261128.0.0 would, for good)."""
    from buildcache.core.plan.tags import release_key

    assert [release_key(v) for v in ("20261128", "261128", "v1.2.4", "2026.11")] == [
        None,
        None,
        (1, 2, 4),
        (2026, 11, 0),
    ]
    env = {**TAG_PUSH, "GITHUB_REF_NAME": "v1.2.4", "GITHUB_REF": "refs/tags/v1.2.4"}
    plan = _plan(env, "semver = true\n", known=("20261128",))
    assert plan.latest
