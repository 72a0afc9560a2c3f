"""`buildcache merge`: per-platform `build --push-by-digest` results -> tagged indexes.

Each variant's index is made from the runners' images (core/publish/merge.py) and put by digest on
every registry, through the registry API; then its tags are written as a build writes them
(commands/publish.py). Nothing is tagged anywhere before every registry holds the index.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from buildcache.commands.build import retry_policy
from buildcache.commands.publish import publish_tags
from buildcache.core.config.model import Config
from buildcache.core.plan.metadata import OCI
from buildcache.core.publish.merge import (
    MergeInput,
    RunnerImage,
    check_platforms,
    check_variant,
    merged_index,
    read_results,
)
from buildcache.core.publish.writes import (
    Retrier,
    RetryPolicy,
    TagResult,
    failed_results,
    images_of,
)
from buildcache.core.reference import ImageRef
from buildcache.errors import BuildFailed, PublishError, RegistryError
from buildcache.ui.console import print_json, say
from buildcache.ui.tables import publish_table

VERSION_LABEL = OCI + "version"

if TYPE_CHECKING:
    from buildcache.registry.publish import Registries


def merge(
    results: list[Path],
    load_config: Callable[[], Config],
    *,
    as_json: bool,
    console: Console,
    force: bool = False,
) -> None:
    """The runners' results checked against each other, the config and their images; each
    variant's index made and tagged, a release published before kept (--force replaces it)."""
    # without a config, the results alone would say where to write: a result of another
    # project would tag its repositories; the config's images are the only ones written
    config = load_config()
    merged = read_results(results, config.all_images)
    policy = retry_policy(config)
    kept = {} if force else _published_before(merged, policy, console)
    indexes, published = _put_indexes(merged, policy, console, kept)
    ready = [v for v in merged.variants if v.name in indexes and v.name not in kept]
    published += publish_tags(
        ready, indexes, version=merged.version, console=console, policy=policy
    )
    published += _keep(merged, kept, policy, console)
    if published:
        console.print(publish_table(published))
    if as_json:
        print_json(_merge_json(merged, published))
    _step_outputs(merged, indexes, published)
    if any(r.status not in ("done", "kept") for r in published):
        raise BuildFailed(
            "not every tag was published (the table above says which)",
            hint="run the same merge again: it writes the tags that are missing",
        )
    platforms = sorted({p for ps in merged.platforms.values() for p in ps})
    say(
        console,
        f"merged {len(merged.variants)} variant(s) for {', '.join(platforms)}",
        "bold green",
    )


def _published_before(
    merged: MergeInput, policy: RetryPolicy, console: Console
) -> dict[str, ImageRef]:
    """The variants whose exact release tag an earlier run (a build or a merge) wrote: that
    image, where the first registry holding it holds it. A published release is kept, as
    `build --push` keeps one."""
    from buildcache.registry.readback import digests_of

    refs = {v.name: [r for r in v.tags if r.tag in v.release_tags] for v in merged.variants}
    keyed = {str(ref): ref for own in refs.values() for ref in own}
    digests = digests_of(keyed, policy)
    kept = {}
    for name, own in refs.items():
        held = [ref.with_digest(digests[str(ref)]) for ref in own if str(ref) in digests]
        if held:
            kept[name] = held[0]
    _check_release(merged.version, kept)
    for name, ref in kept.items():
        say(
            console,
            f"{name} {merged.version} is published already ({str(ref.digest)[:19]}): "
            "kept, its tags completed where missing (--force replaces it)",
            "yellow",
        )
    return kept


def _check_release(version: str, kept: Mapping[str, ImageRef]) -> None:
    """A release tag held already is this release only where its image says this version (its
    configs' labels); otherwise a conflict (BuildFailed), before anything is written."""
    from buildcache.core.publish.writes import foreign_image
    from buildcache.registry.readback import labels_of

    expected = {VERSION_LABEL: version}
    for name, labels in labels_of(dict(kept)).items():
        reason = foreign_image(expected, labels)
        if reason is not None:
            raise BuildFailed(
                f"{kept[name]} is published already, but not from this release: {reason}; "
                "nothing was merged or tagged",
                hint="merge --force replaces it on every registry",
            )


def _keep(
    merged: MergeInput, kept: Mapping[str, ImageRef], policy: RetryPolicy, console: Console
) -> list[TagResult]:
    """The tags of the variants published before, written with that image where missing (as a
    re-run of a build completes them); each of them `kept`."""
    variants = [v for v in merged.variants if v.name in kept]
    if not variants:
        return []
    written = publish_tags(
        variants,
        kept,
        version=merged.version,
        console=console,
        policy=policy,
        copy=set(kept),
    )
    why = "published before: its image is kept (--force replaces it)"
    return [
        dataclasses.replace(r, status="kept", reason=why) if r.status == "done" else r
        for r in written
    ]


