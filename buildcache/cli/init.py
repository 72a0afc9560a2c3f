"""`buildcache init`: a starter buildcache.toml from the repository's workflow or Dockerfile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
    workflow: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="WORKFLOW",
            help="A GitHub workflow that builds with docker/build-push-action: its matrix, build "
            "args, tags (metadata-action's, or those a shell step computes) and cache become the "
            "config, and its build steps are replaced by buildcache's in place (default: the "
            "first such workflow in .github/workflows, else the Dockerfile is read).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="With --from: print the workflow's diff and the config; write nothing.",
        ),
    ] = False,
) -> None:
    """Write a starter buildcache.toml at the repository's root, from its workflow or Dockerfile;
    print the make targets and the workflow that runs it."""
    from buildcache.commands.init import init as command

    platforms = list(platform or ["linux/amd64", "linux/arm64"])
    command(
        images=list(image or []),
        dockerfile=dockerfile,
        platforms=platforms,
        force=force,
        workflow=workflow,
        dry_run=dry_run,
    )
