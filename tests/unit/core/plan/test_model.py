"""core/plan/model.py: a plan and its variants' own answers (where a variant is pushed, under
which names), the two ways a plan is narrowed after it is made, and its JSON."""

from __future__ import annotations

import tomllib
from pathlib import Path

from buildcache.core.bases import Upstream
from buildcache.core.config.load import parse_config
from buildcache.core.config.model import Config
from buildcache.core.plan.model import BuildPlan

TEXT = """\
images = ["ghcr.io/acme/widget", "acme/widget"]
build-args = { NPM_TOKEN = "hunter2", VERSION = "1" }
[variants.slim]
default = true
[variants.full]
"""


def _config(text: str = TEXT) -> Config:
    return parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))


def _plan(**request: object) -> BuildPlan:
    from tests.unit.plans import make_plan

    return make_plan(_config(), version="1.2.3", push=True, **request)


def test_a_variant_is_pushed_to_every_image_by_digest_read_from_the_first() -> None:
    slim = _plan().variants[0]
    assert str(slim.pushed_image) == "ghcr.io/acme/widget"
    assert [str(n) for n in slim.push_names] == ["ghcr.io/acme/widget", "docker.io/acme/widget"]


def test_a_builder_that_cannot_push_untagged_pushes_under_the_staging_tag() -> None:
    import dataclasses

    slim = dataclasses.replace(_plan().variants[0], staging_tag="buildcache-slim-staging")
    assert [str(n) for n in slim.push_names] == [
        "ghcr.io/acme/widget:buildcache-slim-staging",
        "docker.io/acme/widget:buildcache-slim-staging",
    ]


def test_a_plan_is_narrowed_to_some_variants_and_given_its_upstreams() -> None:
    plan = _plan()
    only_full = plan.with_variants([plan.variants[1]])
    assert [v.name for v in only_full.variants] == ["full"]
    assert (only_full.version, only_full.push) == (plan.version, plan.push)
    upstream = Upstream(record_note="no record yet")
    given = plan.with_upstreams({"slim": upstream}, ["a base moved"])
    assert [v.upstream for v in given.variants] == [upstream, None]
    assert given.notes == (*plan.notes, "a base moved")
    assert plan.variants[0].upstream is None  # the plan itself is unchanged


def test_a_plan_is_given_what_its_build_would_keep_on_a_higher_release() -> None:
    plan = _plan()
    held = plan.with_holds({"slim": {"latest": "it stays on 2.0.0"}}, ["ghcr.io: unread"])
    assert [dict(v.held) for v in held.variants] == [{"latest": "it stays on 2.0.0"}, {}]
    assert held.to_json()["variants"][0]["held"] == {"latest": "it stays on 2.0.0"}
    assert held.notes == (*plan.notes, "ghcr.io: unread")
    assert plan.variants[0].held == {}  # the plan itself is unchanged


def test_the_json_shows_a_secret_looking_argument_as_stars() -> None:
    data = _plan().to_json()
    assert data["version"] == "1.2.3"
    assert [v["name"] for v in data["variants"]] == ["slim", "full"]
    assert data["variants"][0]["build_args"]["NPM_TOKEN"] == "***"
    assert data["variants"][0]["build_args"]["VERSION"] == "1"
    assert "hunter2" not in str(data)
    assert "push_by_digest" not in data
