"""Pure: the metadata file `docker buildx bake --metadata-file` writes, one entry per target,
read once into typed values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DIGEST_KEY = "containerimage.digest"
CONFIG_DIGEST_KEY = "containerimage.config.digest"
CACHE_MANIFEST_KEY = "cache.manifest"


@dataclass(frozen=True)
class TargetMetadata:
    digest: str | None = None  # the image (or index) the target's push or load made
    cache_written: bool = False  # buildx recorded the exported cache's manifest
    config_digest: str | None = None  # the image's config: docker's image ID
    # the target's entry as buildx wrote it, passed on as build-push-action's `metadata` output
    entry: Mapping[str, Any] = field(default_factory=dict)


def parse_metadata(data: Mapping[str, Any]) -> dict[str, TargetMetadata]:
    """buildx's metadata, target by target; entries that are not a target's (buildx.build.ref,
    buildx.build.warnings) are left out."""
    targets = {}
    for name, entry in data.items():
        if isinstance(entry, Mapping):
            digest, config = entry.get(DIGEST_KEY), entry.get(CONFIG_DIGEST_KEY)
            targets[name] = TargetMetadata(
                digest=str(digest) if digest else None,
                cache_written=CACHE_MANIFEST_KEY in entry,
                config_digest=str(config) if config else None,
                entry=dict(entry),
            )
    return targets


def digests(targets: Mapping[str, TargetMetadata]) -> dict[str, str | None]:
    return {name: target.digest for name, target in targets.items()}
