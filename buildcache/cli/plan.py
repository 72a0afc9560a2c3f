"""`buildcache plan`: the plan of a run, shown or as JSON, without running anything."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from buildcache.cli.options import ConfigOption, JsonOption, with_plan_request
from buildcache.commands.plan import assemble, read_config
from buildcache.core.plan.request import PlanRequest
from buildcache.ui.console import make_console, print_json


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
    loaded = read_config(config)
    resolved = assemble(loaded, dataclasses.replace(request, push=push))
    if as_json:
        print_json(resolved.to_json())
        return
    from buildcache.ui.tables import print_plan

    print_plan(make_console(), resolved, sources=loaded.sources if verbose else None)
