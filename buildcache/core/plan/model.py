"""Pure: a plan, the one value every later step reads: each variant's tags, platforms, build
arguments, cache refs, inputs and bases, and the run's version, latest and cache policy."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildcache.core.build_inputs import VariantInputs
from buildcache.core.output import Export
from buildcache.core.plan.ci import CachePolicy
from buildcache.core.plan.metadata import Described
from buildcache.core.redact import shown_args
from buildcache.core.reference import CacheSpec, ImageRef, cache_source

if TYPE_CHECKING:
    from buildcache.core.bases import Upstream  # looked up for a build, not a plan


@dataclass(frozen=True, kw_only=True)
class VariantPlan:
    name: str
    default: bool
    tags: tuple[ImageRef, ...]  # every tag on every registry
    tag_rules: Mapping[str, str] = field(default_factory=dict)  # tag name -> the rule that made it
    floating: frozenset[str] = frozenset()  # tag names that only move forward (latest, 1.2, 1)
    # the release's own version tag (1.2.3, 1.2.3-full: what an earlier run of it wrote) -> the
    # version it carries (1.2.3)
    release_tags: Mapping[str, str] = field(default_factory=dict)
    # the moving tags a build --push would keep where they are (a higher release holds them),
    # with the build's own words; read from the registries by `plan` (registry/publish.py)
    held: Mapping[str, str] = field(default_factory=dict)
    platforms: tuple[str, ...]
    build_args: Mapping[str, str]
    target: str | None
    dockerfile: Path
    context: Path
    cache_ref: ImageRef  # the ref this run writes (the variant's own, or its branch's)
    cache_from: tuple[ImageRef, ...]  # read in this order
    cache_to: CacheSpec | None  # None: the cache is read, not written
    # every registry's image (no tag), in the config's order: a push sends the variant to each
    # by digest in the bake itself; tags come afterwards, through the registry API
    images: tuple[ImageRef, ...] = ()
    # a builder that cannot push untagged (buildx's docker driver) pushes under this tag of each
    # image instead: one stable tag per variant (and platform, for --push-by-digest) that
    # buildcache owns and moves on every push, never a tag a user pulls
    staging_tag: str | None = None
    labels: Mapping[str, Described] = field(default_factory=dict)  # core/plan/metadata.py
    annotations: Mapping[str, Described] = field(default_factory=dict)
    # the bases it is built on and its cache's record (bases.py; None: not looked up)
    upstream: Upstream | None = None
    inputs: VariantInputs = field(default_factory=VariantInputs)  # secrets, ssh, contexts, attest

    @property
    def pushed_image(self) -> ImageRef:
        """The first registry's image (no tag): where a pushed variant is read from."""
        return (self.images or tuple(t.bare() for t in self.tags))[0]

    @property
    def push_names(self) -> tuple[ImageRef, ...]:
        """What the bake's image exporter pushes to: each image by digest, or under the staging
        tag."""
        if self.staging_tag is None:
            return self.images
        return tuple(image.with_tag(self.staging_tag) for image in self.images)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "tags": [str(t) for t in self.tags],
            "images": [str(i) for i in self.images],
            "tag_rules": [{"tag": tag, "rule": rule} for tag, rule in self.tag_rules.items()],
            "floating": sorted(self.floating),
            "release_tags": dict(self.release_tags),
            "held": dict(self.held),
            "platforms": list(self.platforms),
            "build_args": shown_args(self.build_args),
            "target": self.target,
            "dockerfile": str(self.dockerfile),
            "context": str(self.context),
            "cache_from": [cache_source(r) for r in self.cache_from],
            "cache_to": [self.cache_to.to_option()] if self.cache_to else [],
            "labels": {k: v.value for k, v in self.labels.items()},
            "annotations": {k: v.value for k, v in self.annotations.items()},
            **self.inputs.to_json(),
            **(self.upstream.to_json() if self.upstream else {}),
        }


@dataclass(frozen=True, kw_only=True)
class BuildPlan:
    version: str
    version_source: str
    variants: tuple[VariantPlan, ...]
    latest: bool = False  # latest (and each variant's alias) moves to this run's images
    latest_reason: str = ""
    release: bool = False  # a release version: published once, never replaced (--force aside)
    push: bool = False
    load: bool = False
    push_by_digest: bool = False  # one platform, pushed untagged; `buildcache merge` tags it
    export: Export | None = None  # the image written as files (--output type=local, ...)
    cache_policy: CachePolicy | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def with_variants(self, variants: Sequence[VariantPlan]) -> BuildPlan:
        """The same run for some of its variants: those a build bakes (an earlier run of the
        release published the others; --keep-going bakes the ones that did not fail again)."""
        return dataclasses.replace(self, variants=tuple(variants))

    def with_upstreams(self, upstreams: Mapping[str, Upstream], notes: Sequence[str]) -> BuildPlan:
        """The plan with each variant's bases and cache record as the registries told them
        (registry/bases.py), and what they noticed."""
        variants = tuple(
            dataclasses.replace(v, upstream=upstreams[v.name]) if v.name in upstreams else v
            for v in self.variants
        )
        return dataclasses.replace(self, variants=variants, notes=(*self.notes, *notes))

    def with_holds(self, holds: Mapping[str, Mapping[str, str]], notes: Sequence[str]) -> BuildPlan:
        """The plan with the moving tags each variant's build would keep where they are (a
        higher release holds them, registry/publish.py), and what could not be told."""
        variants = tuple(
            dataclasses.replace(v, held=dict(holds[v.name])) if v.name in holds else v
            for v in self.variants
        )
        return dataclasses.replace(self, variants=variants, notes=(*self.notes, *notes))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "variants": [v.to_json() for v in self.variants],
            "version_source": self.version_source,
            "latest": {"moves": self.latest, "reason": self.latest_reason},
        }
        if self.push_by_digest:
            data["push_by_digest"] = True
        if self.export is not None:
            data["export"] = self.export.to_option()
        data["notes"] = list(self.notes)
        if self.cache_policy is not None:
            data["cache_policy"] = {
                "mode": self.cache_policy.mode,
                "reason": self.cache_policy.reason,
            }
        return data
