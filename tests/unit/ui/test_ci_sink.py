from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from buildcache.buildkit.metadata import TargetMetadata
from buildcache.buildkit.report import (
    CacheExport,
    CacheImport,
    CacheReport,
    ExecutedStep,
    VariantStatus,
)
from buildcache.buildkit.tracker import Vertex
from buildcache.core.bases import BaseUse, MissCause, ResolvedBase, Upstream
from buildcache.core.config.load import parse_config
from buildcache.core.publish.result import BuildResult
from buildcache.core.publish.writes import TagResult
from buildcache.core.reference import ImageRef
from buildcache.errors import BuildFailed
from buildcache.ui import ci_sink as github
from tests.github_output import read_outputs
from tests.unit.plans import make_plan

IMAGES = ("ghcr.io/a/w", "docker.io/a/w")
CONFIG = parse_config(
    {"images": list(IMAGES), "platforms": ["linux/amd64", "linux/arm64"], "variants": {"slim": {}}},
    {},
    path=Path("/r/buildcache.toml"),
    root=Path("/r"),
)
CACHE = "ghcr.io/a/w:buildcache-slim"
REPORT = CacheReport(
    variant="slim",
    imported=(CacheImport(CACHE, "found"),),
    exported=CacheExport(CACHE, "written"),
    total=10,
    cached=8,
    executed_steps=(ExecutedStep("5/5 RUN make", "linux/arm64", 3.25),),
    per_platform={},
    first_executed="[linux/arm64] 5/5 RUN make",
)


# what buildx writes for a target into --metadata-file: buildcache's bake pushes by digest
ENTRY = {
    "buildx.build.ref": "builder/builder0/abc",
    "containerimage.config.digest": "sha256:c0f",
    "containerimage.digest": "sha256:abc",
    "image.name": "ghcr.io/a/w,docker.io/a/w",
}


def _result(**changes: Any) -> BuildResult:
    plan = make_plan(CONFIG, version="1.2.3", push=True)
    published = [
        TagResult("slim", ImageRef.parse(image), tag, "done", attempts=1)
        for tag in ("1.2.3", "latest")
        for image in IMAGES
    ]
    result = BuildResult(
        plan=plan,
        reports={"slim": REPORT},
        targets={
            "slim": TargetMetadata(digest="sha256:abc", config_digest="sha256:c0f", entry=ENTRY)
        },
        published=published,
    )
    return dataclasses.replace(result, **changes)


RESULT = _result()


def test_outputs_per_variant_and_metadata_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=1\n")
    github.write_outputs(path, RESULT)
    assert path.read_text().startswith("earlier=1\n")  # appended, never overwritten
    values = read_outputs(path.read_text())
    assert values["slim-digest"] == "sha256:abc"
    assert (
        values["slim-tags"]
        == "ghcr.io/a/w:1.2.3,docker.io/a/w:1.2.3,ghcr.io/a/w:latest,docker.io/a/w:latest"
    )
    assert values["slim-cache-hit"] == "0.80"
    assert json.loads(values["result"]) == json.loads(json.dumps(RESULT.to_json()))
    assert json.loads(values["variant-tags"]) == {"slim": values["slim-tags"].split(",")}


def test_outputs_named_as_docker_s_actions_have_their_shapes(tmp_path: Path) -> None:
    values = github.outputs(RESULT)
    # build-push-action's, of the default variant: its digest, image ID and buildx's metadata
    assert values["digest"] == "sha256:abc"
    assert values["imageid"] == "sha256:c0f"
    # image.name as build-push-action's: the tags pushed, not the names the bake pushed by digest
    tags = "ghcr.io/a/w:1.2.3,docker.io/a/w:1.2.3,ghcr.io/a/w:latest,docker.io/a/w:latest"
    assert json.loads(values["metadata"]) == {**ENTRY, "image.name": tags}
    # metadata-action's: every tag, one per line (a multi-line output in $GITHUB_OUTPUT)
    assert values["tags"].splitlines() == values["slim-tags"].split(",")
    path = tmp_path / "output"
    github.write_outputs(path, RESULT)
    text = path.read_text()
    assert "tags<<ghadelimiter_" in text
    assert "\nghcr.io/a/w:1.2.3\ndocker.io/a/w:1.2.3\n" in text


