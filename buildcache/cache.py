"""`buildcache cache ls` and `cache prune`: the cache tags between builds.

Which tag belongs to which variant is pure and tested without a registry; reading and deleting go
through registry.py (HTTP API: tags, annotations, deletes) and engine.py (imagetools inspect: the
images' platforms).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from buildcache.config import Config
from buildcache.errors import BuildFailed
from buildcache.plan import LATEST
from buildcache.progress import parse_time
from buildcache.registry import RegistryClient, RegistryError, split_reference

CACHE_CONFIG_TYPE = "application/vnd.buildkit.cacheconfig.v0"


@dataclass(frozen=True, kw_only=True)
class CacheEntry:
    variant: str | None  # None: an orphan, no variant of the config owns it
    ref: str
    present: bool
    digest: str | None = None
    platforms: tuple[str, ...] | None = None  # None: could not be told
    size: int | None = None
    written: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "ref": self.ref,
            "present": self.present,
            "digest": self.digest,
            "platforms": list(self.platforms) if self.platforms is not None else None,
            "size": self.size,
            "written": self.written.isoformat() if self.written else None,
        }


def variant_of(tag: str, prefix: str, variants: Sequence[str]) -> str | None:
    """The variant a cache tag belongs to: `buildcache-slim`, or a ref derived from it
    (`buildcache-slim-<branch>`, `buildcache-slim-linux-arm64`); the longest name wins."""
    if not tag.startswith(prefix):
        return None
    rest = tag[len(prefix) :]
    owners = [v for v in variants if rest == v or rest.startswith(v + "-")]
    return max(owners, key=len) if owners else None


def orphan_tags(tags: Sequence[str], prefix: str, variants: Sequence[str]) -> list[str]:
    return sorted(
        t for t in tags if t.startswith(prefix) and variant_of(t, prefix, variants) is None
    )


def moving_tag(config: Config, variant: str) -> str:
    return LATEST if variant == config.default_variant.name else variant


def cache_summary(body: Mapping[str, Any]) -> tuple[set[str], int, datetime | None]:
    """Layer digests, total size and the newest `buildkit/createdat` of a cache manifest.

    A registry cache is an index of layer blobs plus a cache config (the default), or an image
    manifest with the same layers (`image-manifest=true`, for registries such as ECR).
    """
    descriptors = list(body.get("manifests") or body.get("layers") or [])
    if body.get("config"):
        descriptors.append(body["config"])
    seen: dict[str, int] = {}
    written: datetime | None = None
    for descriptor in descriptors:
        digest = descriptor.get("digest")
        if digest:
            seen[digest] = int(descriptor.get("size") or 0)
        created = parse_time((descriptor.get("annotations") or {}).get("buildkit/createdat"))
        if created and (written is None or created > written):
            written = created
    layers = {d for d, _ in seen.items()}
    return layers, sum(seen.values()), written


PlatformLayers = Callable[[str], Mapping[str, str] | None]  # image ref -> {platform: top layer}


def list_cache(
    config: Config, *, platform_layers: PlatformLayers, env: Mapping[str, str] | None = None
) -> tuple[list[CacheEntry], list[CacheEntry]]:
    """Every variant's cache ref (present or not), and the orphans in the cache image."""
    host, repo, _ = split_reference(f"{config.cache_image}:x")
    variants = [v.name for v in config.variants]
    prefix = config.cache.tag_prefix
    entries: list[CacheEntry] = []
    with RegistryClient(host, env=env) as registry:
        tags = registry.tags(repo)
        owned = [t for t in tags if t.startswith(prefix) and variant_of(t, prefix, variants)]
        wanted = [f"{prefix}{v}" for v in variants]
        for tag in [*wanted, *sorted(set(owned) - set(wanted))]:
            variant = variant_of(tag, prefix, variants)
            entries.append(_entry(config, registry, repo, tag, variant, platform_layers))
        orphans = [
            _entry(config, registry, repo, tag, None, platform_layers)
            for tag in orphan_tags(tags, prefix, variants)
        ]
    return entries, orphans


def _entry(
    config: Config,
    registry: RegistryClient,
    repo: str,
    tag: str,
    variant: str | None,
    platform_layers: PlatformLayers,
) -> CacheEntry:
    ref = f"{config.cache_image}:{tag}"
    manifest = registry.manifest(repo, tag)
    if manifest is None:
        return CacheEntry(variant=variant, ref=ref, present=False)
    layers, size, written = cache_summary(manifest.body)
    platforms: tuple[str, ...] | None = None
    if variant is not None:
        # The cache does not record platforms; the variant's image does. A platform is in the
        # cache when its image's top layer is one of the cache's layers (mode=max keeps it).
        tops = platform_layers(f"{config.images[0]}:{moving_tag(config, variant)}")
        if tops is not None:
            platforms = tuple(sorted(p for p, top in tops.items() if top in layers))
    return CacheEntry(
        variant=variant,
        ref=ref,
        present=True,
        digest=manifest.digest,
        platforms=platforms,
        size=size,
        written=written,
    )


@dataclass(frozen=True)
class PruneTarget:
    tag: str
    digest: str
    skipped: str | None = None  # why it is kept although no variant owns it


def prune_targets(orphans: Sequence[CacheEntry], kept: Sequence[CacheEntry]) -> list[PruneTarget]:
    """What prune deletes. A registry deletes a manifest by digest, taking every tag that points
    at it; an orphan that shares its digest with a kept tag is left alone."""
    kept_digests = {e.digest for e in kept if e.digest}
    targets = []
    for orphan in orphans:
        if not orphan.digest:
            continue
        tag = orphan.ref.rsplit(":", 1)[1]
        if orphan.digest in kept_digests:
            targets.append(
                PruneTarget(tag, orphan.digest, "it is the same manifest as a cache tag in use")
            )
        else:
            targets.append(PruneTarget(tag, orphan.digest))
    return targets


def delete_tags(
    config: Config, targets: Sequence[PruneTarget], *, env: Mapping[str, str] | None = None
) -> list[str]:
    """Delete the targets; all or, where the registry fails midway, a clear account of what is left."""
    host, repo, _ = split_reference(f"{config.cache_image}:x")
    deleted: list[str] = []
    to_delete = [t for t in targets if t.skipped is None]
    with RegistryClient(host, env=env) as registry:
        for target in to_delete:
            try:
                registry.delete_manifest(repo, target.digest)
            except RegistryError as error:
                if not deleted:
                    unsupported = error.status in (400, 401, 403, 404, 405)
                    raise RegistryError(
                        f"{error.message}; nothing was deleted",
                        status=error.status,
                        hint=(
                            f"{host} does not allow deleting through the registry API (Docker Hub and ghcr.io "
                            "delete through their own web API or UI); or log in with a token that may delete"
                        )
                        if unsupported
                        else error.hint,
                    ) from None
                left = [t.tag for t in to_delete if t.tag not in deleted]
                raise BuildFailed(
                    f"deleted {', '.join(deleted)}, then {error.message}; still there: {', '.join(left)}",
                    hint="run the same command again to delete the rest",
                ) from None
            deleted.append(target.tag)
    return deleted
