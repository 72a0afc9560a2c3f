"""After the bake: what an earlier run of the release published, and every tag written.

Every registry holds each variant's image by digest once the bake is done (core/bake.py); here
each tag becomes one PUT of that image's index through the registry API (registry/publish.py),
in core/publish/writes.py's order: version tags, then moving tags never over a higher release. `merge`
publishes the index it made the same way.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console

from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish.writes import (
    Publisher,
    PublishInterrupted,
    Retrier,
    RetryPolicy,
    Tagged,
    TagResult,
    failed_results,
    images_of,
    moving_tags,
    publish_steps,
    published_note,
    release_shape,
    version_refs,
)
from buildcache.core.reference import ImageRef
from buildcache.errors import PublishError, RegistryError
from buildcache.ui.console import labelled, say

if TYPE_CHECKING:
    from buildcache.registry.client import Connect
    from buildcache.registry.publish import Manifest, Registries

# The registry client (httpx) is imported by the functions that use it: `build --dry-run` never
# does.


def published_before(
    plan: BuildPlan, console: Console, policy: RetryPolicy, connect: Connect | None = None
) -> dict[str, str]:
    """The variants whose release tag an earlier run wrote already (variant -> digest). A
    published version is never replaced: the run writes that image's tags where they are
    missing, so a run that failed halfway is completed by running it again."""
    if plan.push_by_digest:
        return {}
    from buildcache.registry.client import RegistryClient
    from buildcache.registry.readback import digests_of

    refs = version_refs(plan)
    keyed = {str(ref): ref for own in refs.values() for ref in own}
    digests = digests_of(keyed, policy, connect or RegistryClient)
    found: dict[str, str] = {}
    for name, own in refs.items():
        held = [(ref, digests[str(ref)]) for ref in own if str(ref) in digests]
        if held:
            found[name] = held[0][1]  # the first registry's, where several differ
            labelled(console, "note", "yellow", published_note(name, plan.version, own, held))
    return found


def publish(
    plan: BuildPlan,
    digests: Mapping[str, str | None],
    *,
    console: Console,
    policy: RetryPolicy,
    resumed: Collection[str] = (),
    connect: Connect | None = None,
) -> list[TagResult]:
    """Every tag of the plan's variants on every registry. The bake pushed each to every
    registry; a resumed release, and one the docker driver pushed under its staging tag, is
    copied where it is missing. Raises PublishInterrupted (with
    what was written) on Ctrl-C or SIGTERM."""
    sources = {
        v.name: v.pushed_image.with_digest(str(digests[v.name]))
        for v in plan.variants
        if digests.get(v.name)
    }
    # buildx's docker driver pushes by a local tag that another build on the same engine can
    # move between the export and the push: a registry may hold that build's image instead
    staged = {v.name for v in plan.variants if v.staging_tag is not None}
    return publish_tags(
        plan.variants,
        sources,
        version=plan.version,
        console=console,
        policy=policy,
        copy={*resumed, *staged},
        connect=connect,
    )


def publish_tags(
    variants: Sequence[Tagged],
    sources: Mapping[str, ImageRef],
    *,
    version: str,
    console: Console,
    policy: RetryPolicy,
    copy: Collection[str] = (),
    connect: Connect | None = None,
) -> list[TagResult]:
    """Each variant's tags, written with the index `sources` names (the first registry's image,
    by digest), on every registry; the variants in `copy` are first copied to the registries
    that do not hold them. `connect` reaches a registry (tests pass registries in memory)."""
    from buildcache.registry.publish import Registries, TagWriter

    retrier = Retrier(
        policy, time.sleep, on_event=lambda message: say(console, f"retry: {message}", "yellow")
    )
    with Registries(connect) if connect else Registries() as registries:
        manifests, failed = _read_indexes(retrier, registries, variants, sources, copy)
        ready = [v for v in variants if v.name in manifests]
        writer = TagWriter(
            registries,
            manifests,
            images={v.name: images_of(v) for v in ready},
            shapes={v.name: release_shape(v, version) for v in ready},
        )
        publisher = Publisher(put=writer.put, retrier=retrier, hold=writer.hold)
        try:
            results = publisher.run(publish_steps(ready))
        except PublishInterrupted as stop:
            raise PublishInterrupted(failed + stop.results) from None
        return failed + writer.settle(results, {v.name: moving_tags(v) for v in ready})


def _read_indexes(
    retrier: Retrier,
    registries: Registries,
    variants: Sequence[Tagged],
    sources: Mapping[str, ImageRef],
    copy: Collection[str],
) -> tuple[dict[str, Manifest], list[TagResult]]:
    """Each variant's index read once (copied first where `copy` asks; the variants at once),
    and the failed results of the variants whose index cannot be read (none of their tags is
    written)."""
    from buildcache.registry.client import at_once
    from buildcache.registry.publish import copy_where_missing, read_manifest

    manifests: dict[str, Manifest] = {}

    def one(variant: Tagged) -> list[TagResult]:
        source = sources.get(variant.name)
        if source is None:  # never a silent gap in the table
            return failed_results(variant, "buildx reported no digest for it", 0)

        def read() -> None:
            try:
                origin = source
                if variant.name in copy:
                    origin = copy_where_missing(registries, source, images_of(variant))
                manifests[variant.name] = read_manifest(registries, origin, str(source.digest))
            except RegistryError as error:
                raise PublishError.of(error) from None

        reason, attempts = retrier.retried(read, str(source))
        return [] if reason is None else failed_results(variant, reason, attempts)

    failed = [result for results in at_once(one, list(variants)) for result in results]
    return manifests, failed