def test_build_push_outputs_are_empty_where_the_default_variant_was_not_built() -> None:
    values = github.outputs(_result(targets={}))
    assert (values["digest"], values["imageid"], values["metadata"]) == ("", "", "")


def test_summary_has_tags_per_registry_digest_platforms_and_the_cache() -> None:
    text = github.summary(RESULT)
    assert "## buildcache: 1.2.3 built" in text
    assert "### slim (default)" in text
    assert "| `ghcr.io/a/w` | `1.2.3` `latest` |" in text
    assert "| `docker.io/a/w` | `1.2.3` `latest` |" in text
    assert "digest: `sha256:abc`" in text
    assert "platforms: linux/amd64, linux/arm64" in text
    assert "8/10 steps from the cache" in text
    assert "| read | `ghcr.io/a/w:buildcache-slim` | found |" in text
    assert "| write | `ghcr.io/a/w:buildcache-slim` | written |" in text
    assert "3.2s `linux/arm64` 5/5 RUN make" in text


def test_workflow_commands_escape_their_message() -> None:
    assert (
        github.error_command("50% done\nthen failed")
        == "::error title=buildcache::50%25 done%0Athen failed"
    )
    assert github.group("a", ["x"]) == ["::group::a", "x", "::endgroup::"]


def test_variant_groups_list_steps_and_the_output_of_those_that_ran() -> None:
    ran = Vertex(
        digest="1",
        name="",
        variant="slim",
        platform="linux/amd64",
        index=2,
        count=2,
        text="RUN make",
    )
    ran.logs.append("compiling")
    cached = Vertex(
        digest="2",
        name="",
        variant="slim",
        platform="linux/amd64",
        index=1,
        count=2,
        text="FROM b",
        cached=True,
    )
    lines = github.variant_groups([ran, cached], ["slim"])
    assert lines == [
        "::group::slim: 1/2 steps from the cache",
        "linux/amd64 1/2 FROM b CACHED",
        "linux/amd64 2/2 RUN make 0.0s",
        "  | compiling",
        "::endgroup::",
    ]


def test_summary_lists_what_was_not_published() -> None:
    ghcr, hub = (ImageRef.parse(image) for image in IMAGES)
    failed = _result(
        error=BuildFailed("not every tag was published"),
        published=[
            TagResult("slim", ghcr, "1.2.3", "done", attempts=1),
            TagResult("slim", hub, "1.2.3", "failed", "429 Too Many Requests", attempts=4),
            TagResult("slim", ghcr, "latest", "skipped", "a version tag is missing"),
        ],
    )
    text = github.summary(failed)
    assert "## buildcache: 1.2.3 FAILED" in text
    assert "| `docker.io/a/w` | `1.2.3` | failed | 429 Too Many Requests |" in text
    assert "| `ghcr.io/a/w` | `latest` | skipped | a version tag is missing |" in text
    assert "| `ghcr.io/a/w` | `1.2.3` | done" not in text


def test_summary_says_which_base_was_pinned_and_why_steps_ran() -> None:
    november, december = (datetime(2026, month, 1, tzinfo=UTC) for month in (11, 12))
    pinned = BaseUse(
        name="python:3.12-slim",
        context_key="python:3.12-slim",
        current=ResolvedBase("python:3.12-slim", "sha256:new"),
        use="sha256:old",
        since=november,
        recorded="sha256:old",
        pinned=True,
        refresh_on=december,
    )
    unresolved = BaseUse(
        name="ghcr.io/a/tools:1",
        context_key="ghcr.io/a/tools:1",
        current=ResolvedBase("ghcr.io/a/tools:1", None, error="cannot reach ghcr.io"),
        use=None,
        since=november,
    )
    plan = RESULT.plan
    slim = dataclasses.replace(plan.variants[0], upstream=Upstream(bases=(pinned, unresolved)))
    result = _result(
        plan=dataclasses.replace(plan, variants=(slim,)),
        causes={
            "slim": MissCause("argument", "RUN make", "a build argument changed: X 'a' -> 'b'")
        },
    )
    text = github.summary(result)
    assert (
        "- base: `python:3.12-slim` **pinned** to the cache's `sha256:old` since 2026-11-01 "
        "(the tag is now `sha256:new`; refreshes on 2026-12-01)"
    ) in text
    assert "- base: `ghcr.io/a/tools:1` unresolved (cannot reach ghcr.io)" in text
    assert "**why steps ran:** `RUN make`: a build argument changed: X 'a' -> 'b'" in text


