"""After the bake: what an earlier run of the release published, and publishing the rest.

The build pushed the version tags of the first image; here every other registry gets the same
digest (core/publish.py decides the order, registry/copy.py or `imagetools create` copies),
the moving tags last, never over a higher release (registry/readback.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from rich.console import Console

from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish import (
    Copy,
    Publisher,
    PublishInterrupted,
    PublishStep,
    RetryPolicy,
    TagResult,
    copy_sources,
    pushed_results,
    steps_after_push,
    version_refs,
)
from buildcache.core.reference import ImageRef
from buildcache.errors import CopyError, RegistryError
from buildcache.ui.console import labelled, say

# The registry client (httpx) is imported by the functions that use it: `build --dry-run` never
# does.


def published_before(plan: BuildPlan, console: Console) -> dict[str, str]:
    """The variants whose release tag an earlier run pushed already (variant -> digest). A
    published version is never replaced: the run publishes that image where it is missing, so a
    run that failed halfway is completed by running it again."""
    if plan.push_by_digest:
        return {}
    from buildcache.registry.readback import digests_of

    found = digests_of(version_refs(plan))
    for name, digest in found.items():
        labelled(
            console,
            "note",
            "yellow",
            f"{name} {plan.version} is published already ({digest[:19]}): publishing that image "
            "where it is missing, not building it again (--force rebuilds and replaces it)",
        )
    return found


def publish(
    plan: BuildPlan,
    digests: Mapping[str, str | None],
    *,
    copy_image: Copy,
    console: Console,
    policy: RetryPolicy,
) -> list[TagResult]:
    """After the build's push to the first image: copy by digest to the others, moving tags
    last; what the registry API cannot copy as it is goes to `copy_image` (imagetools create).
    Raises PublishInterrupted (with what was published) on Ctrl-C or SIGTERM."""
    from buildcache.registry.copy import copy_by_registry
    from buildcache.registry.readback import higher_release_holds

    def copy(sources: Sequence[ImageRef], targets: Sequence[ImageRef]) -> None:
        left = list(targets)
        if len(sources) == 1:  # as it is, where the registry API can (registry/copy.py)
            try:
                left = copy_by_registry(sources[0], targets)
            except RegistryError as error:
                raise CopyError(error.message) from None
        if left:
            copy_image(sources, left)

    def hold(step: PublishStep) -> dict[str, str]:
        # an older release (a hotfix, or one that lost a race) never takes latest, 1.2 or 1 back
        default = next(v.default for v in plan.variants if v.name == step.variant)
        suffix = "" if default else f"-{step.variant}"
        return higher_release_holds(step.image, step.tags, plan.version, suffix)

    publisher = Publisher(
        copy=copy,
        policy=policy,
        sleep=time.sleep,
        on_event=lambda message: say(console, f"retry: {message}", "yellow"),
        hold=hold,
    )
    steps = steps_after_push(plan, copy_sources(plan, digests))
    try:
        return pushed_results(plan) + publisher.run(steps)
    except PublishInterrupted as stop:  # the table shows the build's own push too
        raise PublishInterrupted(pushed_results(plan) + stop.results) from None
