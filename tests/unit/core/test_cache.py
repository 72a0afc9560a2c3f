from __future__ import annotations

from buildcache.core.cache import (
    CacheEntry,
    cache_summary,
    orphan_tags,
    prune_targets,
    variant_of,
)
from buildcache.core.reference import ImageRef

VARIANTS = ["slim", "slim-gpu", "full"]


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


def _entry(tag: str, digest: str, variant: str | None = None) -> CacheEntry:
    return CacheEntry(
        variant=variant, ref=ImageRef.parse(f"r/c:{tag}"), present=True, digest=digest
    )


def test_prune_keeps_an_orphan_that_shares_its_manifest_with_a_tag_in_use() -> None:
    kept = [_entry("buildcache-slim", "sha256:1", "slim")]
    orphans = [_entry("buildcache-old", "sha256:1"), _entry("buildcache-fat", "sha256:2")]
    targets = prune_targets(orphans, kept)
    assert [(t.tag, t.skipped is None) for t in targets] == [
        ("buildcache-old", False),
        ("buildcache-fat", True),
    ]
