"""Planted bugs, to test the fault suite itself: a directory put first on PYTHONPATH of the
`python -m buildcache` a test starts, whose `sitecustomize` (imported by Python at start-up)
applies the bug BUILDCACHE_MUTANT names to buildcache's functions in that process only. Nothing
in buildcache's package knows of it; unset (always, outside the mutant test), it does nothing.

Each mutant is a bug the suite must catch: the mutant test (tests/integration/
test_publish_faults.py) runs seeds known to meet it and asserts the oracle reports something
wrong. A mutant patches a function by its module and name: renamed there, the mutant fails loudly
(AttributeError at start-up) rather than silently patching nothing."""

from __future__ import annotations

import json
import os
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
}

if os.environ.get("BUILDCACHE_MUTANT"):
    MUTANTS[os.environ["BUILDCACHE_MUTANT"]]()
