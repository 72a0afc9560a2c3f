"""`buildcache advise`: the plan (each variant's steps, and the record its last build wrote
beside its cache), then core/advise's rules over them."""

from __future__ import annotations

from buildcache.commands.plan import assemble
from buildcache.core.advise import Advice, advise_plan
from buildcache.core.config.model import Config
from buildcache.core.plan.request import PlanRequest
from buildcache.errors import UsageError
from buildcache.ui.console import make_console, print_json


def advise(config: Config, request: PlanRequest, *, as_json: bool) -> list[Advice]:
    """Print the advice for each variant's last build (as JSON with `as_json`)."""
    if request.offline:
        raise UsageError("advise reads the records beside the caches: it cannot run --offline")
    plan = assemble(config, request)
    found, notes = advise_plan(plan)
    if as_json:
        print_json({"advice": [a.to_json() for a in found], "notes": notes})
        return found
    from buildcache.ui.tables import print_advice

    print_advice(make_console(), found, notes)
    return found
