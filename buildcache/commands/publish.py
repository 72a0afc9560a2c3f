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
    foreign_image,
    images_of,
    moving_tags,
    publish_steps,
    published_note,
    release_shape,
    run_labels,
    version_refs,
)
from buildcache.core.reference import ImageRef
from buildcache.errors import BuildFailed, PublishError, RegistryError
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
    held = {
        name: [(ref, digests[str(ref)]) for ref in own if str(ref) in digests]
        for name, own in refs.items()
    }
    # the first registry's, where several differ
    found = {name: at[0][1] for name, at in held.items() if at}
    _check_release(plan, {n: at[0][0] for n, at in held.items() if at}, connect or RegistryClient)
    for name, at in held.items():
        if at:
            labelled(console, "note", "yellow", published_note(name, plan.version, refs[name], at))
    return found


def _check_release(plan: BuildPlan, found: Mapping[str, ImageRef], connect: Connect) -> None:
    """A release tag held already is this release only where its image says it was built from
    this version and this commit (its config's labels); otherwise it is a conflict, and the run
    stops before it builds (BuildFailed): a re-run must never keep another build's image as
    "published"."""
    from buildcache.registry.readback import labels_of

    expected = {
        v.name: {
            key: value
            for key, value in run_labels({k: d.value for k, d in v.labels.items()}).items()
            if not key.endswith(".created")  # the moment is the earlier run's own
        }
        for v in plan.variants
        if v.name in found
    }
    for name, labels in labels_of(found, connect).items():
        reason = foreign_image(expected[name], labels)
        if reason is not None:
            raise BuildFailed(
                f"{found[name]} is published already, but not from this release: {reason}; nothing "
                "was built or tagged",
                hint="--force builds this release and replaces it on every registry",
            )


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
    copied where it is missing. Each image built is read back before any tag is written, and
    must say it is this run's (its version, commit and moment: labels are the config's, so no
    layer and no cache changes with them). Raises BuildFailed (nothing tagged) where one is not,
    PublishInterrupted (with what was written) on Ctrl-C or SIGTERM."""
    own = {
        v.name: run_labels({key: described.value for key, described in v.labels.items()})
        for v in plan.variants
        if v.name not in resumed
    }
    sources = {
        v.name: v.pushed_image.with_digest(str(digests[v.name]))
        for v in plan.variants
        if digests.get(v.name)
    }
    # buildx's docker driver pushes by a local name (the run's own: core/cache.staging_tag);
    # copied all the same where a registry lacks its digest, and read back (_check_own)
    staged = {v.name for v in plan.variants if v.staging_tag is not None}
    return publish_tags(
        plan.variants,
        sources,
        version=plan.version,
        console=console,
        policy=policy,
        copy={*resumed, *staged},
        own=own,
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
    own: Mapping[str, Mapping[str, str]] | None = None,
    connect: Connect | None = None,
) -> list[TagResult]:
    """Each variant's tags, written with the index `sources` names (the first registry's image,
    by digest), on every registry; the variants in `copy` are first copied to the registries
    that do not hold them; those in `own` checked first to carry those labels on every
    platform (BuildFailed, nothing tagged, where one does not). `connect` reaches a registry
    (tests pass registries in memory)."""
    from buildcache.registry.publish import Registries, TagWriter

    retrier = Retrier(
        policy, time.sleep, on_event=lambda message: say(console, f"retry: {message}", "yellow")
    )
    with Registries(connect) if connect else Registries() as registries:
        manifests, failed = _read_indexes(retrier, registries, variants, sources, copy)
        _check_own(registries, sources, manifests, own or {})
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


def _check_own(
    registries: Registries,
    sources: Mapping[str, ImageRef],
    manifests: Mapping[str, Manifest],
    own: Mapping[str, Mapping[str, str]],
) -> None:
    """Each variant's index about to be tagged, read back with its platforms' configs: it
    must carry the labels `own` names (this run's). Raises BuildFailed, before any tag is
    written, where one does not or cannot be read: the image is another run's (one that
    shares the engine or the staging name), and no tag of this run may point at it."""
    from buildcache.registry.client import at_once
    from buildcache.registry.readback import image_labels

    def why(name: str) -> str | None:
        source = sources[name]
        try:
            found = image_labels(registries.client(source), source.repository, manifests[name].data)
        except RegistryError as error:
            return f"it could not be read back ({error.message})"
        return foreign_image(own[name], found)

    names = [name for name in own if name in manifests and own[name]]
    for name, reason in zip(names, at_once(why, names), strict=True):
        if reason is not None:
            raise BuildFailed(
                f"{name}'s image {sources[name]} is not the one this run built: {reason}; "
                "no tag was written",
                hint="another run on this engine or registry may have pushed at the same moment:"
                " run the same command again",
            )
