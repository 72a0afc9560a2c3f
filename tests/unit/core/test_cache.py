from __future__ import annotations

from datetime import UTC, datetime

import pytest

from buildcache.core.bases import CacheRecord
from buildcache.core.cache import (
    CacheEntry,
    Project,
    cache_summary,
    cached_platforms,
    orphan_tags,
    project_of,
    prune_targets,
    variant_of,
)
from buildcache.core.reference import ImageRef

VARIANTS = ["slim", "slim-gpu", "full"]
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_a_cache_tag_belongs_to_the_longest_variant_name_it_starts_with() -> None:
    assert variant_of("buildcache-slim", "buildcache-", VARIANTS) == "slim"
    assert variant_of("buildcache-slim-gpu", "buildcache-", VARIANTS) == "slim-gpu"
    assert (
        variant_of("buildcache-slim-feature-x", "buildcache-", VARIANTS) == "slim"
    )  # a branch ref
    assert (
        variant_of("buildcache-full-linux-arm64", "buildcache-", VARIANTS) == "full"
    )  # a platform ref
    assert variant_of("buildcache-fat", "buildcache-", VARIANTS) is None
    assert variant_of("latest", "buildcache-", VARIANTS) is None


def test_orphans_are_prefixed_tags_no_variant_owns() -> None:
    tags = [
        "latest",
        "1.0",
        "buildcache-slim",
        "buildcache-fat",
        "buildcache-fat-main",
        "buildcache-full",
        "buildcache-full.record",  # a record goes with its cache tag, never on its own
        "buildcache-fat.record",
        # a removed variant's staging tag holds its image: prune keeps it, so ls never lists it
        "buildcache-fat-image",
        "buildcache-fat-linux-arm64-image",
        "buildcache-fat-9f3c2a1b-image",  # a run's own staging name
    ]
    assert orphan_tags(tags, "buildcache-", VARIANTS) == ["buildcache-fat", "buildcache-fat-main"]


def test_cache_summary_counts_each_blob_once_and_takes_the_newest_write() -> None:
    body = {
        "manifests": [
            {
                "digest": "sha256:a",
                "size": 100,
                "annotations": {"buildkit/createdat": "2026-01-01T00:00:00.5Z"},
            },
            {
                "digest": "sha256:a",
                "size": 100,
                "annotations": {"buildkit/createdat": "2026-01-01T00:00:00.5Z"},
            },
            {
                "digest": "sha256:b",
                "size": 50,
                "annotations": {"buildkit/createdat": "2026-01-02T10:00:00.123456789Z"},
            },
            {"digest": "sha256:c", "size": 5},
        ]
    }
    layers, size, written = cache_summary(body)
    assert layers == {"sha256:a", "sha256:b", "sha256:c"}
    assert size == 155
    assert written is not None
    assert written.isoformat() == "2026-01-02T10:00:00.123456+00:00"
    # image-manifest=true caches (ECR): layers and a config
    layers, size, _ = cache_summary(
        {"layers": [{"digest": "sha256:x", "size": 7}], "config": {"digest": "sha256:y", "size": 3}}
    )
    assert (layers, size) == ({"sha256:x", "sha256:y"}, 10)


MINE, THEIRS = "github.com/acme/widget", "ghcr.io/acme/api"
# this project as its records name it now (its repository) and as an older buildcache did
PROJECT = Project(MINE, "ghcr.io/acme/widget")


def _entry(
    tag: str, digest: str, variant: str | None = None, owner: str | None = MINE
) -> CacheEntry:
    record = CacheRecord(variant or "old", NOW, digest, (), (), owner=owner)
    return CacheEntry(
        variant=variant,
        ref=ImageRef.parse(f"r/c:{tag}"),
        present=True,
        digest=digest,
        record=record,
    )


def test_prune_keeps_an_orphan_that_shares_its_manifest_with_a_tag_in_use() -> None:
    kept = [_entry("buildcache-slim", "sha256:1", "slim")]
    orphans = [_entry("buildcache-old", "sha256:1"), _entry("buildcache-fat", "sha256:2")]
    targets = prune_targets(orphans, kept, project=PROJECT)
    assert [(t.tag, t.skipped is None) for t in targets] == [
        ("buildcache-old", False),
        ("buildcache-fat", True),
    ]


@pytest.mark.parametrize(
    ("written_by", "named", "kept_because"),
    [
        (MINE, (), None),  # this project's removed variant
        ("ghcr.io/acme/widget", (), None),  # ...as an older buildcache named it: its first image
        (THEIRS, (), "written by another project, ghcr.io/acme/api"),
        (THEIRS, ("buildcache-api",), "written by another project, ghcr.io/acme/api"),
        (None, (), "no record says which project wrote it"),  # no owner: kept...
        (None, ("buildcache-api",), None),  # ...unless asked by name
    ],
)
def test_prune_deletes_only_what_this_project_wrote_or_what_is_named(
    written_by: str | None, named: tuple[str, ...], kept_because: str | None
) -> None:
    orphan = _entry("buildcache-api", "sha256:3", owner=written_by)
    [target] = prune_targets([orphan], [], project=PROJECT, named=named)
    if kept_because is None:
        assert target.skipped is None
    else:
        assert kept_because in str(target.skipped)


