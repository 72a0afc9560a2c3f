"""`buildcache builder up|down`: the buildx builder that builds run on."""

from __future__ import annotations

import typer

from buildcache.cli.options import ConfigOption
from buildcache.commands.plan import read_config
from buildcache.ui.console import make_console

app = typer.Typer(
    help="Create or remove the buildx builder that builds run on.", no_args_is_help=True
)


@app.command("up")
def builder_up(config: ConfigOption = None) -> None:
    """Create (or re-create) the [builder] of the config and boot it (docs/commands.md: builder up)."""
    from buildcache.commands import builder

    builder.up(read_config(config), make_console())


@app.command("down")
def builder_down(config: ConfigOption = None) -> None:
    """Remove the builder that `builder up` created."""
    from buildcache.commands import builder

    builder.down(read_config(config), make_console())
