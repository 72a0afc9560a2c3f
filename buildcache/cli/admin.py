"""The commands around a build: login and logout, init, doctor, the builder, merge, and the
cache's ls and prune. Each is a thin typer function that hands off to commands/; cli.py
registers them on the app.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from buildcache.cli.options import ConfigOption, JsonOption
from buildcache.core.config.load import load_config
from buildcache.core.config.model import Config
from buildcache.errors import UsageError
from buildcache.ui.console import make_console


def read_config(config_path: Path | None) -> Config:
    return load_config(Path.cwd(), os.environ, config_path)


def with_bake_file(
    config: Config, bake_file: Path | None = None, sets: Sequence[str] = ()
) -> tuple[Config, list[str]]:
    """The config whose variants are a bake file's targets (core/bakefile.py), read by buildx:
    `cache ls` and `prune` must know them as well as `build` (or prune takes their caches for
    orphans)."""
    bake_file = bake_file or config.bake_file
    if bake_file is None:
        if sets:
            raise UsageError("--set overrides a bake file's targets: give --bake-file or bake-file")
        return config, []
    from buildcache.core.config.bakefile import bake_variants, parse_sets
    from buildcache.docker import engine

    overrides = parse_sets(sets)
    definition = engine.bake_print(engine.make_client(), bake_file, config.bake_targets, overrides)
    return bake_variants(config, definition, config.bake_targets, Path.cwd())


def login(config: ConfigOption = None) -> None:
    """Log in to every registry of the config, with credentials from the environment."""
    from buildcache.commands.login import login as command

    command(read_config(config), os.environ, make_console())


def logout(config: ConfigOption = None) -> None:
    """Log out of every registry of the config: remove docker's stored credentials for them."""
    from buildcache.commands.login import logout as command

    command(read_config(config), make_console())


def init(
    image: Annotated[
        list[str] | None,
        typer.Option(
            "--image",
            "-i",
            metavar="NAME",
            help="An image to publish, one per registry; repeatable (asked for when absent).",
        ),
    ] = None,
    dockerfile: Annotated[
        Path | None,
        typer.Option("--dockerfile", "-f", metavar="PATH", help="The Dockerfile (default: found)."),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform",
            metavar="PLATFORM",
            help="Platforms (default: linux/amd64 and linux/arm64); repeatable.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing buildcache.toml.")
    ] = False,
) -> None:
    """Write a starter buildcache.toml for the repository here, from its Dockerfile."""
    from buildcache.commands.init import init as command

    platforms = list(platform or ["linux/amd64", "linux/arm64"])
    command(images=list(image or []), dockerfile=dockerfile, platforms=platforms, force=force)


def doctor(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Check the docker client, daemon, buildx, builder, platforms, credentials and config."""
    from buildcache.commands.doctor import doctor as command

    command(lambda: read_config(config), as_json=as_json, console=make_console())


builder_app = typer.Typer(
    help="Create or remove the buildx builder that builds run on.", no_args_is_help=True
)


@builder_app.command("up")
def builder_up(config: ConfigOption = None) -> None:
    """Create (or re-create) the [builder] of the config and boot it (README: builder up)."""
    from buildcache.commands import builder

    builder.up(read_config(config), make_console())


@builder_app.command("down")
def builder_down(config: ConfigOption = None) -> None:
    """Remove the builder that `builder up` created."""
    from buildcache.commands import builder

    builder.down(read_config(config), make_console())


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
) -> None:
    """Merge per-platform builds into one tagged multi-platform index on every registry."""
    from buildcache.commands.merge import merge as command

    # merge needs only the config's [publish] settings: without a config, their defaults
    command(
        results,
        lambda: read_config(config),
        as_json=as_json,
        console=make_console(),
        explicit_config=config is not None,
    )


cache_app = typer.Typer(
    help="Inspect and clean up the registry cache between builds.", no_args_is_help=True
)


@cache_app.command("ls")
def cache_ls(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every variant's cache ref: present or not, platforms, size, when it was written."""
    from buildcache.commands import cache

    cache.ls(with_bake_file(read_config(config))[0], as_json=as_json, console=make_console())


@cache_app.command("prune")
def cache_prune(
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking (for CI).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Delete the cache tags of variants that are no longer in the config."""
    from buildcache.commands import cache

    cache.prune(
        with_bake_file(read_config(config))[0], yes=yes, dry_run=dry_run, console=make_console()
    )


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(logout)
    app.command()(init)
    app.command()(doctor)
    app.command()(merge)
    app.add_typer(builder_app, name="builder")
    app.add_typer(cache_app, name="cache")
