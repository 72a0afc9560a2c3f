"""`buildcache login` and `logout`: docker's credentials for every registry of the config."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from buildcache.cli.options import ConfigOption, JsonOption
from buildcache.commands.plan import read_config
from buildcache.ui.console import make_console


def login(
    config: ConfigOption = None,
    as_json: JsonOption = False,
    keep_existing: Annotated[
        bool,
        typer.Option(
            "--keep-existing",
            help="Leave a registry whose credentials docker's config holds already (another "
            "step's docker login) as it is.",
        ),
    ] = False,
) -> None:
    """Log in to every registry of the config, with credentials from the environment."""
    from buildcache.commands.login import login as command

    command(
        read_config(config),
        os.environ,
        make_console(),
        as_json=as_json,
        keep_existing=keep_existing,
    )


def logout(
    registries: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[REGISTRY]...",
            help="Only these registries of the config (default: all).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Log out of registries of the config: remove docker's stored credentials for them."""
    from buildcache.commands.login import logout as command

    command(read_config(config), make_console(), registries=registries or (), as_json=as_json)
