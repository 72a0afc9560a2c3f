"""`buildcache cache ls|prune`: the cache tags between builds.

Tags, manifests, the images' platforms and deletes go through the registry's HTTP API
(registry/client.py): no docker process; which tag belongs to which variant, which platforms a
cache holds, and what prune may delete, is core/cache.py's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

import typer
from rich.console import Console

from buildcache import git
from buildcache.ci import providers
from buildcache.core.cache import (
    RECORD_SUFFIX,
    STAGING_SUFFIX,
    CacheEntry,
    Project,
    PruneTarget,
    by_cache_image,
    cache_summary,
    cached_platforms,
    is_cache_manifest,
    orphan_tags,
    project_of,
    prune_targets,
    variant_of,
)
from buildcache.core.config.model import Config
from buildcache.core.plan.metadata import repository_url
from buildcache.core.plan.tags import moving_tag
from buildcache.core.reference import ImageRef, platform_images, platform_name
from buildcache.errors import BuildcacheError, BuildFailed, RegistryError, UsageError
from buildcache.registry.bases import read_record
from buildcache.registry.client import RegistryClient
from buildcache.ui.console import print_json, say
from buildcache.ui.tables import cache_entries_table

# image -> {platform: its layers}, None where the image cannot be read
PlatformLayers = Callable[[ImageRef], Mapping[str, Sequence[str]] | None]
Connect = Callable[[str], RegistryClient]  # a registry host -> a client for its HTTP API


def ls(
    config: Config,
    *,
    as_json: bool,
    console: Console,
    connect: Connect = RegistryClient,
    platform_layers: PlatformLayers | None = None,
) -> None:
    if platform_layers is None:
        platform_layers = functools.partial(_layers_by_platform, connect)
    entries: list[CacheEntry] = []
    orphans: list[CacheEntry] = []
    for each in by_cache_image(config):  # a variant with its own image has its cache there
        found, stray = list_cache(each, platform_layers=platform_layers, connect=connect)
        entries += found
        orphans += stray
    if as_json:
        print_json(
            {
                "cache_image": str(config.cache_image),
                "cache_images": [str(image) for image in config.cache_images],
                "refs": [e.to_json() for e in entries],
                "orphans": [e.to_json() for e in orphans],
            }
        )
        return
    console.print(cache_entries_table(entries, orphans))
    if orphans:
        say(
            console,
            f"{len(orphans)} cache tag(s) belong to no variant of the config; 'buildcache cache prune' deletes them",
            "yellow",
        )


def prune(
    config: Config,
    *,
    yes: bool,
    dry_run: bool,
    console: Console,
    named: Sequence[str] = (),
    as_json: bool = False,
    connect: Connect = RegistryClient,
) -> None:
    """Delete the caches (and records) of this project's removed variants, and the orphans asked
    for by name; what another project wrote, or what no record claims, is listed and kept."""
    # each image with the variants whose cache is there; a tag named is an orphan of one of them
    groups = [(each, _prune_targets(each, connect, named)) for each in by_cache_image(config)]
    targets = [target for _, own in groups for target in own]
    _check_named(
        config.cache_images, named, [t.tag for t in targets if not t.tag.endswith(RECORD_SUFFIX)]
    )
    deleted: list[str] = []
    for each, own in groups:
        deleted += _pruned(each, own, yes=yes, dry_run=dry_run, console=console, connect=connect)
    if as_json:
        print_json(
            {
                "cache_image": str(config.cache_image),
                "cache_images": [str(image) for image in config.cache_images],
                "dry_run": dry_run,
                "deleted": deleted,
                "kept": [{"tag": t.tag, "reason": t.skipped} for t in targets if t.skipped],
            }
        )


def _pruned(
    config: Config,
    targets: Sequence[PruneTarget],
    *,
    yes: bool,
    dry_run: bool,
    console: Console,
    connect: Connect,
) -> list[str]:
    """The tags deleted, each target said first."""
    if not targets:
        say(
            console,
            f"nothing to prune: every cache tag in {config.cache_image} belongs to a variant",
        )
        return []
    _say_targets(config, targets, console)
    if not _go_ahead(len([t for t in targets if t.skipped is None]), yes, dry_run, console):
        return []
    deleted = delete_tags(config, targets, connect=connect)
    refs = ", ".join(str(config.cache_image.with_tag(tag)) for tag in deleted)
    say(console, f"deleted {len(deleted)} cache tag(s): {refs}", "green")
    return deleted


def _go_ahead(doomed: int, yes: bool, dry_run: bool, console: Console) -> bool:
    """Whether to delete: something to, no --dry-run, and --yes or a yes at the terminal."""
    if dry_run or not doomed:
        say(console, "(dry run: nothing deleted)" if dry_run else "nothing to delete")
        return False
    if not yes and not _confirmed(doomed):
        say(console, "nothing deleted")
        return False
    return True


def _say_targets(config: Config, targets: Sequence[PruneTarget], console: Console) -> None:
    for target in targets:
        ref = config.cache_image.with_tag(target.tag)
        if target.skipped:
            say(console, f"keep   {ref} ({target.skipped})", "dim")
        else:
            say(console, f"delete {ref}")


def _prune_targets(config: Config, connect: Connect, named: Sequence[str]) -> list[PruneTarget]:
    """The orphans' cache tags, and their records; kept, those another tag of the repository
    (a release, where the cache shares the image's) points at too."""
    entries, orphans = list_cache(config, platform_layers=lambda ref: None, connect=connect)
    image = config.cache_image
    listed = {e.ref.tag for e in (*entries, *orphans)}
    with connect(image.registry) as registry:
        listed_all = registry.tags(image.repository) if orphans else []
        others = [t for t in listed_all if t not in listed and not t.endswith(RECORD_SUFFIX)]
        targets = prune_targets(
            orphans,
            entries,
            # the digests they point at (a tag gone since it was listed, left out)
            [d for d in (registry.digest(image.repository, tag) for tag in others) if d],
            project=this_project(config),
            named=named,
        )
        return targets + _their_records(registry, image, targets, listed_all)


def this_project(config: Config, env: Mapping[str, str] | None = None) -> Project:
    """The project prune deletes for, named as its builds name it in their records: the
    repository as the CI or git's remote says (core/plan/metadata.repository_url), else the
    first image."""
    env = os.environ if env is None else env
    root = config.path.parent if config.path else Path.cwd()
    source = repository_url(providers.repository(env), git.facts(root).remote_url)
    return project_of(source.value if source else None, config.images[0])


def _check_named(
    images: Sequence[ImageRef], named: Sequence[str], orphans: Collection[str]
) -> None:
    """A tag named on the command line must be an orphan: prune deletes nothing else."""
    not_orphans = sorted(set(named) - set(orphans))
    if not_orphans:
        raise UsageError(
            f"{', '.join(not_orphans)}: not a cache tag of a variant gone from the config, in "
            f"{', '.join(map(str, images))} (prune deletes nothing else)",
            hint="'buildcache cache ls' lists the orphans",
        )


def _their_records(
    registry: RegistryClient,
    image: ImageRef,
    targets: Sequence[PruneTarget],
    listed: Sequence[str],
) -> list[PruneTarget]:
    """A deleted cache tag takes its record along."""
    records = [f"{t.tag}{RECORD_SUFFIX}" for t in targets if t.skipped is None]
    found = []
    for record in (r for r in records if r in listed):
        digest = registry.digest(image.repository, record)
        if digest:
            found.append(PruneTarget(record, digest))
    return found


def _confirmed(count: int) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            "not deleting without a terminal to ask on", hint="add --yes to delete without asking"
        )
    return typer.confirm(f"Delete {count} cache tag(s)?", default=False, err=True)


