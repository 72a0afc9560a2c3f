"""Pure: the cache tags a variant writes and reads, which cache tag belongs to which variant, what a cache manifest holds, what prune deletes.

Reading the registry and deleting are commands/cache.py's (through registry.py); everything here
is a function of tag lists and manifests, tested without a registry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from buildcache.buildkit.rawjson import parse_time
from buildcache.core.config.model import Config, VariantConfig
from buildcache.core.plan.ci import CachePolicy, branch_slug
from buildcache.core.plan.metadata import OCI
from buildcache.core.plan.model import VariantPlan
from buildcache.core.reference import MAX_TAG, ImageRef

if TYPE_CHECKING:
    from buildcache.core.bases import CacheRecord

# the tag of the record beside a cache tag (core/bases.py, registry/bases.py)
RECORD_SUFFIX = ".record"
# the end of the tag a builder that cannot push untagged (the docker driver) pushes a variant's
# image under (core/plan/make.py): an image, never a cache
STAGING_SUFFIX = "-image"
_NOT_STAGING = "-cache"  # ends a branch's cache tag that would otherwise end as a staging tag

CACHE_CONFIG_TYPE = "application/vnd.buildkit.cacheconfig.v0"


@dataclass(frozen=True)
class NameOwner:
    """Who writes a name into a registry, and as what: `the cache` of slim."""

    variant: str
    what: str  # "the cache", "the cache record", "the staging tag", "a tag"

    def __str__(self) -> str:
        return f"{self.what} of {self.variant}"


def record_ref(cache_ref: ImageRef) -> ImageRef:
    """The record beside a cache tag (core/bases.py): what the cache was built from."""
    return cache_ref.with_tag(f"{cache_ref.tag}{RECORD_SUFFIX}")


def staging_tag(prefix: str, variant: str, platform: str | None, run: str = "") -> str:
    """The tag a builder that cannot push untagged pushes the variant's image under, on every
    image of the variant: `buildcache-slim-<run>-image` (`-linux-arm64-<run>-image` for one
    platform). `run` names the run (its version, branch or pull request, as `staging_run`
    spells it): the docker driver pushes what the engine's image store holds under that name
    when it pushes, so two runs on one engine sharing a name would publish each other's images.
    One name per version or branch, not per run: a registry keeps every name it was given
    (a tag cannot be deleted without its image), so the names stay as few as the releases and
    branches; two runs of one version at once are told apart by the content check."""
    own = f"-{platform.replace('/', '-')}" if platform else ""
    return f"{prefix}{variant}{own}{f'-{run}' if run else ''}{STAGING_SUFFIX}"


def staging_run(version: str, fallback: str) -> str:
    """A run's part of its staging names: its version as a tag may spell it (1.2.3+b1 ->
    1.2.3_b1), cut to 40 characters with a hash of the whole where longer; `fallback` (a
    random name) for a run no rule gives a version."""
    if not version:
        return fallback
    spelled = re.sub(r"[^A-Za-z0-9_.-]", "_", version).strip(".-") or fallback
    if len(spelled) <= 40:
        return spelled
    return f"{spelled[:31]}-{hashlib.sha256(version.encode()).hexdigest()[:8]}"


def by_cache_image(config: Config) -> list[Config]:
    """The config once per image some variant's cache lives in (cache.image, else the first
    of the variant's images), with the variants whose cache is there: `cache ls` and `prune`
    read each image with the variants it holds (a variant with an image of its own keeps its
    cache beside it; in any other image its name is a stale cache's)."""
    groups: dict[ImageRef, list[VariantConfig]] = {}
    for variant in config.variants:
        groups.setdefault(config.cache_image_of(variant.name), []).append(variant)
    return [
        dataclasses.replace(
            config,
            images=config.images_of(variants[0].name),
            variants=tuple(variants),
            cache=dataclasses.replace(config.cache, image=image),
        )
        for image, variants in groups.items()
    ]


def owned_names(config: Config) -> dict[ImageRef, NameOwner]:
    """Every name a variant owns whatever the run: its main cache and record, each
    platform's cache and record (a --push-by-digest runner's), and its staging tags on every
    image. Raises ConfigError where two variants would own one name (`base`'s staging tag is
    `base-image`'s cache where the cache shares the image's repository)."""
    from buildcache.errors import ConfigError

    owners: dict[ImageRef, NameOwner] = {}
    prefix = config.cache.tag_prefix
    for variant in config.variants:
        names: list[tuple[ImageRef, str]] = []
        for platform in (None, *(variant.platforms or config.platforms)):
            main, own = cache_refs(config, variant.name, None, platform)
            cache = own or main
            names += [(cache, "the cache"), (record_ref(cache), "the cache record")]
            tag = staging_tag(prefix, variant.name, platform)
            images = config.images_of(variant.name)
            names += [(image.with_tag(tag), "the staging tag") for image in images]
        for ref, what in names:
            owner = owners.setdefault(ref, NameOwner(variant.name, what))
            if owner.variant != variant.name:
                raise ConfigError(
                    f"{ref} would be {owner} and {what} of {variant.name}: one would overwrite "
                    "the other",
                    key="variants",
                    hint="rename a variant, or give the cache an image of its own (cache.image)",
                )
    return owners


def cache_refs(
    config: Config, variant: str, policy: CachePolicy | None, platform: str | None = None
) -> tuple[ImageRef, ImageRef | None]:
    """The variant's main cache ref, and its own ref where a branch, or a runner building one
    platform by digest, keeps one (`buildcache-<variant>[-<branch>][-<os>-<arch>]`)."""
    image = config.cache_image_of(variant)  # cache.image, else the first of its images
    main = image.with_tag(f"{config.cache.tag_prefix}{variant}")
    branch = policy.branch_slug if policy is not None else None
    if branch is None and not platform:
        return main, None
    own = _own_suffix(f"{config.cache.tag_prefix}{variant}-", branch, platform)
    return main, image.with_tag(own)


def _own_suffix(stem: str, branch: str | None, platform: str | None) -> str:
    """`<stem><branch>-<os>-<arch>`, either part where there is one; the branch cut to leave
    room for the rest and the record's suffix within a tag's 128 characters."""
    platform_part = platform.replace("/", "-") if platform else ""
    if branch is None:
        return stem + platform_part
    room = MAX_TAG - len(stem) - len(platform_part) - len(RECORD_SUFFIX) - bool(platform_part)
    own = stem + "-".join(p for p in (branch_slug(branch, room), platform_part) if p)
    if own.endswith(STAGING_SUFFIX):  # a branch named `image`: not the docker driver's staging tag
        return own[: MAX_TAG - len(RECORD_SUFFIX) - len(_NOT_STAGING)] + _NOT_STAGING
    return own


@dataclass(frozen=True, kw_only=True)
class CacheEntry:
    variant: str | None  # None: an orphan, no variant of the config owns it
    ref: ImageRef
    present: bool
    digest: str | None = None
    platforms: tuple[str, ...] | None = None  # None: could not be told
    size: int | None = None
    written: datetime | None = None
    is_cache: bool = True  # the manifest is a BuildKit cache, not an image
    record: CacheRecord | None = None  # what the last build that wrote it was built from

    def to_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "variant": self.variant,
            "ref": str(self.ref),
            "present": self.present,
            "digest": self.digest,
            "platforms": list(self.platforms) if self.platforms is not None else None,
            "size": self.size,
            "written": self.written.isoformat() if self.written else None,
            "record": {
                "owner": record.owner,
                "written": record.written.isoformat(),
                "bases": [
                    {"name": b.name, "digest": b.digest, "since": b.since.isoformat()}
                    for b in record.bases
                ],
            }
            if record
            else None,
        }


