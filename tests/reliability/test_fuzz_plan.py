"""Property-based fuzzing of the config, the environment and the command line (hypothesis).

Every input ends in a plan that keeps the invariants, or in one of buildcache's own errors (a
usage or config error: a sentence, exit 2); never in another exception, which the CLI would turn
into "internal error". `make test` runs 200 inputs per property; `make fuzz` (BUILDCACHE_FUZZ=1000)
runs more.
"""

from __future__ import annotations

import os
import string
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildcache.core.config.load import parse_config
from buildcache.core.plan.ci import GitFacts
from buildcache.core.plan.model import BuildPlan
from buildcache.core.reference import MAX_NAME, MAX_TAG, ImageRef
from buildcache.errors import BuildcacheError, UsageError
from tests.unit.plans import plan_run

EXAMPLES = int(os.environ.get("BUILDCACHE_FUZZ", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mostly(good: Any, odd: Any, share: int) -> Any:
    """`good` share-in-(share+1) of the time, `odd` the rest."""
    return st.integers(0, share).flatmap(lambda n: good if n < share else odd)


# valid pieces most of the time, so that inputs get past the first check and reach the planner;
# near-valid ones and the characters that break them the rest: newlines, spaces, brackets, unicode
EDGE = st.sampled_from(
    ["", " ", "\n", "x\n", "[", "]", "/", ":", "@", "latest", "A", "é", "-", "."]
)
NAME = st.text(alphabet=string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=10)
WORD = st.integers(0, 4).flatmap(lambda n: [NAME, NAME, NAME, EDGE, st.text(max_size=8)][n])
GOOD_IMAGE = st.builds(
    lambda h, r: f"{h}/acme/{r}",
    st.sampled_from(["ghcr.io", "docker.io", "127.0.0.1:5000"]),
    st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
)
ODD_IMAGE = st.one_of(WORD, st.builds(lambda r: "a/" + "b" * r, st.integers(240, 300)))
IMAGE = _mostly(GOOD_IMAGE, ODD_IMAGE, 8)
GOOD_PLATFORM = st.sampled_from(["linux/amd64", "linux/arm64", "linux/arm/v7"])
PLATFORM = _mostly(GOOD_PLATFORM, WORD, 6)
ARG = _mostly(st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True), WORD, 4)


@st.composite
def configs(draw: Any) -> dict[str, Any]:
    table: dict[str, Any] = {"images": draw(st.lists(IMAGE, min_size=1, max_size=2, unique=True))}
    if draw(st.booleans()):
        table["platforms"] = draw(
            st.lists(PLATFORM, min_size=draw(st.sampled_from([0, 1, 1, 1])), max_size=3)
        )
    if draw(st.booleans()):
        table["build-args"] = draw(
            st.dictionaries(WORD, st.one_of(WORD, st.integers()), max_size=3)
        )
    if draw(st.booleans()):
        table["cache"] = {
            k: v
            for k, v in {
                "tag-prefix": draw(st.one_of(st.just("buildcache-"), WORD)),
                "image": draw(st.one_of(st.none(), IMAGE)),
                "mode": draw(st.sampled_from(["max", "min", "max", "all"])),
            }.items()
            if v is not None
        }
    if draw(st.booleans()):
        table["tags"] = {
            "semver": draw(st.booleans()),
            "sha": draw(st.booleans()),
            "prefix": draw(st.one_of(st.just(""), WORD)),
            "raw": draw(st.lists(WORD, max_size=2)),
        }
    if draw(st.booleans()):
        table["variants"] = {
            name: {"build-args": {"V": name}} | ({"default": True} if n == 0 else {})
            for n, name in enumerate(draw(st.lists(WORD, min_size=1, max_size=4, unique=True)))
        }
    return table


def _check(plan: BuildPlan) -> None:
    """The invariants a plan keeps, whatever came in."""
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
    cache_tags = {str(v.cache_ref) for v in plan.variants}
    assert not cache_tags & set(writers), "an image tag is a cache tag"


@FUZZ
@given(
    table=configs(),
    version=st.one_of(st.none(), WORD, st.sampled_from(["1.2.3", "v1.2.3-rc.1", "latest"])),
    extra=st.lists(WORD, max_size=2),
    env=st.one_of(
        st.just({}),
        st.just({}),
        st.dictionaries(
            st.sampled_from(
                ["BUILDCACHE_IMAGES", "BUILDCACHE_PLATFORMS", "BUILDCACHE_CACHE_IMAGE"]
            ),
            st.one_of(WORD, IMAGE),
            max_size=2,
        ),
    ),
)
def test_any_config_ends_in_a_valid_plan_or_a_usage_error(
    table: dict[str, Any], version: str | None, extra: list[str], env: dict[str, str]
) -> None:
    outcome = _plan(table, version, extra, env)
    OUTCOMES[type(outcome).__name__] = OUTCOMES.get(type(outcome).__name__, 0) + 1
    if isinstance(outcome, BuildcacheError):
        assert isinstance(outcome, UsageError), type(outcome)
        assert outcome.message.strip(), "an error without a sentence"
        assert "\n" not in outcome.message.strip() or "TOML" in outcome.message
    else:
        _check(outcome)


OUTCOMES: dict[str, int] = {}


def _plan(
    table: dict[str, Any], version: str | None, extra: list[str], env: dict[str, str]
) -> BuildPlan | BuildcacheError:
    try:
        text = tomli_w.dumps(table)  # what a user could have written
        config = parse_config(
            tomllib.loads(text), env, path=Path("/r/buildcache.toml"), root=Path("/r")
        )
        return plan_run(
            config,
            env={"BUILDCACHE_VERSION": version} if version else {},
            git=GitFacts(branch="main", default_branch="main", sha="a" * 40),
            tags=extra,
        )
    except BuildcacheError as error:
        return error


def test_the_fuzzing_reached_plans_and_errors_alike() -> None:
    """A fuzzer that only ever hits the first check tests nothing: both outcomes occur."""
    if not OUTCOMES:
        test_any_config_ends_in_a_valid_plan_or_a_usage_error()
    assert OUTCOMES.get("BuildPlan", 0) > 0, OUTCOMES
    assert sum(v for k, v in OUTCOMES.items() if k != "BuildPlan") > 0, OUTCOMES
