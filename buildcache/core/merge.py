"""Pure: the per-platform results of a fanned-out build -> one index per variant
(`buildcache merge`).

Each runner ran `buildcache build --platform P --push-by-digest --json > P.json`: its platform's
image sits by digest on every registry (untagged, or under buildcache's staging tag). Merging
makes one OCI index of all of them (`merged_index`), puts it by digest on every registry, then
writes its tags as a build does (commands/publish.py): the version tags, then the moving ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildcache.core.publish import VariantTags
from buildcache.core.reference import ImageRef, ReferenceError, content_digest
from buildcache.errors import UsageError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
INDEX_MEDIA_TYPES = (OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json")


@dataclass
class MergeInput:
    version: str
    variants: list[VariantTags] = field(default_factory=list)
    sources: dict[str, list[ImageRef]] = field(default_factory=dict)  # variant -> one per runner
    platforms: dict[str, list[str]] = field(default_factory=dict)
    # variant -> each runner's platforms, in the order of `sources`
    runner_platforms: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)


def read_results(paths: Sequence[Path]) -> MergeInput:
    """Read and check the runners' `--json` results: one version, the same variants, each
    platform once."""
    if len(paths) < 1:
        raise UsageError("give the --json results of the runners to merge")
    first = _read_result(paths[0])
    merged = MergeInput(
        version=first["version"],
        variants=[
            # floating: the tags that only move forward (a result of an older buildcache has
            # none: then only latest and the variant's name do)
            VariantTags(
                v["name"],
                v["default"],
                _refs(paths[0], v["tags"]),
                frozenset(v.get("floating", ())),
                dict(v.get("release_tags", {})),
            )
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
        merged.runner_platforms.setdefault(variant["name"], []).append(tuple(variant["platforms"]))
        merged.sources.setdefault(variant["name"], []).extend(_refs(path, [variant["digest_ref"]]))


def _refs(path: Path, texts: Sequence[str]) -> tuple[ImageRef, ...]:
    try:
        return tuple(ImageRef.parse(text) for text in texts)
    except ReferenceError as error:
        raise UsageError(f"{path}: {error}") from None


@dataclass(frozen=True)
class RunnerImage:
    """One runner's image as its registry stores it: an index (its platform's manifest and
    attestation), or a plain manifest of its one platform."""

    data: bytes
    media_type: str
    platforms: tuple[str, ...]


def merged_index(images: Sequence[RunnerImage]) -> tuple[bytes, str]:
    """One OCI index of every runner's image, and its media type: an index's entries as they
    are (the platform manifests and their attestation manifests), a plain manifest as one entry
    with its platform. Raises UsageError where two runners built the same platform."""
    entries: list[dict[str, Any]] = []
    for image in images:
        body = json.loads(image.data)
        if image.media_type in INDEX_MEDIA_TYPES or body.get("mediaType") in INDEX_MEDIA_TYPES:
            entries += body.get("manifests") or []
            continue
        platform = image.platforms[0] if image.platforms else ""  # a plain manifest has one
        entries.append(
            {
                "mediaType": body.get("mediaType") or image.media_type,
                "digest": content_digest(image.data),
                "size": len(image.data),
                "platform": _platform(platform),
            }
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    return json.dumps(index, separators=(",", ":")).encode(), OCI_INDEX


def _platform(name: str) -> dict[str, str]:
    os_name, _, rest = name.partition("/")
    architecture, _, variant = rest.partition("/")
    platform = {"architecture": architecture, "os": os_name}
    return {**platform, "variant": variant} if variant else platform
