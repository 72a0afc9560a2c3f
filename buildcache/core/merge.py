"""Pure: the per-platform results of a fanned-out build -> one tagged index per variant on every
registry (`buildcache merge`).

Each runner ran `buildcache build --platform P --push-by-digest --json > P.json`: its platform's
image sits untagged, by digest, in the first image's repository. Merging makes the index of all
of them under the version tags of the first image (`buildx imagetools create`), then publishes
that index by digest like a build does: the other registries, then the moving tags.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildcache.core.publish import (
    Publisher,
    PublishStep,
    TagResult,
    VariantTags,
    publish_steps,
    split_tags,
)
from buildcache.core.reference import ImageRef, ReferenceError
from buildcache.errors import UsageError


@dataclass
class MergeInput:
    version: str
    variants: list[VariantTags] = field(default_factory=list)
    sources: dict[str, list[ImageRef]] = field(default_factory=dict)  # variant -> one per runner
    platforms: dict[str, list[str]] = field(default_factory=dict)


def read_results(paths: Sequence[Path]) -> MergeInput:
    """Read and check the runners' `--json` results: one version, the same variants, each
    platform once."""
    if len(paths) < 1:
        raise UsageError("give the --json results of the runners to merge")
    first = _read_result(paths[0])
    merged = MergeInput(
        version=first["version"],
        variants=[
            VariantTags(v["name"], v["default"], _refs(paths[0], v["tags"]))
            for v in first["variants"]
        ],
    )
    _add_result(merged, paths[0], first)
    for path in paths[1:]:
        _add_result(merged, path, _read_result(path))
    return merged


def _read_result(path: Path) -> dict[str, Any]:
    """One runner's `build --push-by-digest --json` result, of a build that succeeded."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise UsageError(f"{path} is not the JSON of `buildcache build --json`") from None
    if not data.get("push_by_digest"):
        raise UsageError(f"{path} is not from a `build --push-by-digest` run")
    if not data.get("ok", False):
        raise UsageError(f"{path} is from a build that failed: {data.get('error')}")
    return data


def _add_result(merged: MergeInput, path: Path, data: Mapping[str, Any]) -> None:
    if data["version"] != merged.version:
        raise UsageError(f"{path} built version {data['version']}, the others {merged.version}")
    names = {v["name"] for v in data["variants"]}
    if names != {v.name for v in merged.variants}:
        raise UsageError(
            f"{path} built the variants {', '.join(sorted(names))}, the others did not"
        )
    for variant in data["variants"]:
        if not variant.get("digest_ref"):
            raise UsageError(f"{path}: variant {variant['name']} has no digest")
        platforms = merged.platforms.setdefault(variant["name"], [])
        twice = set(platforms) & set(variant["platforms"])
        if twice:
            raise UsageError(
                f"{path}: {variant['name']} for {', '.join(sorted(twice))} is in two results"
            )
        platforms += variant["platforms"]
        merged.sources.setdefault(variant["name"], []).extend(_refs(path, [variant["digest_ref"]]))


def _refs(path: Path, texts: Sequence[str]) -> tuple[ImageRef, ...]:
    try:
        return tuple(ImageRef.parse(text) for text in texts)
    except ReferenceError as error:
        raise UsageError(f"{path}: {error}") from None


def index_steps(merged: MergeInput) -> list[PublishStep]:
    """First: per variant, the index of every runner's image under the first image's version tags."""
    steps = []
    for variant in merged.variants:
        version, _ = split_tags(variant)
        first = next(iter(version))
        steps.append(
            PublishStep(
                variant.name,
                first,
                tuple(version[first]),
                tuple(merged.sources[variant.name]),
                moving=False,
            )
        )
    return steps


def merge(
    merged: MergeInput, publisher: Publisher, digest_of: Callable[[ImageRef], str]
) -> list[TagResult]:
    """Make the indexes, then publish each by its digest. `digest_of(image:tag)` reads a tag's
    digest from its registry."""
    first = publisher.run(index_steps(merged))
    made = {r.variant for r in first if r.status == "done"}
    sources: dict[str, list[ImageRef]] = {}
    for result in first:
        if result.variant in made and result.variant not in sources:
            sources[result.variant] = [result.image.with_digest(digest_of(result.ref))]
    ready = [v for v in merged.variants if v.name in sources]
    results = list(first)
    results += publisher.run(publish_steps(ready, sources, first_done=True), previous=first)
    for variant in merged.variants:
        if variant.name in made:
            continue
        # its index could not be made: nothing else of it is published
        for step in publish_steps([variant], {variant.name: []}, first_done=True):
            results += [
                TagResult(variant.name, step.image, tag, "skipped", "its index could not be made")
                for tag in step.tags
            ]
    return results