def test_a_step_two_variants_share_is_counted_in_both_groups_as_in_the_report() -> None:
    """BuildKit runs a step identical in two variants once, under one of them: the groups count
    it for both, as the cache report does (16/18, not 12/14)."""

    def step(variant: str, index: int, text: str, cached: bool) -> Vertex:
        return Vertex(
            digest=f"{variant}{index}",
            name="",
            variant=variant,
            platform="linux/amd64",
            index=index,
            count=3,
            text=text,
            cached=cached,
        )

    steps = [
        step("slim", 1, "FROM b", True),  # shared: reported under slim only
        step("slim", 2, "RUN common", True),
        step("slim", 3, 'RUN install "slim"', False),
        step("full", 3, 'RUN install "full"', True),
    ]
    lines = github.variant_groups(steps, ["slim", "full"])
    assert "::group::slim: 2/3 steps from the cache" in lines
    assert "::group::full: 3/3 steps from the cache" in lines


def test_a_release_published_before_is_a_state_of_its_own_with_no_cache_figures(
    tmp_path: Path,
) -> None:
    """Nothing was built: no "built", no 0/0 steps, no 0.00 cache hit for a CI gate to trip on."""
    resumed = _result(
        reports={},
        published=[],
        statuses={"slim": VariantStatus("published before", image="sha256:abc")},
    )
    text = github.summary(resumed)
    assert "## buildcache: 1.2.3 already published" in text
    assert "**published before**" in text
    assert "steps from the cache" not in text
    values = github.outputs(resumed)
    assert (values["slim-cache-hit"], values["slim-state"]) == ("", "published before")
    assert json.loads(values["cache-hits"]) == {"slim": None}
    assert json.loads(values["states"]) == {"slim": "published before"}


def test_no_step_of_a_variant_is_never_0_of_0_steps_from_the_cache() -> None:
    """A variant published before, or a bake that stopped before its first step: the CI
    group and the job summary say there were no steps, never "0/0 steps from the cache"."""
    lines = github.variant_groups([], ["slim", "full"])
    assert lines == [
        "slim: no step of it ran or came from the cache",
        "full: no step of it ran or came from the cache",
    ]
    stopped = _result(
        reports={"slim": dataclasses.replace(REPORT, total=0, cached=0, executed_steps=())},
        published=[],
        statuses={"slim": VariantStatus("failed", error="the bake failed before any step")},
        error=BuildFailed("the bake failed before any step"),
    )
    text = github.summary(stopped)
    assert "0/0" not in text
    assert "**cache:** no steps" in text


def test_summary_counts_the_registrys_hits_apart_and_warns_where_it_gave_none() -> None:
    hidden = dataclasses.replace(
        REPORT, imported=(CacheImport(CACHE, "missing"),), from_registry=0, from_local=8
    )
    text = github.summary(_result(reports={"slim": hidden}))
    assert (
        "8/10 steps from the cache (0 from the registry cache, 8 from the engine's local cache)"
        in text
    )
    # REPORT's cache was written by the run: a first fill, the next fresh runner reads it
    assert "> **note:** the registry cache gave no step" in text
    unsaved = dataclasses.replace(hidden, exported=CacheExport(CACHE, "skipped", "not pushing"))
    text = github.summary(_result(reports={"slim": unsaved}))
    assert "> **warning:** the registry cache gave no step" in text
    mixed = dataclasses.replace(REPORT, from_registry=6, from_local=2)
    text = github.summary(_result(reports={"slim": mixed}))
    assert "(6 from the registry cache, 2 from the engine's local cache)" in text
    assert "warning" not in text
