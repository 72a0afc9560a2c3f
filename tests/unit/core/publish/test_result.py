"""core/publish/result.py: the run's headline counts what happened, in every outcome."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from buildcache.buildkit.report import VariantStatus
from buildcache.core.config.load import parse_config
from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish.result import BuildResult
from buildcache.core.publish.writes import Status, TagResult
from buildcache.errors import BuildFailed
from tests.unit.plans import make_plan

CONFIG = """\
images = ["ghcr.io/acme/widget", "docker.io/acme/widget"]
[variants.slim]
default = true
[variants.full]
"""


def _plan(**request: object) -> BuildPlan:
    config = parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/b.toml"), root=Path("/r"))
    return make_plan(config, version="1.0.0", **request)


def _tags(plan: BuildPlan, status: Status = "done") -> list[TagResult]:
    """A result for every tag of every variant on every registry."""
    return [
        TagResult(v.name, ref.bare(), ref.tag or "", status)
        for v in plan.variants
        for ref in v.tags
    ]


def _result(plan: BuildPlan, states: dict[str, str], **given: object) -> BuildResult:
    statuses = {name: VariantStatus(state) for name, state in states.items()}  # type: ignore[arg-type]
    return BuildResult(plan=plan, reports={}, targets={}, statuses=statuses, **given)  # type: ignore[arg-type]


BOTH_BUILT = {"slim": "built", "full": "built"}


def test_a_build_that_pushed_counts_its_variants_and_tags() -> None:
    plan = _plan(push=True)
    result = _result(plan, BOTH_BUILT, published=_tags(plan))
    assert result.headline() == "built 2 variant(s), pushed 8 tag(s)"


def test_a_release_published_before_built_nothing_and_pushed_nothing_new() -> None:
    """Every variant was published already: its tags are written again over the same image;
    nothing was built and nothing new pushed."""
    plan = _plan(push=True)
    before = {"slim": "published before", "full": "published before"}
    result = _result(plan, before, published=_tags(plan))
    assert result.headline() == (
        "built nothing, 2 published before, wrote 8 tag(s) of the release again (its image)"
    )
    mixed = _result(plan, {"slim": "built", "full": "published before"}, published=_tags(plan))
    assert mixed.headline() == (
        "built 1 variant(s), 1 published before, pushed 4 tag(s), "
        "wrote 4 tag(s) of the release again (its image)"
    )


@pytest.mark.parametrize(
    ("request_", "published", "line"),
    [
        ({}, "none", "built 2 variant(s)"),  # a local build pushes nothing and says nothing of it
        ({"push": True}, "none", "built 2 variant(s), pushed no tag"),
        ({"push": True}, "kept", "built 2 variant(s), kept 8 on a higher release, pushed no tag"),
    ],
)
def test_a_run_that_pushed_no_tag_says_so(
    request_: dict[str, object], published: str, line: str
) -> None:
    plan = _plan(**request_)
    tags = [] if published == "none" else _tags(plan, "kept")
    assert _result(plan, BOTH_BUILT, published=tags).headline() == line


def test_a_failed_bake_counts_what_failed_and_pushed_nothing() -> None:
    plan = _plan(push=True)
    failed = _result(
        plan, {"slim": "failed", "full": "cancelled"}, error=BuildFailed("the build failed")
    )
    assert failed.headline() == "built nothing, 2 failed, pushed no tag"
    kept_going = _result(
        plan,
        {"slim": "built", "full": "failed"},
        published=[r for r in _tags(plan) if r.variant == "slim"],
        error=BuildFailed("the build failed at full"),
    )
    assert kept_going.headline() == "built 1 variant(s), 1 failed, pushed 4 tag(s)"


def test_a_push_by_digest_says_merge_tags_it() -> None:
    config = parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/b.toml"), root=Path("/r"))
    plan = make_plan(config, version="1.0.0", push_by_digest=True, platforms=("linux/amd64",))
    result = _result(plan, BOTH_BUILT)
    assert result.headline() == "built 2 variant(s), pushed by digest (buildcache merge tags them)"
    assert dataclasses.replace(result, statuses={}).headline().startswith("built 2 variant(s)")


def test_a_load_names_the_image_and_platform_it_loaded() -> None:
    plan = _plan(load=True, platforms=("linux/amd64",))
    headline = _result(plan, {"slim": "built", "full": "failed"}).headline()
    assert headline.endswith(
        ", loaded ghcr.io/acme/widget:1.0.0 (linux/amd64) into the local image store"
    )
    assert headline.count("loaded") == 1  # full failed: nothing of it was loaded


def test_an_export_says_where_the_files_were_written() -> None:
    from buildcache.core.output import Export

    config = parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/b.toml"), root=Path("/r"))
    export = Export("oci", Path("/r/image.tar"))
    plan = make_plan(config, version="1.0.0", selected=("slim",), export=export)
    result = _result(plan, {"slim": "built"})
    assert result.headline() == "built 1 variant(s), written to /r/image.tar (type=oci)"