def _step_outputs(
    merged: MergeInput, indexes: dict[str, ImageRef], published: list[TagResult]
) -> None:
    """The step outputs a build writes, where the CI reads them: each variant's index and tags."""
    from buildcache.ci import providers

    default = next((v.name for v in merged.variants if v.default), "")
    tags = {
        v.name: [str(r.ref) for r in published if r.variant == v.name and r.status == "done"]
        for v in merged.variants
    }
    digests = {v.name: _digest(indexes.get(v.name)) for v in merged.variants}
    providers.sink(os.environ).merge_results(digests, tags, default)


def _digest(index: ImageRef | None) -> str | None:
    return index.digest if index else None


def _put_indexes(
    merged: MergeInput, policy: RetryPolicy, console: Console, kept: Collection[str] = ()
) -> tuple[dict[str, ImageRef], list[TagResult]]:
    """Each variant's index, made from its runners' images and put by digest on every
    registry (the runners' images copied first where a registry lacks them): the first image by
    the index's digest, per variant; and the failed results of the variants it could not be
    made for (none of their tags is written)."""
    from buildcache.registry.publish import Registries, copy_where_missing, put_by_digest

    retrier = Retrier(
        policy, time.sleep, on_event=lambda message: say(console, f"retry: {message}", "yellow")
    )
    indexes: dict[str, ImageRef] = {}
    failed: list[TagResult] = []
    with Registries() as registries:
        runners = _read_runners(registries, merged, retrier)
        for variant in (v for v in merged.variants if v.name not in kept):
            images = images_of(variant)
            sources = merged.sources[variant.name]

            def make(images: list[ImageRef] = images, name: str = variant.name) -> None:
                try:
                    for source in merged.sources[name]:
                        copy_where_missing(registries, source, images)
                    data, media_type = merged_index(runners[name])
                    digest = put_by_digest(registries, images, data, media_type)
                except RegistryError as error:
                    raise PublishError.of(error) from None
                indexes[name] = images[0].with_digest(digest)

            reason, attempts = retrier.retried(
                make, f"{variant.name}: the index of {len(sources)} runners"
            )
            if reason is not None:
                why = f"its index could not be made: {reason}"
                failed += failed_results(variant, why, attempts)
    return indexes, failed


def _read_runners(
    registries: Registries, merged: MergeInput, retrier: Retrier
) -> dict[str, list[RunnerImage]]:
    """Every runner's image of every variant, read and checked before anything is written
    anywhere (read again after a transient error). Raises BuildFailed where one cannot be read,
    UsageError where one is not what its result says."""
    runners: dict[str, list[RunnerImage]] = {}
    for variant in merged.variants:

        def read(name: str = variant.name) -> None:
            runners[name] = _runner_images(registries, merged, name)

        reason, _ = retrier.retried(read, f"{variant.name}: its runners' images")
        if reason is not None:
            raise BuildFailed(reason, hint="nothing was merged or tagged: run the same merge again")
    return runners


def _runner_images(registries: Registries, merged: MergeInput, name: str) -> list[RunnerImage]:
    """Each runner's image of a variant as its registry holds it, checked to be of the
    platforms its result names (an amd64 image labelled arm64 would make an index with amd64
    twice) and built as the variant it names (its configs' labels). A registry that cannot be read fails the merge before anything is written."""
    from buildcache.registry.readback import image_labels

    runners = []
    for source, platforms in zip(merged.sources[name], merged.runner_platforms[name], strict=True):
        client = registries.client(source)
        try:
            data, media_type = client.raw_manifest(source.repository, str(source.digest))
            runner = RunnerImage(data, media_type, platforms)
            config = None if runner.is_index else client.blob(source.repository, runner.config)
            labels = image_labels(client, source.repository, data)
        except RegistryError as error:
            raise PublishError.of(error, f"{source}: {error.message}") from None
        check_platforms(source, runner, config)
        check_variant(source, name, labels)
        runners.append(runner)
    return runners


def _merge_json(merged: MergeInput, published: list[TagResult]) -> dict[str, object]:
    return {
        "version": merged.version,
        "variants": [
            {
                "name": v.name,
                "platforms": merged.platforms[v.name],
                "sources": [str(s) for s in merged.sources[v.name]],
                "publish": [r.to_json() for r in published if r.variant == v.name],
            }
            for v in merged.variants
        ],
    }