def list_cache(
    config: Config, *, platform_layers: PlatformLayers, connect: Connect = RegistryClient
) -> tuple[list[CacheEntry], list[CacheEntry]]:
    """Every variant's cache ref (present or not), and the orphans in the cache image."""
    image = config.cache_image
    variants = [v.name for v in config.variants]
    prefix = config.cache.tag_prefix
    with connect(image.registry) as registry:
        tags = registry.tags(image.repository)
        entries = [
            _entry(config, registry, tag, variant_of(tag, prefix, variants), platform_layers)
            for tag in _variant_tags(tags, prefix, variants)
        ]
        entries = [e for e in entries if not _staging_image(e, prefix, variants)]
        orphans = [
            _entry(config, registry, tag, None, platform_layers)
            for tag in orphan_tags(tags, prefix, variants)
        ]
    # the record beside a cache ref says which project wrote it, on which bases, and when
    return _with_records(entries, tags, connect), _with_records(orphans, tags, connect)


def _variant_tags(tags: Sequence[str], prefix: str, variants: Sequence[str]) -> list[str]:
    """Each variant's cache tag (there or not), then the others of its variants (a branch's);
    the records beside them are not caches."""
    caches = [t for t in tags if t.startswith(prefix) and not t.endswith(RECORD_SUFFIX)]
    owned = [t for t in caches if variant_of(t, prefix, variants)]
    wanted = [f"{prefix}{v}" for v in variants]
    return [*wanted, *sorted(set(owned) - set(wanted))]


