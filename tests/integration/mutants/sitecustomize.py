"""Planted bugs, to test the fault suite itself: a directory put first on PYTHONPATH of the
`python -m buildcache` a test starts, whose `sitecustomize` (imported by Python at start-up)
applies the bug BUILDCACHE_MUTANT names to buildcache's functions in that process only. Nothing
in buildcache's package knows of it; unset (always, outside the mutant test), it does nothing.

Each mutant is a bug the suite must catch: the mutant test (tests/integration/
test_publish_faults.py) runs seeds known to meet it and asserts the oracle reports something
wrong. A mutant patches a function by its module and name: renamed there, Python prints "Error in
sitecustomize" (an AttributeError) and runs unpatched, which the mutant test checks before its
runs, rather than counting a mutant that was never planted."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any


def _failed_tag_writes_exit_0() -> None:
    """The publish result's failures ignored: a tag write that failed for good is shown as kept,
    and the run exits 0."""
    from buildcache.commands import build

    real = build.publish

    def publish(*args: Any, **kwargs: Any) -> Any:
        results = real(*args, **kwargs)
        for result in results:
            if result.status == "failed":
                result.status = "kept"
        return results

    _replace(build, "publish", publish)


def _moving_tags_despite_a_failed_version_tag() -> None:
    """The gate before the moving tags skipped: they are written although a version tag of the
    variant failed."""
    from buildcache.core.publish import writes as publish

    _replace(publish, "_missing_version_tags", lambda results: {})


def _hold_ignored() -> None:
    """No higher release ever holds a moving tag: a hotfix moves `latest` back."""
    from buildcache.registry import publish

    _replace(publish, "higher_release_holds", lambda *args, **kwargs: {})


def _platform_manifest_under_the_tags() -> None:
    """The tags written with the index's first child (one platform's manifest), not the index."""
    from buildcache.registry import publish

    real = publish.read_manifest

    def read_manifest(registries: Any, image: Any, digest: str) -> Any:
        index = real(registries, image, digest)
        children = json.loads(index.data).get("manifests") or []
        if not children:
            return index
        return real(registries, image, children[0]["digest"])

    _replace(publish, "read_manifest", read_manifest)


def _published_release_replaced() -> None:
    """ "Published already" never found: a release run again is built again and its tags
    replaced."""
    from buildcache.commands import build

    _replace(build, "published_before", lambda *args, **kwargs: {})


def _read_back_skipped() -> None:
    """What a build published is never read back: a write the registry took and lost, or
    another run's write over it, goes unseen and the run exits 0."""
    from buildcache.registry import readback

    _replace(readback, "read_back_published", lambda *args, **kwargs: None)


def _last_registry_5xx_written() -> None:
    """A 5xx answering a tag PUT on the last registry of a variant is taken as written."""
    from buildcache.errors import PublishError
    from buildcache.registry import publish

    real = publish.TagWriter.put

    def put(self: Any, step: Any) -> None:
        try:
            real(self, step)
        except PublishError as error:
            last = self.images[step.variant][-1].registry == step.image.registry
            if not (last and re.search(r"\b5\d\d\b", error.reason)):
                raise

    _replace(publish.TagWriter, "put", put)


def _retry_on_the_first_registry_only() -> None:
    """A tag write that failed is tried again on the first registry only: elsewhere, once."""
    import dataclasses

    from buildcache.core.publish import writes as publish

    real = publish.Publisher._run_step
    first = _first_registry()

    def run_step(self: Any, step: Any) -> Any:
        if step.image.registry == first:
            return real(self, step)
        once = dataclasses.replace(self.retrier.policy, attempts=1)
        alone = dataclasses.replace(self, retrier=dataclasses.replace(self.retrier, policy=once))
        return real(alone, step)

    _replace(publish.Publisher, "_run_step", run_step)


def _latest_moved_by_a_non_release() -> None:
    """A run that is not a release (a branch build) moves latest and the variants' aliases."""
    import dataclasses

    from buildcache.core.plan import make

    real = make.run_tags

    def run_tags(*args: Any, **kwargs: Any) -> Any:
        run = real(*args, **kwargs)
        if run.release:
            return run
        return dataclasses.replace(run, latest=True, latest_reason="a mutant's")

    _replace(make, "run_tags", run_tags)


def _published_already_on_the_first_registry_only() -> None:
    """ "Published already?" asked of the first registry only: a release whose first registry
    lost it is built again and its tags replaced on the others."""
    from buildcache.registry import readback

    real = readback.digests_of
    first = _first_registry()

    def digests_of(keyed: Any, *args: Any, **kwargs: Any) -> Any:
        mine = {k: ref for k, ref in keyed.items() if ref.registry == first}
        return real(mine, *args, **kwargs)

    _replace(readback, "digests_of", digests_of)


def _variant_digests_swapped() -> None:
    """The first two variants' digests swapped after the bake: slim's tags get full's image."""
    from buildcache.commands import bake

    real = bake.BakeOutcome.digests

    def digests(self: Any) -> Any:
        found = dict(real(self))
        names = sorted(found)
        if len(names) >= 2:
            first, second = names[:2]
            found[first], found[second] = found[second], found[first]
        return found

    _replace(bake.BakeOutcome, "digests", digests)


def _first_registry() -> str:
    """The registry of the config's first image (the mutant runs in the project's folder)."""
    import tomllib
    from pathlib import Path

    images = tomllib.loads(Path("buildcache.toml").read_text())["images"]
    return str(images[0]).split("/", 1)[0]


def _replace(owner: object, name: str, value: object) -> None:
    if not hasattr(owner, name):
        raise AttributeError(f"mutant: {owner!r} has no {name} to replace")
    setattr(owner, name, value)


MUTANTS: dict[str, Callable[[], None]] = {
    "failed-tag-writes-exit-0": _failed_tag_writes_exit_0,
    "moving-tags-despite-a-failed-version-tag": _moving_tags_despite_a_failed_version_tag,
    "hold-ignored": _hold_ignored,
    "platform-manifest-under-the-tags": _platform_manifest_under_the_tags,
    "published-release-replaced": _published_release_replaced,
    "read-back-skipped": _read_back_skipped,
    "last-registry-5xx-written": _last_registry_5xx_written,
    "retry-on-the-first-registry-only": _retry_on_the_first_registry_only,
    "latest-moved-by-a-non-release": _latest_moved_by_a_non_release,
    "published-already-on-the-first-registry-only": _published_already_on_the_first_registry_only,
    "variant-digests-swapped": _variant_digests_swapped,
}

if os.environ.get("BUILDCACHE_MUTANT"):
    MUTANTS[os.environ["BUILDCACHE_MUTANT"]]()