def variant_of(tag: str, prefix: str, variants: Sequence[str]) -> str | None:
    """The variant a cache tag belongs to: `buildcache-slim`, or a ref derived from it
    (`buildcache-slim-<branch>`, `buildcache-slim-linux-arm64`); the longest name wins."""
    if not prefix or not tag.startswith(prefix):
        return None
    rest = tag[len(prefix) :]
    owners = [v for v in variants if rest == v or rest.startswith(v + "-")]
    return max(owners, key=len) if owners else None


def orphan_tags(tags: Sequence[str], prefix: str, variants: Sequence[str]) -> list[str]:
    """Tags shaped like a cache tag, `<prefix><variant>[-<branch or platform>]`, of a variant that
    is not in the config (any more). Nothing else is ever a candidate for deletion."""
    if not prefix:
        return []
    return sorted(
        t for t in tags if _cache_shaped(t, prefix) and not variant_of(t, prefix, variants)
    )


def _cache_shaped(tag: str, prefix: str) -> bool:
    # a record goes with its cache tag (core/bases.py), never on its own; a staging tag holds
    # an image (a cache tag never ends as one: _own_suffix), which prune never deletes
    if not tag.startswith(prefix) or tag.endswith((RECORD_SUFFIX, STAGING_SUFFIX)):
        return False
    return re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", tag[len(prefix) :]) is not None


def is_cache_manifest(body: Mapping[str, Any]) -> bool:
    """BuildKit's registry cache: an index that lists a cache config, or (image-manifest=true)
    an image manifest whose config is one. An image's index or manifest is neither."""
    descriptors = [*(body.get("manifests") or []), body.get("config") or {}]
    return any(d.get("mediaType") == CACHE_CONFIG_TYPE for d in descriptors)