def test_an_orphan_without_any_record_is_kept_unless_named() -> None:
    orphan = CacheEntry(
        variant=None, ref=ImageRef.parse("r/c:buildcache-x"), present=True, digest="sha256:9"
    )
    [kept] = prune_targets([orphan], [], project=PROJECT)
    [named] = prune_targets([orphan], [], project=PROJECT, named=["buildcache-x"])
    assert (kept.skipped is not None, named.skipped) == (True, None)


def test_a_platform_is_in_the_cache_by_the_layers_only_it_has_any_of_them() -> None:
    """Not by the image's top layer: a release that later builds moved past keeps its
    dependency layers in the cache, not its source layer."""
    image = {
        "linux/amd64": ["base-a", "deps-a", "copy", "src-a"],
        "linux/arm64": ["base-b", "deps-b", "copy", "src-b"],
    }
    assert cached_platforms(image, {"deps-a", "deps-b", "src-new"}) == (
        "linux/amd64",
        "linux/arm64",
    )
    # a layer both platforms share (a COPY of the same files) says nothing of either
    assert cached_platforms(image, {"copy", "deps-b"}) == ("linux/arm64",)
    assert cached_platforms(image, set()) == ()
    # one platform alone: any of its layers
    assert cached_platforms({"linux/amd64": ["copy"]}, {"copy"}) == ("linux/amd64",)


@pytest.mark.parametrize(
    ("branch", "tag"),
    [
        ("feature/x", "buildcache-slim-feature-x"),
        ("image", "buildcache-slim-image-cache"),  # not the docker driver's staging tag
        ("docker-image", "buildcache-slim-docker-image-cache"),
    ],
)
def test_a_branch_s_cache_tag_is_never_a_staging_tag(branch: str, tag: str) -> None:
    import tomllib
    from pathlib import Path

    from buildcache.core.cache import cache_refs
    from buildcache.core.config.load import parse_config
    from buildcache.core.plan.ci import CachePolicy

    text = 'images = ["ghcr.io/acme/widget"]\n[variants.slim]\n'
    config = parse_config(tomllib.loads(text), {}, path=Path("/r/b.toml"), root=Path("/r"))
    main, own = cache_refs(config, "slim", CachePolicy("ro", "a branch", branch_slug=branch))
    assert (main.tag, own.tag if own else None) == ("buildcache-slim", tag)


def test_a_staging_tag_is_the_run_s_own_and_still_ends_as_one() -> None:
    from buildcache.core.cache import STAGING_SUFFIX, staging_tag

    assert staging_tag("buildcache-", "slim", None) == "buildcache-slim-image"
    mine = staging_tag("buildcache-", "slim", None, "0a1b2c3d")
    theirs = staging_tag("buildcache-", "slim", None, "4e5f6a7b")
    assert mine == "buildcache-slim-0a1b2c3d-image"
    assert mine != theirs
    assert mine.endswith(STAGING_SUFFIX)  # cache ls still leaves it out
    assert staging_tag("buildcache-", "slim", "linux/arm64", "0a1b2c3d") == (
        "buildcache-slim-linux-arm64-0a1b2c3d-image"
    )


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("https://github.com/Acme/Widget", "github.com/acme/widget"),  # the CI's or git's address
        ("https://gitlab.example.com/group/sub/app.git/", "gitlab.example.com/group/sub/app"),
        (None, "ghcr.io/acme/widget"),  # no repository known: the first image
    ],
)
def test_a_project_is_its_repository_else_its_first_image(source: str | None, name: str) -> None:
    project = project_of(source, ImageRef.parse("ghcr.io/acme/widget:1.0"))
    assert project.name == name
    assert project.wrote(name)
    assert project.wrote("ghcr.io/acme/widget")  # an older record of the same project
    assert project.wrote("github.com/acme/other") is False
    assert project.wrote(None) is None  # a record that names no one


def test_a_run_s_staging_part_is_its_version_as_a_tag_spells_it() -> None:
    """One staging name per version or branch, never one per run: a registry keeps every name
    it was given, so they stay as many as the releases and branches (a per-run random part
    left one more on every registry at every run)."""
    from buildcache.core.cache import staging_run

    assert staging_run("1.2.3", "0a1b2c3d") == "1.2.3"
    assert staging_run("v1.2.3+build.7", "0a1b2c3d") == "v1.2.3_build.7"
    assert staging_run("", "0a1b2c3d") == "0a1b2c3d"  # a run no rule gives a version
    long = staging_run("feature-" + "x" * 100, "0a1b2c3d")
    assert len(long) == 40
    assert long != staging_run("feature-" + "x" * 99 + "y", "0a1b2c3d")
