"""`buildcache advise`: what would make the cache pay, from the records beside the caches."""

from __future__ import annotations

from buildcache.cli.options import ConfigOption, JsonOption, with_plan_request
from buildcache.commands.plan import read_config
from buildcache.core.plan.request import PlanRequest


@with_plan_request
def advise(request: PlanRequest, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Advice on the Dockerfile for the last build, measured by its cache's record."""
    from buildcache.commands.advise import advise as command

    command(read_config(config), request, as_json=as_json)