def cache_summary(body: Mapping[str, Any]) -> tuple[set[str], int, datetime | None]:
    """Layer digests, total size and the newest `buildkit/createdat` of a cache manifest.

    A registry cache is an index of layer blobs plus a cache config (the default), or an image
    manifest with the same layers (`image-manifest=true`, for registries such as ECR).
    """
    # the blobs it names: its layers (or an index's entries), and its config
    descriptors = list(body.get("manifests") or body.get("layers") or [])
    if body.get("config"):
        descriptors.append(body["config"])
    seen = {d["digest"]: int(d.get("size") or 0) for d in descriptors if d.get("digest")}
    return set(seen), sum(seen.values()), _newest(descriptors)


def _newest(descriptors: Sequence[Mapping[str, Any]]) -> datetime | None:
    """The newest `buildkit/createdat` of the descriptors (BuildKit's time of each layer)."""
    times = [
        parse_time((d.get("annotations") or {}).get("buildkit/createdat")) for d in descriptors
    ]
    return max((t for t in times if t is not None), default=None)


def cached_platforms(
    image_layers: Mapping[str, Sequence[str]], cache_layers: Collection[str]
) -> tuple[str, ...]:
    """The platforms of an image whose layers the cache holds. A platform counts by the layers
    only it has (two platforms share a COPY of the same files), and by any of them: the image may
    be a release that later builds of the cache's branch have moved past, whose top layer the
    cache no longer holds, while the dependency layers under it are still there."""
    found = [
        platform
        for platform in image_layers
        if any(d in cache_layers for d in _own_layers(platform, image_layers))
    ]
    return tuple(sorted(found))


def _own_layers(platform: str, image_layers: Mapping[str, Sequence[str]]) -> list[str]:
    """The layers only this platform has; all of its layers where it has none of its own."""
    others = {d for p, layers in image_layers.items() if p != platform for d in layers}
    return [d for d in image_layers[platform] if d not in others] or list(image_layers[platform])


@dataclass(frozen=True)
class Project:
    """Who a cache belongs to, as the record beside it says. `name` is what a record written
    now names: the repository (its web address without the scheme, lowercased:
    `github.com/acme/widget`) where the CI or git's remote names it, else the project's first
    image (no tag), the same on every runner and laptop that builds it. `first_image` is what
    a record of an older buildcache named, still this project's."""

    name: str
    first_image: str

    def wrote(self, owner: str | None) -> bool | None:
        """Whether a record naming `owner` is this project's; None where the record names no
        one (an older buildcache's)."""
        if owner is None:
            return None
        return owner in (self.name, self.first_image)


def variant_project(variant: VariantPlan) -> Project:
    """The project a variant's build writes its cache for: its images' source label."""
    source = variant.labels.get(OCI + "source")
    return project_of(source.value if source else None, variant.pushed_image)


def project_of(source: str | None, first_image: ImageRef) -> Project:
    """The project of a config: `source`, the repository's web address (the images'
    org.opencontainers.image.source, from the CI or git's remote), else its first image."""
    image = str(first_image.bare())
    if not source:
        return Project(image, image)
    address = source.split("://", 1)[-1].lower().rstrip("/").removesuffix(".git")
    return Project(address or image, image)


@dataclass(frozen=True)
class PruneTarget:
    tag: str
    digest: str
    skipped: str | None = None  # why it is kept although no variant owns it


def prune_targets(
    orphans: Sequence[CacheEntry],
    kept: Sequence[CacheEntry],
    other_digests: Sequence[str] = (),
    *,
    project: Project,
    named: Collection[str] = (),
) -> list[PruneTarget]:
    """What prune deletes: the caches of this project's removed variants (their record names
    `project`), and those asked for by name (`named`) that no other project's record claims.
    A registry deletes a manifest by digest, taking every tag that points at it: an orphan
    whose digest another tag (a cache tag in use, or any other tag of the repository,
    `other_digests`) also points at is left alone, and so is one that is not a cache manifest."""
    kept_digests = {e.digest for e in kept if e.digest} | set(other_digests)
    return [
        PruneTarget(
            orphan.ref.tag or "", orphan.digest, _why_kept(orphan, kept_digests, project, named)
        )
        for orphan in orphans
        if orphan.digest
    ]


def _why_kept(
    orphan: CacheEntry, kept_digests: Collection[str], project: Project, named: Collection[str]
) -> str | None:
    if not orphan.is_cache:
        return "it is not a BuildKit cache (an image?)"
    if orphan.digest in kept_digests:
        return "it is the same manifest as a cache tag in use"
    return _not_ours(orphan, project, named)


def _not_ours(orphan: CacheEntry, project: Project, named: Collection[str]) -> str | None:
    """Why a cache is not this project's to delete: another project's record says it wrote
    it, or no record says who did and it was not named."""
    tag = orphan.ref.tag or ""
    written_by = orphan.record.owner if orphan.record else None
    if written_by is None:
        if tag in named:
            return None
        return f"no record says which project wrote it: 'buildcache cache prune {tag}' deletes it"
    if not project.wrote(written_by):
        return f"written by another project, {written_by}: prune it from that project"
    return None
