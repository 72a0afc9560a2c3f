"""The command line: parse the options, load the config, plan, hand off; errors -> exit codes.

Every command is a thin typer function that hands off to a plain function in commands/ (the rules
of a plan are core/plan.py's). Errors are caught once, in `main`, and printed as sentences with
their exit code (errors.py); a traceback only with --debug.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from buildcache import __version__
from buildcache.cli.admin import read_config, register, with_bake_file
from buildcache.cli.options import (
    BakeFileOption,
    BuildArgOption,
    BuildContextOption,
    CacheChoice,
    CacheOption,
    ConfigOption,
    JsonOption,
    NoCacheOption,
    NoLatestOption,
    OfflineOption,
    ProgressChoice,
    ProvenanceOption,
    PullOption,
    RefreshBaseOption,
    SbomOption,
    SecretOption,
    SetOption,
    SshOption,
    TagOption,
    VariantsArgument,
    VersionOption,
    run_inputs,
)
from buildcache.core.config.model import Config
from buildcache.core.plan.make import plan_run
from buildcache.core.plan.model import BuildPlan
from buildcache.ui.ci_sink import ci_sink
from buildcache.ui.console import make_console, print_json

if TYPE_CHECKING:
    from buildcache.ui.live import ProgressMode

app = typer.Typer(
    name="buildcache",
    help="Multi-architecture docker buildx builds of image variants, with a registry cache per variant, "
    "pushed to every registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# --debug, read by main.py's error handler
state: dict[str, Any] = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        print(f"buildcache {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--tool-version",
            callback=_version_callback,
            is_eager=True,
            help="Print buildcache's version.",
        ),
    ] = False,
) -> None:
    state["debug"] = debug


def _plan(
    config: Config,
    *,
    offline: bool,
    refresh_base: bool,
    bake_file: Path | None,
    sets: list[str] | None,
    **options: Any,
) -> BuildPlan:
    from buildcache import git

    cwd = Path.cwd()
    config, notes = with_bake_file(config, bake_file, sets or ())
    planned = plan_run(
        config,
        env=os.environ,
        git=git.facts(cwd),
        known_versions=lambda: git.tags(cwd),
        exists=Path.exists,
        read_text=_read_text,
        cwd=cwd,
        **options,
    )
    planned = dataclasses.replace(planned, notes=(*notes, *planned.notes))
    if offline:
        return planned
    from buildcache.registry import bases

    return bases.attach(
        planned,
        refresh=config.base.refresh,
        max_age=config.base.max_age,
        refresh_now=refresh_base,
        now=datetime.now(UTC),
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@app.command()
def plan(
    variants: VariantsArgument = None,
    version: VersionOption = None,
    no_latest: NoLatestOption = False,
    tag: TagOption = None,
    cache: CacheOption = CacheChoice.auto,
    push: Annotated[
        bool, typer.Option("--push", help="Plan a build that pushes (as build --push).")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show where each setting came from.")
    ] = False,
    bake_file: BakeFileOption = None,
    set_: SetOption = None,
    build_arg: BuildArgOption = None,
    secret: SecretOption = None,
    ssh: SshOption = None,
    build_context: BuildContextOption = None,
    provenance: ProvenanceOption = None,
    sbom: SbomOption = None,
    no_cache: NoCacheOption = False,
    pull: PullOption = False,
    refresh_base: RefreshBaseOption = False,
    offline: OfflineOption = False,
) -> None:
    """Resolve the variants into a build plan and show it, without running anything."""
    loaded = read_config(config)
    resolved = _plan(
        loaded,
        variants=variants or (),
        version=version,
        no_latest=no_latest,
        tags=tag or (),
        cache=cache.value,
        push=push,
        offline=offline,
        refresh_base=refresh_base,
        bake_file=bake_file,
        sets=set_,
        inputs=run_inputs(build_arg, secret, ssh, build_context, provenance, sbom, no_cache, pull),
    )
    if as_json:
        print_json(resolved.to_json())
        return
    from buildcache.ui.tables import print_plan

    print_plan(make_console(), resolved, sources=loaded.sources if verbose else None)


@app.command()
def build(
    variants: VariantsArgument = None,
    version: VersionOption = None,
    no_latest: NoLatestOption = False,
    tag: TagOption = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push every tag to every registry, and write the cache.")
    ] = False,
    load: Annotated[
        bool,
        typer.Option("--load", help="Load a single-platform build into the local image store."),
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
    cache: CacheOption = CacheChoice.auto,
    push_by_digest: Annotated[
        bool, typer.Option("--push-by-digest", help="Push one platform by digest, for merge.")
    ] = False,
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
    bake_file: BakeFileOption = None,
    set_: SetOption = None,
    build_arg: BuildArgOption = None,
    secret: SecretOption = None,
    ssh: SshOption = None,
    build_context: BuildContextOption = None,
    provenance: ProvenanceOption = None,
    sbom: SbomOption = None,
    no_cache: NoCacheOption = False,
    pull: PullOption = False,
    refresh_base: RefreshBaseOption = False,
    offline: OfflineOption = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build the variants in one docker buildx bake, with a registry cache per variant."""
    from buildcache.commands import build as command

    loaded = read_config(config)
    resolved = _plan(
        loaded,
        variants=variants or (),
        version=version,
        no_latest=no_latest,
        tags=tag or (),
        platforms=platform or (),
        push=push,
        load=load,
        cache=cache.value,
        cache_write=cache_write,
        push_by_digest=push_by_digest,
        staging=push_by_digest and not dry_run and command.cannot_push_untagged(loaded),
        offline=offline,
        refresh_base=refresh_base,
        bake_file=bake_file,
        sets=set_,
        inputs=run_inputs(build_arg, secret, ssh, build_context, provenance, sbom, no_cache, pull),
    )
    if dry_run:
        command.dry_run(resolved)
        return
    command.build(
        loaded,
        resolved,
        progress=cast("ProgressMode", progress.value),
        raw_log=raw_log,
        min_cache_hit=min_cache_hit,
        as_json=as_json,
        sink=ci_sink(os.environ),
        keep_going=keep_going,
        force=force,
    )


register(app)
