"""Property-based fuzzing of the planner: configs, CI events, git refs and tags, the command line
(hypothesis).

Generated projects are what the planner is given by git and the CI: a branch, the default
branch, HEAD's sha, a tag build's tag, a pull request's number, on GitHub Actions, GitLab CI or a
laptop; and a config written as TOML with a writer (so it always parses). Mostly valid pieces,
so that most inputs reach a complete plan (the share is asserted), and near-valid ones the rest.
Every input ends in a plan that keeps the invariants, or in one of buildcache's own errors (a
usage or config error: one sentence, exit 2); never in another exception, which the CLI would
turn into "internal error". `make test` runs 200 inputs; `make fuzz` (BUILDCACHE_FUZZ=1000) more.
"""

from __future__ import annotations

import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildcache.core.config.load import parse_config
from buildcache.core.config.model import Config
from buildcache.core.plan.ci import GitFacts
from buildcache.core.plan.model import BuildPlan
from buildcache.core.plan.tags import may_write_a_release, release_shaped
from buildcache.core.reference import MAX_NAME, MAX_TAG, ImageRef
from buildcache.errors import BuildcacheError, UsageError
from tests.unit.plans import plan_run

EXAMPLES = int(os.environ.get("BUILDCACHE_FUZZ", "200"))
# `make test` draws the same 200 inputs every run (a share of plans that moves from run to run
# would fail CI by chance); `make fuzz` draws new ones each time.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize="BUILDCACHE_FUZZ" not in os.environ,
    database=None,
)


def _mostly(good: Any, odd: Any, share: int) -> Any:
    """`good` share-in-(share+1) of the time, `odd` the rest (sampled, not st.integers, which
    hypothesis bends toward its bounds)."""
    return st.sampled_from([True] * share + [False]).flatmap(lambda ok: good if ok else odd)


# valid pieces most of the time, so that inputs get past the first check and reach the planner;
# near-valid ones and the characters that break them the rest: newlines, spaces, brackets, unicode
EDGE = st.sampled_from(
    ["", " ", "\n", "x\n", "[", "]", "/", ":", "@", "latest", "A", "é", "-", "."]
)
NAME = st.from_regex(r"[a-z][a-z0-9_-]{0,9}", fullmatch=True)
WORD = st.integers(0, 4).flatmap(lambda n: [NAME, NAME, NAME, EDGE, st.text(max_size=8)][n])
GOOD_IMAGE = st.builds(
    lambda h, r: f"{h}/acme/{r}",
    st.sampled_from(["ghcr.io", "docker.io", "127.0.0.1:5000"]),
    st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
)
ODD_IMAGE = st.one_of(WORD, st.builds(lambda r: "a/" + "b" * r, st.integers(240, 300)))
IMAGE = _mostly(GOOD_IMAGE, ODD_IMAGE, 20)
GOOD_PLATFORM = st.sampled_from(["linux/amd64", "linux/arm64", "linux/arm/v7"])
PLATFORM = _mostly(
    GOOD_PLATFORM, st.one_of(WORD, st.sampled_from(["linux/x86_64", "linux/foo"])), 15
)
ARG = _mostly(st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True), WORD, 15)
VARIANT = _mostly(
    st.one_of(
        st.from_regex(r"[a-z][a-z0-9-]{0,7}", fullmatch=True),
        # names that meet another's cache or staging tag: slim on branch dev, base's staging tag
        st.sampled_from(["slim", "slim-dev", "base", "base-image", "full"]),
    ),
    WORD,
    15,
)
# branches and tags as teams name them, with the ones that read as releases among them
BRANCH = _mostly(
    st.sampled_from(
        [
            *("main", "master", "develop", "feature/Login", "fix_bug-12", "release/1.0"),
            *("renovate/x", "dev", "image", "buildcache-full-image"),
        ]
    ),
    st.one_of(st.sampled_from(["1.0.0", "1.0", "v2", "latest", "full", "é", "a" * 300]), WORD),
    6,
)
GIT_TAG = _mostly(
    st.sampled_from(["v1.2.3", "1.2.3", "v2.0.0-rc.1", "1.3.0rc1", "v10.0.1"]),
    st.one_of(st.sampled_from(["p1/v1.0.0", "nightly", "1.2", "v1.2.3+build.7"]), WORD),
    4,
)


# metadata-action's rule lines as workflows write them, and a few broken ones
RULE = _mostly(
    st.sampled_from(
        [
            "type=ref,event=branch", "type=ref,event=pr", "type=ref,event=tag", "type=schedule",
            "type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}",
            "type=pep440,pattern={{version}}", "type=match,pattern=v(\\d+),group=1",
            "type=edge", "type=sha", "type=sha,format=long", "type=raw,value=stable",
            "type=raw,value=latest,enable={{is_default_branch}}",
            "type=schedule,pattern={{date 'YYYYMMDD' tz='Asia/Tokyo'}}",
        ]
    ),
    st.one_of(WORD, st.sampled_from(["type=bogus", "type=ref", "type=match,group=x"])),
    12,
)  # fmt: skip
FLAVOR = _mostly(
    st.sampled_from(["latest=auto", "latest=false", "prefix=py-,onlatest=true", "suffix=-slim"]),
    st.one_of(WORD, st.just("latest=maybe")),
    10,
)


