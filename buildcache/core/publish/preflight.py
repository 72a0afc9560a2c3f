"""Pure: before a push is baked, can each registry it writes to be reached and written?

A registry that is down is not a missing password: registry/client.probe_access tells apart a
registry that cannot be reached, one that asks for credentials nobody gave, one that refused
those given, and one that takes the push (with them, or from anyone). `build --push` asks every
registry it writes to, side by side, and bakes nothing where an image could not be pushed: the
bake would fail after every step, or be retried as if the registry were having a bad moment.
A cache registry's problem is a warning: the cache is not saved, and the build goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from buildcache.core.plan.model import BuildPlan

AccessState = Literal["ok", "anonymous", "unreachable", "no credentials", "refused", "unexpected"]


@dataclass(frozen=True)
class Access:
    """What one registry's /v2/ said of a push there."""

    registry: str
    state: AccessState
    detail: str  # why it cannot be reached, or what it answered

    def problem(self) -> str | None:
        """One sentence saying what stops a push there; None where nothing does."""
        registry, detail = self.registry, self.detail
        if self.state == "unreachable":
            return f"{registry} is unreachable ({detail})"
        if self.state == "no credentials":
            why = f" ({detail})" if detail.startswith("anonymous") else ""
            return (
                f"{registry} needs a login to push and the docker config has none{why}: "
                f"docker login {registry} (or buildcache login)"
            )
        if self.state == "refused":
            return (
                f"{registry} refused the credentials in the docker config ({detail}): "
                f"docker login {registry} with a token that may push"
            )
        if self.state == "unexpected":
            return f"{registry} answered {detail}"
        return None


@dataclass(frozen=True)
class PushTargets:
    """The registries a run writes to: its images' (a push fails without them) and its caches'
    that are not among those (a build goes on without its cache)."""

    images: tuple[str, ...] = ()
    caches: tuple[str, ...] = ()

    @property
    def every(self) -> tuple[str, ...]:
        return (*self.images, *self.caches)


def push_targets(plan: BuildPlan) -> PushTargets:
    if not plan.push:
        return PushTargets()
    images = dict.fromkeys(image.registry for v in plan.variants for image in v.images)
    caches = dict.fromkeys(
        v.cache_to.ref.registry
        for v in plan.variants
        if v.cache_to and v.cache_to.ref.registry not in images
    )
    return PushTargets(tuple(images), tuple(caches))


@dataclass(frozen=True)
class Verdict:
    errors: tuple[str, ...]  # a sentence each: the run stops before the bake
    warnings: tuple[str, ...]  # a sentence each: the run goes on


def verdict(targets: PushTargets, found: Sequence[Access]) -> Verdict:
    """An image registry that cannot take the push stops the run; one that answered oddly (a
    5xx at /v2/) may take it all the same, and so may a cache registry: those are warnings."""
    by_registry: Mapping[str, Access] = {access.registry: access for access in found}
    errors: list[str] = []
    warnings: list[str] = []
    for registry in targets.images:
        access = by_registry[registry]
        problem = access.problem()
        if problem is None:
            continue
        (warnings if access.state == "unexpected" else errors).append(problem)
    for registry in targets.caches:
        problem = by_registry[registry].problem()
        if problem is not None:
            warnings.append(f"{problem}: the cache will not be saved there")
    return Verdict(tuple(errors), tuple(warnings))
