"""`buildcache cache ls|prune`: the registry cache between builds; `buildcache advise`: what
would make it pay, from the records beside the caches."""

from __future__ import annotations

from typing import Annotated

import typer

from buildcache.cli.options import ConfigOption, JsonOption, with_plan_request
from buildcache.commands.plan import read_config, with_bake_file
from buildcache.core.plan.request import PlanRequest
from buildcache.ui.console import make_console

app = typer.Typer(
    help="Inspect and clean up the registry cache between builds.", no_args_is_help=True
)


@app.command("ls")
def cache_ls(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every variant's cache ref: present or not, platforms, size, when it was written."""
    from buildcache.commands import cache

    cache.ls(with_bake_file(read_config(config)), as_json=as_json, console=make_console())


@app.command("prune")
def cache_prune(
    tags: Annotated[
        list[str] | None,
        typer.Argument(
            help="Orphan cache tags to delete although no record says this project wrote them.",
            show_default=False,
            metavar="[TAG...]",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking (for CI).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete the cache tags of this project's variants that are no longer in the config.

    A cache another project wrote (its record says so) is kept; one without a record is deleted
    only when named: buildcache cache prune buildcache-old
    """
    from buildcache.commands import cache

    cache.prune(
        with_bake_file(read_config(config)),
        yes=yes,
        dry_run=dry_run,
        console=make_console(),
        named=tags or (),
        as_json=as_json,
    )


@with_plan_request
def advise(request: PlanRequest, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Advice on the Dockerfile for the last build, measured by its cache's record."""
    from buildcache.commands.advise import advise as command

    command(read_config(config), request, as_json=as_json)