@st.composite
def _rule_tags(draw: Any) -> dict[str, Any]:
    return {
        "rules": draw(st.lists(RULE, min_size=1, max_size=5)),
        "flavor": draw(st.lists(FLAVOR, max_size=2)),
    }


@st.composite
def configs(draw: Any) -> dict[str, Any]:
    table: dict[str, Any] = {"images": draw(st.lists(IMAGE, min_size=1, max_size=2, unique=True))}
    if draw(st.booleans()):
        table["platforms"] = draw(
            st.lists(
                PLATFORM,
                min_size=draw(st.sampled_from([0, 1, 1, 1, 1, 1])),
                max_size=3,
                unique=True,
            )
        )
    if draw(st.booleans()):
        table["build-args"] = draw(
            st.dictionaries(ARG, _mostly(NAME, st.integers(), 15), max_size=3)
        )
    if draw(st.booleans()):
        table["cache"] = {
            k: v
            for k, v in {
                "tag-prefix": draw(_mostly(st.just("buildcache-"), WORD, 6)),
                "image": draw(st.one_of(st.none(), IMAGE)),
                "mode": draw(st.sampled_from(["max", "min", "max", "max", "max", "all"])),
            }.items()
            if v is not None
        }
    if draw(st.booleans()):
        table["tags"] = draw(st.one_of(st.builds(dict), _rule_tags()))
    elif draw(st.booleans()):
        table["tags"] = {
            "semver": draw(st.booleans()),
            "sha": draw(st.booleans()),
            "pep440": draw(st.booleans()),
            "edge": draw(st.booleans()),
            "prefix": draw(_mostly(st.just(""), WORD, 4)),
            "raw": draw(st.lists(_mostly(NAME, WORD, 4), max_size=2)),
            "schedule": draw(st.sampled_from(["nightly", "nightly-{{date 'YYYYMMDD'}}"])),
        }
    if draw(st.booleans()):
        table["variants"] = {
            name: {"build-args": {"V": name}} | ({"default": True} if n == 0 else {})
            for n, name in enumerate(draw(st.lists(VARIANT, min_size=1, max_size=4, unique=True)))
        }
    return table


GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/widget", "GITHUB_SHA": "b" * 40}


