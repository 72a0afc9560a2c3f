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

from buildcache.core.plan.metadata import VARIANT_LABEL
from buildcache.core.plan.tags import LATEST
from buildcache.core.publish.writes import VariantTags
from buildcache.core.reference import (
    ImageRef,
    ReferenceError,
    content_digest,
    platform_images,
    platform_name,
)
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


@dataclass(frozen=True)
class ResultVariant:
    """One variant of a runner's result, as `build --push-by-digest --json` wrote it."""

    name: str
    default: bool
    tags: tuple[ImageRef, ...]
    platforms: tuple[str, ...]
    digest_ref: ImageRef
    floating: frozenset[str]  # a result of an older buildcache names none: latest and the name are
    release_tags: Mapping[str, str]


@dataclass(frozen=True)
class RunnerResult:
    path: Path
    version: str
    variants: tuple[ResultVariant, ...]


def read_results(paths: Sequence[Path], images: Sequence[ImageRef] = ()) -> MergeInput:
    """Read and check the runners' `--json` results: one version, the same variants, each
    platform once, and (given the config's `images`) only this project's images."""
    if len(paths) < 1:
        raise UsageError("give the --json results of the runners to merge")
    results = [_read_result(path) for path in paths]
    for result in results:
        _check_images(result, images)
    first = results[0]
    merged = MergeInput(
        version=first.version,
        variants=[
            VariantTags(v.name, v.default, v.tags, v.floating, dict(v.release_tags))
            for v in first.variants
        ],
    )
    for result in results:
        _add_result(merged, result)
    return merged


def _read_result(path: Path) -> RunnerResult:
    """One runner's `build --push-by-digest --json` result, of a build that succeeded."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise UsageError(f"{path} is not the JSON of `buildcache build --json`") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not the JSON of `buildcache build --json`")
    if not data.get("push_by_digest"):
        raise UsageError(f"{path} is not from a `build --push-by-digest` run")
    if not data.get("ok", False):
        raise UsageError(f"{path} is from a build that failed: {data.get('error')}")
    try:
        variants = tuple(_result_variant(path, v) for v in list(data["variants"]))
        return RunnerResult(path, _text(data["version"]), variants)
    except (KeyError, TypeError, AttributeError, ValueError):
        raise UsageError(f"{path} is not the JSON of `buildcache build --json`") from None


def _result_variant(path: Path, variant: Mapping[str, Any]) -> ResultVariant:
    if not variant.get("digest_ref"):
        raise UsageError(f"{path}: variant {variant['name']} has no digest")
    return ResultVariant(
        name=_text(variant["name"]),
        default=bool(variant["default"]),
        tags=_refs(path, [_text(t) for t in variant["tags"]]),
        platforms=tuple(_text(p) for p in variant["platforms"]),
        digest_ref=_refs(path, [_text(variant["digest_ref"])])[0],
        floating=_floating(variant),
        release_tags={_text(k): _text(v) for k, v in variant.get("release_tags", {}).items()},
    )


def _floating(variant: Mapping[str, Any]) -> frozenset[str]:
    """The tags that only move forward; a result of an older buildcache names none: its latest
    or the variant's own name, as that buildcache moved them."""
    if "floating" not in variant:
        return frozenset({LATEST if variant["default"] else _text(variant["name"])})
    return frozenset(_text(t) for t in variant["floating"])


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _check_images(result: RunnerResult, images: Sequence[ImageRef]) -> None:
    """A result names only the config's images: a result of another project (or of an older
    config) would be tagged on images nobody configured."""
    if not images:
        return
    ours = {image.name for image in images}
    for variant in result.variants:
        foreign = sorted({r.name for r in (*variant.tags, variant.digest_ref)} - ours)
        if foreign:
            raise UsageError(
                f"{result.path}: {variant.name} names {', '.join(foreign)}, not an image of this "
                f"project's config ({', '.join(sorted(ours))}): nothing was merged"
            )


