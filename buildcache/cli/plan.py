"""`buildcache plan`: the plan of a run, shown or as JSON, without running anything."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from buildcache.cli.options import ConfigOption, JsonOption, with_plan_request
from buildcache.core.plan.request import PlanRequest


@with_plan_request
def plan(
    request: PlanRequest,
    push: Annotated[
        bool, typer.Option("--push", help="Plan a build that pushes (as build --push).")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show where each setting came from.")
    ] = False,
) -> None:
    """Resolve the variants into a build plan and show it, without running anything."""
    from buildcache.commands.plan import show_plan

    show_plan(config, dataclasses.replace(request, push=push), as_json=as_json, verbose=verbose)