@st.composite
def events(draw: Any) -> tuple[dict[str, str], GitFacts]:
    """What started the run, as the CI's environment and git's facts say it."""
    branch, tag = draw(BRANCH), draw(GIT_TAG)
    git = GitFacts(
        branch=draw(st.one_of(st.just(branch), st.just(branch), st.none())),  # None: detached
        default_branch=draw(st.sampled_from(["main", "master", None])),
        sha=draw(st.sampled_from(["a" * 40, None])),
    )
    number = str(draw(st.integers(1, 99999)))
    kind = draw(st.sampled_from(["laptop", "push", "tag", "pr", "schedule", "manual", "gitlab"]))
    env = {
        "laptop": {},
        "push": {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch"}
        | {"GITHUB_REF_NAME": branch, "GITHUB_REF": f"refs/heads/{branch}"},
        "tag": {**GITHUB, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
        | {"GITHUB_REF_NAME": tag, "GITHUB_REF": f"refs/tags/{tag}"},
        "pr": {**GITHUB, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": branch}
        | {"GITHUB_BASE_REF": "main", "GITHUB_REF": f"refs/pull/{number}/merge"},
        "schedule": {**GITHUB, "GITHUB_EVENT_NAME": "schedule", "GITHUB_REF_NAME": "main"},
        "manual": {**GITHUB, "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF_NAME": branch},
        "gitlab": {"GITLAB_CI": "true", "CI_COMMIT_SHA": "c" * 40, "CI_DEFAULT_BRANCH": "main"}
        | draw(
            st.sampled_from(
                [
                    {"CI_COMMIT_BRANCH": branch, "CI_PIPELINE_SOURCE": "push"},
                    {"CI_COMMIT_TAG": tag, "CI_PIPELINE_SOURCE": "push"},
                    {"CI_MERGE_REQUEST_IID": number, "CI_PIPELINE_SOURCE": "merge_request_event"}
                    | {"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": branch},
                ]
            )
        ),
    }[kind]
    return env, git


def _owned(config: Config) -> dict[str, str]:
    """Every name a variant owns in any run, made here from the README's words, not from
    buildcache's own function: its main cache and record in the cache image, its staging tag
    on every image (and, for one platform, the same names with `-<os>-<arch>`)."""
    owned: dict[str, str] = {}
    prefix, cache = config.cache.tag_prefix, config.cache_image.name
    for variant in config.variants:
        for platform in ("", *(variant.platforms or config.platforms)):
            stem = prefix + variant.name + (f"-{platform.replace('/', '-')}" if platform else "")
            names = [f"{cache}:{stem}", f"{cache}:{stem}.record"]
            names += [f"{image.name}:{stem}-image" for image in config.images]
            for name in names:
                assert owned.setdefault(name, variant.name) == variant.name, f"{name} owned twice"
    return owned


def _check_namespace(plan: BuildPlan, config: Config) -> None:
    """No name a variant writes (its tags, its cache, the record beside it) is another's."""
    owned = _owned(config)
    for variant in plan.variants:
        cache = str(variant.cache_ref)
        for name in (*map(str, variant.tags), cache, f"{cache}.record"):
            assert owned.get(name, variant.name) == variant.name, f"{variant.name} writes {name}"
        for tag in map(str, variant.tags):
            assert tag not in owned, f"the tag {tag} is a name buildcache keeps"


def _check(plan: BuildPlan, config: Config) -> None:
    """The invariants a plan keeps, whatever came in."""
    _check_namespace(plan, config)
    writers: dict[str, str] = {}
    for variant in plan.variants:
        for ref in (*variant.tags, variant.cache_ref, *variant.cache_from):
            text = str(ref)
            assert ImageRef.parse(text) == ref, text  # every reference parses back to itself
            assert len(ref.name) <= MAX_NAME
            assert ref.tag is not None
            assert len(ref.tag) <= MAX_TAG
            assert not any(c.isspace() for c in text)
        for tag in variant.tags:
            assert writers.setdefault(str(tag), variant.name) == variant.name, tag
        if variant.default:  # another variant's tags carry its suffix (1.0.0-full)
            for tag, rule in variant.tag_rules.items():
                # the user's own `type=raw,value=latest` moves latest as written (docs/tags.md)
                users_latest = tag == "latest" and rule.startswith("raw (")
                if not may_write_a_release(rule) and not users_latest:
                    assert not release_shaped(tag), f"a release tag {tag} from the rule {rule}"
    cache_tags = {str(v.cache_ref) for v in plan.variants}
    assert not cache_tags & set(writers), "an image tag is a cache tag"


@FUZZ
@given(
    table=configs(),
    version=_mostly(st.none(), st.one_of(WORD, st.sampled_from(["1.2.3", "v1.2.3-rc.1"])), 3),
    extra=st.lists(
        _mostly(NAME, st.one_of(WORD, st.just("buildcache-full.record")), 4), max_size=2
    ),
    event=events(),
    known=st.lists(st.sampled_from(["v1.0.0", "1.2.3", "v2.0.0", "junk"]), max_size=3),
    config_env=_mostly(
        st.just({}),
        st.dictionaries(
            st.sampled_from(
                ["BUILDCACHE_IMAGES", "BUILDCACHE_PLATFORMS", "BUILDCACHE_CACHE_IMAGE"]
            ),
            st.one_of(WORD, IMAGE),
            max_size=2,
        ),
        6,
    ),
)
def test_any_config_ends_in_a_valid_plan_or_a_usage_error(
    table: dict[str, Any],
    version: str | None,
    extra: list[str],
    event: tuple[dict[str, str], GitFacts],
    known: list[str],
    config_env: dict[str, str],
) -> None:
    env, git = event
    if version:
        env = {**env, "BUILDCACHE_VERSION": version}
    outcome = _plan(table, config_env, env, git, extra, known)
    kind = "BuildPlan" if isinstance(outcome, tuple) else type(outcome).__name__
    OUTCOMES[kind] = OUTCOMES.get(kind, 0) + 1
    if isinstance(outcome, BuildcacheError):
        assert isinstance(outcome, UsageError), type(outcome)
        assert outcome.message.strip(), "an error without a sentence"
        assert "\n" not in outcome.message.strip(), outcome.message  # one line in a CI log
    else:
        _check(*outcome)


OUTCOMES: dict[str, int] = {}


def _plan(
    table: dict[str, Any],
    config_env: dict[str, str],
    env: dict[str, str],
    git: GitFacts,
    extra: list[str],
    known: list[str],
) -> tuple[BuildPlan, Config] | BuildcacheError:
    try:
        text = tomli_w.dumps(table)  # what a user could have written
        config = parse_config(
            tomllib.loads(text), config_env, path=Path("/r/buildcache.toml"), root=Path("/r")
        )
        plan = plan_run(
            config,
            env=env,
            git=git,
            tags=extra,
            known_versions=lambda: known,
            now=datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
        )
        return plan, config
    except BuildcacheError as error:
        return error


def test_the_fuzzing_reached_plans_and_errors_alike() -> None:
    """A fuzzer that only ever hits the first check tests nothing: at least half the inputs
    reach a complete plan, and errors occur too."""
    if not OUTCOMES:
        test_any_config_ends_in_a_valid_plan_or_a_usage_error()
    plans, total = OUTCOMES.get("BuildPlan", 0), sum(OUTCOMES.values())
    print(f"fuzzing the planner: {plans} of {total} inputs reached a plan, {OUTCOMES}")
    assert plans >= total / 2, OUTCOMES
    assert total - plans > 0, OUTCOMES