def _staging_image(entry: CacheEntry, prefix: str, variants: Sequence[str]) -> bool:
    """The image the docker driver pushes under buildcache's staging tag (`buildcache-slim-image`,
    core/plan/make.py), in a cache image that is also the image's repository: no cache."""
    tag = entry.ref.tag or ""
    own_ref = tag in (f"{prefix}{v}" for v in variants)
    return not own_ref and tag.endswith(STAGING_SUFFIX) and entry.present and not entry.is_cache


def _with_records(
    entries: Sequence[CacheEntry], tags: Sequence[str], connect: Connect
) -> list[CacheEntry]:
    return [
        dataclasses.replace(e, record=read_record(e.ref, connect)[0])
        if e.present and f"{e.ref.tag}{RECORD_SUFFIX}" in tags
        else e
        for e in entries
    ]


def _entry(
    config: Config,
    registry: RegistryClient,
    tag: str,
    variant: str | None,
    platform_layers: PlatformLayers,
) -> CacheEntry:
    ref = config.cache_image.with_tag(tag)
    manifest = registry.manifest(ref.repository, tag)
    if manifest is None:
        return CacheEntry(variant=variant, ref=ref, present=False)
    layers, size, written = cache_summary(manifest.body)
    return CacheEntry(
        variant=variant,
        ref=ref,
        present=True,
        digest=manifest.digest,
        platforms=_platforms_of(config, variant, layers, platform_layers),
        size=size,
        written=written,
        is_cache=is_cache_manifest(manifest.body),
    )


def _platforms_of(
    config: Config, variant: str | None, layers: Collection[str], platform_layers: PlatformLayers
) -> tuple[str, ...] | None:
    """The platforms a variant's cache holds: the cache does not record them, the variant's
    image does (core/cache.py). None where there is no image to ask."""
    owner = next((v for v in config.variants if v.name == variant), None)
    if owner is None:
        return None
    image_layers = platform_layers(config.images[0].with_tag(moving_tag(owner)))
    return None if image_layers is None else cached_platforms(image_layers, layers)


def _layers_by_platform(
    connect: Connect, reference: ImageRef
) -> Mapping[str, Sequence[str]] | None:
    """Each platform's layers of an image, read over the registry API (no attestation); None
    where the image is not there or not readable."""
    repository = reference.repository
    try:
        with connect(reference.registry) as registry:
            index = registry.manifest(repository, reference.tag or "latest")
            if index is None:
                return None
            if index.body.get("layers"):  # one platform: its config says which
                config = json.loads(registry.blob(repository, index.body["config"]["digest"]))
                name = platform_name(config["os"], config["architecture"], config.get("variant"))
                return {name: [str(layer["digest"]) for layer in index.body["layers"]]}
            images = {
                name: registry.manifest(repository, digest)
                for name, digest in platform_images(index.body).items()
            }
            # a platform's image gone since the index was read has no layers
            return {
                name: [str(d["digest"]) for d in (image.body if image else {}).get("layers") or []]
                for name, image in images.items()
            }
    except (RegistryError, KeyError, TypeError, ValueError):
        return None


def delete_tags(
    config: Config, targets: Sequence[PruneTarget], *, connect: Connect = RegistryClient
) -> list[str]:
    """Delete the targets; all or, where the registry fails midway, a clear account of what is left."""
    image = config.cache_image
    deleted: list[str] = []
    to_delete = [t for t in targets if t.skipped is None]
    with connect(image.registry) as registry:
        for target in to_delete:
            try:
                registry.delete_manifest(image.repository, target.digest)
            except RegistryError as error:
                left = [t.tag for t in to_delete if t.tag not in deleted]
                raise _delete_failed(image, error, deleted, left) from None
            deleted.append(target.tag)
    return deleted


def _delete_failed(
    image: ImageRef, error: RegistryError, deleted: Sequence[str], left: Sequence[str]
) -> BuildcacheError:
    """Nothing deleted (and why a registry may refuse), or what was and what is still there."""
    if deleted:
        return BuildFailed(
            f"deleted {', '.join(deleted)}, then {error.message}; still there: {', '.join(left)}",
            hint="run the same command again to delete the rest",
        )
    unsupported = error.status in (400, 401, 403, 404, 405)
    return RegistryError(
        f"{error.message}; nothing was deleted",
        status=error.status,
        hint=(
            f"{image.registry} does not allow deleting through the registry API (Docker Hub and "
            "ghcr.io delete through their own web API or UI); or log in with a token that may delete"
        )
        if unsupported
        else error.hint,
    )
