"""`buildcache build`: the variants in one docker buildx bake, with a registry cache per variant,
pushed to every registry."""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from platform import machine
from typing import TYPE_CHECKING, Annotated, cast

import typer

from buildcache.ci.providers import sink
from buildcache.cli.options import ConfigOption, JsonOption, ProgressChoice, with_plan_request
from buildcache.commands.plan import assemble, read_config
from buildcache.core.plan.request import PlanRequest
from buildcache.core.platforms import PlatformError, normal_platform

if TYPE_CHECKING:
    from buildcache.ui.live import ProgressMode


def host_platform() -> str | None:
    """The platform of this machine's engine, as BuildKit names it (Docker Desktop runs a Linux
    engine on a Mac too); None where the machine's architecture is not one BuildKit knows."""
    try:
        return normal_platform(f"linux/{machine()}")
    except PlatformError:
        return None


@with_plan_request
def build(
    request: PlanRequest,
    push: Annotated[
        bool, typer.Option("--push", help="Push every tag to every registry, and write the cache.")
    ] = False,
    load: Annotated[
        bool,
        typer.Option(
            "--load",
            help="Load the build into the local image store (the host's platform, unless "
            "--platform says another).",
        ),
    ] = False,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform",
            metavar="PLATFORM",
            help="Build only these of the configured platforms; repeatable.",
        ),
    ] = None,
    cache_write: Annotated[
        bool | None,
        typer.Option(
            "--cache-write/--no-cache-write",
            help="Write the registry cache (default: only with --push).",
            show_default=False,
        ),
    ] = None,
    push_by_digest: Annotated[
        bool, typer.Option("--push-by-digest", help="Push one platform by digest, for merge.")
    ] = False,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            metavar="type=...",
            help="buildx's --output (build-push-action's outputs): type=registry or "
            "type=image,push=true pushes (with push-by-digest=true one platform by digest, for "
            "merge), type=docker loads, type=local|tar|oci,dest=PATH writes the image as files.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the bake file and the docker buildx bake command; run nothing."
        ),
    ] = False,
    progress: Annotated[
        ProgressChoice,
        typer.Option(
            "--progress", help="auto (live on a terminal, plain otherwise), tty, plain or quiet."
        ),
    ] = ProgressChoice.auto,
    min_cache_hit: Annotated[
        float | None,
        typer.Option(
            "--min-cache-hit",
            metavar="RATIO",
            min=0.0,
            max=1.0,
            help="Exit 1 when fewer than this share of steps came from the cache.",
        ),
    ] = None,
    keep_going: Annotated[
        bool | None,
        typer.Option(
            "--keep-going/--no-keep-going",
            help="When a variant fails, publish the others (and exit 1). Default: [build] keep-going.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Rebuild and replace a release version published before."),
    ] = False,
    raw_log: Annotated[
        Path | None,
        typer.Option(
            "--raw-log",
            metavar="FILE",
            help="Also write BuildKit's raw progress (rawjson) to this file, for a bug report.",
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build the variants in one docker buildx bake, with a registry cache per variant."""
    from buildcache.commands import build as command
    from buildcache.core.output import check_names, combined, parse_output

    given = parse_output(output, Path.cwd()) if output else None
    wanted = combined(given, push=push, load=load, push_by_digest=push_by_digest)
    loaded = read_config(config)
    check_names(wanted, loaded.images)
    pushes = wanted.push or wanted.push_by_digest
    request = dataclasses.replace(
        request,
        platforms=tuple(platform or ()),
        push=wanted.push,
        load=wanted.load,
        host_platform=host_platform() if wanted.load else None,
        cache_write=cache_write,
        push_by_digest=wanted.push_by_digest,
        export=wanted.export,
        staging=pushes and command.cannot_push_untagged(loaded),
        run_id=secrets.token_hex(4),
    )
    resolved = assemble(loaded, request)
    if dry_run:
        command.dry_run(resolved)
        return
    options = command.BuildOptions(
        progress=cast("ProgressMode", progress.value),
        raw_log=raw_log,
        min_cache_hit=min_cache_hit,
        as_json=as_json,
        keep_going=keep_going,
        force=force,
    )
    command.build(loaded, resolved, options, sink(os.environ))
