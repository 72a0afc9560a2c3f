"""`buildcache merge`: per-platform builds into one tagged multi-platform index on every registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from buildcache.cli.options import ConfigOption, JsonOption
from buildcache.commands.plan import read_config
from buildcache.ui.console import make_console


def merge(
    results: Annotated[
        list[Path],
        typer.Argument(
            metavar="RESULT.json...",
            help="The --json results of `build --push-by-digest`, one per runner.",
        ),
    ],
    config: ConfigOption = None,
    as_json: JsonOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace a release published before (else it is kept, as it is)."
        ),
    ] = False,
) -> None:
    """Merge per-platform builds into one tagged multi-platform index on every registry."""
    from buildcache.commands.merge import merge as command

    # merge writes only to the config's images: without a config, it refuses to write anywhere
    command(
        results, lambda: read_config(config), as_json=as_json, console=make_console(), force=force
    )
