"""Before a push is baked: every registry it writes to asked once, side by side
(core/publish/preflight.py says what their answers mean). An image registry that cannot take the push
stops the run with a sentence for each, before anything is built."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.console import Console

from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish.preflight import Access, push_targets, verdict
from buildcache.errors import BuildFailed
from buildcache.ui.console import labelled

Probe = Callable[[str], Access]


def check_registries(
    plan: BuildPlan,
    console: Console,
    env: Mapping[str, str] | None = None,
    probe: Probe | None = None,
) -> None:
    """Raise BuildFailed naming each image registry a push cannot reach or write; warn of the
    rest. Nothing is asked where the run pushes nothing."""
    targets = push_targets(plan)
    if not targets.every:
        return
    from buildcache.registry.client import at_once, probe_access

    found = at_once(probe or (lambda registry: probe_access(registry, env)), targets.every)
    said = verdict(targets, found)
    for warning in said.warnings:
        labelled(console, "warning", "yellow", warning)
    if said.errors:
        raise BuildFailed(
            "; ".join(said.errors),
            hint="nothing was built or pushed: run the same command again once "
            f"{'it takes' if len(said.errors) == 1 else 'they take'} the push",
        )