def _add_result(merged: MergeInput, result: RunnerResult) -> None:
    path = result.path
    if result.version != merged.version:
        raise UsageError(f"{path} built version {result.version}, the others {merged.version}")
    names = {v.name for v in result.variants}
    if names != {v.name for v in merged.variants}:
        raise UsageError(
            f"{path} built the variants {', '.join(sorted(names))}, the others did not"
        )
    first = {v.name: v for v in merged.variants}
    for variant in result.variants:
        _same_as_the_first(path, variant, first[variant.name])
    for variant in result.variants:
        platforms = merged.platforms.setdefault(variant.name, [])
        twice = set(platforms) & set(variant.platforms)
        if twice:
            raise UsageError(
                f"{path}: {variant.name} for {', '.join(sorted(twice))} is in two results"
            )
        platforms += variant.platforms
        merged.runner_platforms.setdefault(variant.name, []).append(variant.platforms)
        merged.sources.setdefault(variant.name, []).append(variant.digest_ref)


def _same_as_the_first(path: Path, variant: ResultVariant, first: VariantTags) -> None:
    """A runner's variant gets the tags, and is the default or not, as the first result says:
    results that disagree would publish one variant's image under another's tags."""
    if variant.default != first.default:
        now, then = ("is", "is not") if variant.default else ("is not", "is")
        raise UsageError(
            f"{path}: {variant.name} {now} the default variant, but {then} in the first result: "
            "nothing was merged"
        )
    if set(variant.tags) != set(first.tags):
        differ = sorted({str(t) for t in set(variant.tags) ^ set(first.tags)})
        raise UsageError(
            f"{path}: {variant.name}'s tags are not those of the first result "
            f"({', '.join(differ[:3])} differ): nothing was merged"
        )


def check_variant(source: ImageRef, name: str, labels: Mapping[str, Mapping[str, str]]) -> None:
    """Each platform's image at `source` says (its config's variant label) it was built as the
    variant `name` its result claims. Raises UsageError where one does not: two results with
    their variants swapped would publish full's image under slim's tags."""
    for platform, found in labels.items():
        said = found.get(VARIANT_LABEL)
        if said != name:
            where = f" for {platform}" if platform else ""
            raise UsageError(
                f"{source}: the result says {name}, but the image{where} was built as "
                f"{said or 'no variant of buildcache'}: nothing was merged"
            )


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
    platforms: tuple[str, ...]  # as the runner's result names them

    @property
    def is_index(self) -> bool:
        return (
            self.media_type in INDEX_MEDIA_TYPES or self.body.get("mediaType") in INDEX_MEDIA_TYPES
        )

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.data)
        return body

    @property
    def config(self) -> str:
        """A plain manifest's config digest: where its platform is written."""
        return str(self.body["config"]["digest"])


def check_platforms(source: ImageRef, image: RunnerImage, config: bytes | None) -> None:
    """The image at `source` is of the platforms its result names, read from the image itself
    (an index's entries, or a plain manifest's config). Raises UsageError if not."""
    built = _built_platforms(image, config)
    named = image.platforms
    same = len(built) == len(named) and all(any(_same_platform(n, b) for b in built) for n in named)
    if not same:
        raise UsageError(
            f"{source}: the result names {', '.join(named) or 'no platform'}, but the image is "
            f"{', '.join(built) or 'of no platform'}: nothing was merged"
        )


def _built_platforms(image: RunnerImage, config: bytes | None) -> list[str]:
    if image.is_index:
        return sorted(platform_images(image.body))
    facts = json.loads(config) if config else {}
    return [platform_name(facts.get("os", ""), facts.get("architecture", ""), facts.get("variant"))]


def _same_platform(named: str, built: str) -> bool:
    """`linux/arm64` is `linux/arm64/v8`: a variant counts where both name one."""
    a, b = named.split("/"), built.split("/")
    return a[:2] == b[:2] and (len(a) < 3 or len(b) < 3 or a[2] == b[2])


def merged_index(images: Sequence[RunnerImage]) -> tuple[bytes, str]:
    """One OCI index of every runner's image, and its media type: an index's entries as they
    are (the platform manifests and their attestation manifests), a plain manifest as one entry
    with its platform. Raises UsageError where two runners built the same platform."""
    entries: list[dict[str, Any]] = []
    for image in images:
        body = image.body
        if image.is_index:
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
