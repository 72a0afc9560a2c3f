"""The command line: parse options, then config -> plan -> run -> report; errors -> exit codes.

Every command is a thin typer function that hands off to plain functions. Errors are caught once,
in `main`, and printed as sentences with their exit code (errors.py); a traceback only with
--debug.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from buildcache import __version__, github
from buildcache.config import Config, load_config
from buildcache.errors import BuildcacheError, BuildFailed, EnvironmentProblem, ExitCode, UsageError
from buildcache.output import ProgressMode, make_console, print_plan

if TYPE_CHECKING:
    from buildcache.publish import RetryPolicy
from buildcache.plan import TAG_SOURCES, BuildPlan, make_plan, resolve_version

app = typer.Typer(
    name="buildcache",
    help="Multi-architecture docker buildx builds of image variants, with a registry cache per variant, "
    "pushed to every registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state: dict[str, Any] = {"debug": False}


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: ./buildcache.toml, else [tool.buildcache] in ./pyproject.toml).",
    ),
]
VariantsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[VARIANT]...", help="Variants to build (default: all).", show_default=False
    ),
]
VersionOption = Annotated[
    str | None,
    typer.Option(
        "--version",
        "-V",
        help="Version tag (default: BUILDCACHE_VERSION, the CI tag, the git tag at HEAD).",
    ),
]
NoLatestOption = Annotated[
    bool,
    typer.Option(
        "--no-latest", help="Leave out the moving tags: 'latest' and each variant's bare name."
    ),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="Another tag (T, and T-x for variant x); repeatable."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]
CacheOption = Annotated[
    str,
    typer.Option(
        "--cache",
        help="Registry cache: rw, ro (read only), off, or auto (write from the default branch, "
        "release tags and local --push runs; read elsewhere).",
    ),
]


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
    _state["debug"] = debug


def _load(config_path: Path | None) -> Config:
    return load_config(Path.cwd(), os.environ, config_path)


def _plan(
    config: Config,
    *,
    variants: list[str] | None,
    version: str | None,
    no_latest: bool,
    tags: list[str] | None,
    cache: str = "auto",
    cache_write: bool | None = None,
    push: bool = False,
    **options: Any,
) -> BuildPlan:
    from buildcache import git
    from buildcache.ci import cache_policy, run_context

    if cache not in ("auto", "rw", "ro", "off"):
        raise UsageError(f"--cache must be auto, rw, ro or off, not {cache!r}")
    if cache_write is not None:
        if cache != "auto":
            raise UsageError("give --cache or --cache-write/--no-cache-write, not both")
        cache = "rw" if cache_write else "ro"
    cwd = Path.cwd()
    context = run_context(os.environ, git.facts(cwd))
    git_tag = None if version or os.environ.get("BUILDCACHE_VERSION") else git.exact_tag(cwd)
    resolved, source = resolve_version(flag=version, env=os.environ, git_tag=git_tag)
    policy = cache_policy(
        cache,  # type: ignore[arg-type]
        push=push or bool(options.get("push_by_digest")),
        context=context,
        release=source in TAG_SOURCES,
    )
    notes = []
    if context.fork and push:
        # Say so, rather than fail on the registry's permission error.
        push = False
        notes.append(
            "a pull request from a fork has no token to push with: building without pushing"
        )
    built = make_plan(
        config,
        selected=variants or [],
        version=resolved,
        version_source=source,
        latest=not no_latest,
        extra_tags=tags or [],
        push=push,
        cache_policy=policy,
        sha=context.sha,
        **options,
    )
    return dataclasses.replace(built, notes=(*notes, *built.notes))


def _print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


@app.command()
def plan(
    variants: VariantsArgument = None,
    version: VersionOption = None,
    no_latest: NoLatestOption = False,
    tag: TagOption = None,
    cache: CacheOption = "auto",
    push: Annotated[
        bool, typer.Option("--push", help="Plan a build that pushes (as build --push).")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show where each setting came from.")
    ] = False,
) -> None:
    """Resolve the variants into a build plan and show it, without running anything."""
    loaded = _load(config)
    resolved = _plan(
        loaded,
        variants=variants,
        version=version,
        no_latest=no_latest,
        tags=tag,
        cache=cache,
        push=push,
    )
    if as_json:
        _print_json(resolved.to_json())
        return
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
            "--platform", help="Build only these of the configured platforms; repeatable."
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
    cache: CacheOption = "auto",
    push_by_digest: Annotated[
        bool,
        typer.Option(
            "--push-by-digest",
            help="Push this platform's image untagged, by digest, for `buildcache merge` (one platform per runner).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the bake file and the docker buildx bake command; run nothing."
        ),
    ] = False,
    progress: Annotated[
        str,
        typer.Option(
            "--progress", help="auto (live on a terminal, plain otherwise), tty, plain or quiet."
        ),
    ] = "auto",
    min_cache_hit: Annotated[
        float | None,
        typer.Option(
            "--min-cache-hit",
            min=0.0,
            max=1.0,
            help="Exit 1 when fewer than this share of steps came from the cache.",
        ),
    ] = None,
    raw_log: Annotated[
        Path | None,
        typer.Option(
            "--raw-log",
            help="Also write BuildKit's raw progress (rawjson) to this file, for a bug report.",
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build the variants in one docker buildx bake, with a registry cache per variant."""
    if progress not in ("auto", "tty", "plain", "quiet"):
        raise UsageError(f"--progress must be auto, tty, plain or quiet, not {progress!r}")
    loaded = _load(config)
    resolved = _plan(
        loaded,
        variants=variants,
        version=version,
        no_latest=no_latest,
        tags=tag,
        platforms=platform or [],
        push=push,
        load=load,
        cache=cache,
        cache_write=cache_write,
        push_by_digest=push_by_digest,
        staging=push_by_digest and _cannot_push_untagged(loaded),
    )
    if dry_run:
        _dry_run(resolved)
        return
    from buildcache.build import print_report, run_build

    mode: ProgressMode = progress  # type: ignore[assignment]
    console = make_console(
        plain=mode == "plain" or (mode == "auto" and not Console(stderr=True).is_terminal)
    )
    for note in resolved.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    in_actions = github.active(os.environ)
    names = ", ".join(v.name for v in resolved.variants)
    if in_actions:
        _workflow([github.group_start(f"docker buildx bake: {names}")])
    try:
        result = run_build(
            resolved,
            console=console,
            progress=mode,
            raw_log=raw_log,
            policy=_retry_policy(loaded),
            builder=loaded.builder_name,
        )
    finally:
        if in_actions:
            _workflow([github.GROUP_END])
    if in_actions:
        _workflow(github.variant_groups(result.steps, [v.name for v in resolved.variants]))
    print_report(console, result)
    data = result.to_json()
    if as_json:
        _print_json(data)
    if in_actions:
        if os.environ.get("GITHUB_OUTPUT"):
            github.write_outputs(Path(os.environ["GITHUB_OUTPUT"]), data)
        if os.environ.get("GITHUB_STEP_SUMMARY"):
            github.write_summary(Path(os.environ["GITHUB_STEP_SUMMARY"]), data)
    if result.error is not None:
        raise result.error
    if min_cache_hit is not None:
        low = [r for r in result.reports.values() if r.hit_ratio < min_cache_hit]
        if low:
            raise BuildFailed(
                "too few steps came from the cache: "
                + "; ".join(f"{r.variant} {r.cached}/{r.total} ({r.hit_ratio:.0%})" for r in low)
                + f", below --min-cache-hit {min_cache_hit:g}"
            )
    pushed = sum(1 for r in result.published if r.status == "done")
    summary = f"built {len(resolved.variants)} variant(s)"
    if pushed:
        summary += f", pushed {pushed} tag(s)"
    elif resolved.push_by_digest:
        summary += ", pushed by digest (buildcache merge tags them)"
    console.print(Text(summary, style="bold green"))


@app.command()
def login(config: ConfigOption = None) -> None:
    """Log in to every registry of the config, with credentials from the environment."""
    from buildcache import engine
    from buildcache.errors import BuildFailed
    from buildcache.login import login_targets

    loaded = _load(config)
    console = make_console()
    client = engine.make_client()
    engine.require_docker_command(client)
    rejected = []
    for target in login_targets(loaded, os.environ):
        credentials = target.credentials()
        if credentials is None:
            console.print(
                Text(
                    f"skip   {target.registry}: no credentials; set {target.missing}",
                    style="yellow",
                )
            )
            continue
        reason = engine.login(client, target.registry, *credentials)
        if reason is None:
            console.print(
                Text(
                    f"login  {target.registry} as {target.username} (from {target.source})",
                    style="green",
                )
            )
        else:
            console.print(Text(f"failed {target.registry}: {reason}", style="red"))
            rejected.append(target.registry)
    if rejected:
        raise BuildFailed(
            f"the login to {', '.join(rejected)} was rejected",
            hint="check the username and that the token may push there",
        )


@app.command()
def init(
    image: Annotated[
        list[str] | None,
        typer.Option(
            "--image",
            "-i",
            help="An image to publish, one per registry; repeatable (asked for when absent).",
        ),
    ] = None,
    dockerfile: Annotated[
        Path, typer.Option("--dockerfile", "-f", help="The Dockerfile to read.")
    ] = Path("Dockerfile"),
    platform: Annotated[
        list[str] | None,
        typer.Option("--platform", help="Platforms (default: linux/amd64 and linux/arm64)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing buildcache.toml.")
    ] = False,
) -> None:
    """Write a starter buildcache.toml for the repository here, from its Dockerfile."""
    from buildcache.config import CONFIG_FILE, parse_config
    from buildcache.init import CI_STEP, MAKE_TARGET, read_dockerfile, starter_config

    console = make_console()
    target = Path.cwd() / CONFIG_FILE
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", hint="add --force to overwrite it")
    if not dockerfile.is_file():
        raise UsageError(
            f"there is no {dockerfile} here", hint="give the Dockerfile with --dockerfile PATH"
        )
    images = list(image or [])
    if not images:
        if not sys.stdin.isatty():
            raise UsageError(
                "no image names", hint="give them with --image, e.g. --image ghcr.io/acme/widget"
            )
        answer = typer.prompt("Images to publish, one per registry (comma-separated)", err=True)
        images = [part.strip() for part in answer.split(",") if part.strip()]
    text = starter_config(
        images=images,
        dockerfile_name=str(dockerfile),
        dockerfile=read_dockerfile(dockerfile.read_text(encoding="utf-8")),
        platforms=list(platform or ["linux/amd64", "linux/arm64"]),
    )
    import tomllib

    # the config written must be one buildcache accepts: check it as `build` would
    parse_config(tomllib.loads(text), {}, path=target, root=target.parent)
    target.write_text(text, encoding="utf-8")
    console.print(Text(f"wrote {target}", style="green"))
    console.print("\nAdd to your Makefile:\n")
    console.print(MAKE_TARGET, markup=False, highlight=False)
    console.print("Add to your release workflow (GitHub Actions):\n")
    console.print(CI_STEP, markup=False, highlight=False)


@app.command()
def doctor(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Check the docker client, daemon, buildx, builder, platforms, credentials and config."""
    from buildcache.doctor import healthy, run_checks

    checks = run_checks(lambda: _load(config))
    if as_json:
        _print_json({"healthy": healthy(checks), "checks": [dataclasses.asdict(c) for c in checks]})
    console = make_console()
    table = Table(title="buildcache doctor", title_justify="left", header_style="bold")
    table.add_column("check")
    table.add_column("", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    style = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    for check in checks:
        table.add_row(
            check.name, Text(check.status, style=style[check.status]), check.detail, check.fix or ""
        )
    console.print(table)
    if not healthy(checks):
        raise BuildFailed(
            "something here would make the build fail (the rows marked fail say what, and the fix)"
        )


builder_app = typer.Typer(
    help="Create or remove the buildx builder that builds run on.", no_args_is_help=True
)
app.add_typer(builder_app, name="builder")


@builder_app.command("up")
def builder_up(config: ConfigOption = None) -> None:
    """Create (or re-create) the [builder] of the config, with a node per machine, and boot it.

    Without [builder], where the engine's own builder cannot export a registry cache (the docker
    driver without the containerd image store), create a docker-container builder and use it.
    """
    from buildcache import engine
    from buildcache.builder import auto_builder, buildkit_image, create_calls

    loaded = _load(config)
    console = make_console()
    client = engine.make_client()
    engine.require_docker_command(client)
    target, use = loaded.builder, False
    if target is None or target.driver == "docker":
        info = engine.inspect_engine(client)
        if info.can_export_cache:
            console.print(
                f"the builder '{info.builder}' (driver {info.driver}) can already export a registry cache; "
                "nothing to create"
            )
            _warn_platforms(console, loaded, info.platforms)
            return
        if target is not None:
            raise EnvironmentProblem(
                "[builder] asks for the docker driver, but this engine has no containerd image store, "
                "so it cannot export a registry cache",
                hint='use driver = "docker-container", or turn on the containerd image store',
            )
        target, use = auto_builder(), True
        console.print(
            f"the builder '{info.builder}' cannot export a registry cache (docker driver without the "
            f"containerd image store): creating the docker-container builder '{target.name}' and using it"
        )
    if engine.builder_exists(client, target.name):
        console.print(f"re-creating the builder '{target.name}' from the config")
        engine.remove_builder(client, target.name)
    info = engine.create_builder(
        client, create_calls(target, use=use), image=buildkit_image(target)
    )
    console.print(
        Text(
            f"the builder '{info.builder}' is up: driver {info.driver}, platforms {', '.join(info.platforms)}",
            style="green",
        )
    )
    _warn_platforms(console, loaded, info.platforms)


def _warn_platforms(console: Console, config: Config, available: tuple[str, ...]) -> None:
    wanted = {p for v in config.variants for p in (v.platforms or config.platforms)}
    missing = sorted(
        p for p in wanted if not any(a == p or a.startswith(p + "/") for a in available)
    )
    if missing:
        console.print(
            Text(
                f"warning: it cannot build {', '.join(missing)}, which the config asks for",
                style="yellow",
            )
        )


@builder_app.command("down")
def builder_down(config: ConfigOption = None) -> None:
    """Remove the builder that `builder up` created."""
    from buildcache import engine
    from buildcache.builder import AUTO_BUILDER

    loaded = _load(config)
    name = loaded.builder.name if loaded.builder else AUTO_BUILDER
    client = engine.make_client()
    engine.require_docker_command(client)
    console = make_console()
    if engine.remove_builder(client, name):
        console.print(f"removed the builder '{name}'")
    else:
        console.print(f"there is no builder '{name}'; nothing to remove")


@app.command()
def merge(
    results: Annotated[
        list[Path],
        typer.Argument(help="The --json results of `build --push-by-digest`, one per runner."),
    ],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Merge per-platform builds into one tagged multi-platform index on every registry."""
    from buildcache import engine
    from buildcache.build import print_publish
    from buildcache.merge import merge as merge_results
    from buildcache.merge import read_results
    from buildcache.publish import Publisher, RetryPolicy
    from buildcache.registry import RegistryClient

    merged = read_results(results)
    loaded = _load_optional(config)
    console = make_console()
    client = engine.make_client()
    engine.require_docker_command(client)

    def digest_of(image: str, tag: str) -> str:
        host, repo = image.split("/", 1)
        with RegistryClient(host) as registry:
            manifest = registry.manifest(repo, tag)
        if manifest is None or not manifest.digest:
            raise BuildFailed(f"{image}:{tag} was made but cannot be read back")
        return manifest.digest

    publisher = Publisher(
        copy=lambda sources, targets: engine.copy_image(client, list(sources), list(targets)),
        policy=_retry_policy(loaded) if loaded else RetryPolicy(),
        sleep=time.sleep,
        on_event=lambda message: console.print(Text(f"retry: {message}", style="yellow")),
    )
    published = merge_results(merged, publisher, digest_of)
    print_publish(console, published)
    if as_json:
        _print_json(
            {
                "version": merged.version,
                "variants": [
                    {
                        "name": v.name,
                        "platforms": merged.platforms[v.name],
                        "sources": merged.sources[v.name],
                        "publish": [r.to_json() for r in published if r.variant == v.name],
                    }
                    for v in merged.variants
                ],
            }
        )
    if any(r.status != "done" for r in published):
        raise BuildFailed(
            "not every tag was published (the table above says which)",
            hint="run the same merge again: it copies by digest what is missing",
        )
    console.print(
        Text(
            f"merged {len(merged.variants)} variant(s) for {', '.join(sorted({p for ps in merged.platforms.values() for p in ps}))}",
            style="bold green",
        )
    )


def _cannot_push_untagged(config: Config) -> bool:
    """buildx's docker driver refuses push-by-digest ("not implemented for docker driver")."""
    from buildcache import engine

    client = engine.make_client()
    engine.require_docker_command(client)
    return engine.inspect_builder(client, config.builder_name).driver == "docker"


def _load_optional(config_path: Path | None) -> Config | None:
    """The config where there is one: merge needs only its [publish] settings."""
    try:
        return _load(config_path)
    except BuildcacheError:
        if config_path is not None:
            raise
        return None


cache_app = typer.Typer(
    help="Inspect and clean up the registry cache between builds.", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")


@cache_app.command("ls")
def cache_ls(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every variant's cache ref: present or not, platforms, size, when it was written."""
    from buildcache import engine
    from buildcache.cache import list_cache
    from buildcache.output import cache_entries_table

    loaded = _load(config)
    client = engine.make_client()
    entries, orphans = list_cache(
        loaded, platform_layers=lambda ref: engine.platform_top_layers(client, ref)
    )
    if as_json:
        _print_json(
            {
                "cache_image": loaded.cache_image,
                "refs": [e.to_json() for e in entries],
                "orphans": [e.to_json() for e in orphans],
            }
        )
        return
    console = make_console()
    console.print(cache_entries_table(entries, orphans))
    if orphans:
        console.print(
            Text(
                f"{len(orphans)} cache tag(s) belong to no variant of the config; "
                "'buildcache cache prune' deletes them",
                style="yellow",
            )
        )


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
    from buildcache.cache import delete_tags, list_cache, prune_targets

    loaded = _load(config)
    console = make_console()
    entries, orphans = list_cache(loaded, platform_layers=lambda ref: None)
    targets = prune_targets(orphans, entries)
    if not targets:
        console.print(
            f"nothing to prune: every cache tag in {loaded.cache_image} belongs to a variant"
        )
        return
    for target in targets:
        if target.skipped:
            console.print(
                Text(f"keep   {loaded.cache_image}:{target.tag} ({target.skipped})", style="dim")
            )
        else:
            console.print(f"delete {loaded.cache_image}:{target.tag}")
    doomed = [t for t in targets if t.skipped is None]
    if dry_run or not doomed:
        console.print("(dry run: nothing deleted)" if dry_run else "nothing to delete")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "not deleting without a terminal to ask on",
                hint="add --yes to delete without asking",
            )
        if not typer.confirm(f"Delete {len(doomed)} cache tag(s)?", default=False, err=True):
            console.print("nothing deleted")
            return
    deleted = delete_tags(loaded, targets)
    console.print(Text(f"deleted {len(deleted)} cache tag(s)", style="green"))


def _workflow(lines: list[str]) -> None:
    """GitHub workflow commands, unwrapped, on stderr (stdout is for --json)."""
    sys.stderr.write("".join(f"{line}\n" for line in lines))
    sys.stderr.flush()


def _dry_run(plan: BuildPlan) -> None:
    from buildcache.bake import bake_command, bake_file_text, command_text

    path = Path("docker-bake.json")
    sys.stdout.write(f"# {path} (buildcache writes it to a temporary folder)\n")
    sys.stdout.write(bake_file_text(plan))
    sys.stdout.write("# the command\n")
    sys.stdout.write(command_text(bake_command(path, Path("metadata.json"), "rawjson")) + "\n")
    if plan.push:
        from buildcache.publish import publish_steps

        sources = {
            v.name: [f"{v.push_tags[0].rpartition(':')[0]}@<digest of {v.name}>"]
            for v in plan.variants
        }
        sys.stdout.write("# then, by digest, version tags before moving ones\n")
        for step in publish_steps(plan.variants, sources, first_done=True):
            targets = [f"{step.image}:{tag}" for tag in step.tags]
            command = ["docker", "buildx", "imagetools", "create"]
            command += [arg for target in targets for arg in ("--tag", target)] + list(step.sources)
            sys.stdout.write(command_text(command) + "\n")


def _retry_policy(config: Config) -> RetryPolicy:
    from buildcache.publish import RetryPolicy

    return RetryPolicy(attempts=config.publish.retries + 1, backoff=config.publish.backoff)


def _report_error(console: Console, error: BuildcacheError) -> None:
    if github.active(os.environ):
        _workflow([github.error_command(error.message)])
    console.print(Text.assemble(("error: ", "bold red"), error.message))
    if error.hint:
        console.print(Text.assemble(("hint: ", "cyan"), error.hint))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """The console script: run the app, turn every error into a sentence and an exit code."""
    console = make_console()
    # A cancelled CI job gets SIGTERM: stop as on Ctrl-C, with a word and exit code 130.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        # Outside standalone mode typer turns Ctrl-C and typer.Exit into a returned exit code
        # (130 for Ctrl-C) instead of raising: that code is ours to exit with.
        code = app(args=argv, standalone_mode=False, prog_name="buildcache")
        if code == ExitCode.INTERRUPTED:
            console.print(Text("interrupted", style="yellow"))
        if isinstance(code, int) and code:
            sys.exit(code)
    except BuildcacheError as error:
        if _state["debug"]:
            console.print_exception()
        _report_error(console, error)
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.TyperException as error:
        # typer's own usage errors (unknown option, bad value)
        console.print(Text.assemble(("error: ", "bold red"), error.format_message()))
        sys.exit(ExitCode.USAGE)
    except (KeyboardInterrupt, typer.Abort):
        console.print(Text("interrupted", style="yellow"))
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as error:
        if _state["debug"]:
            console.print_exception()
        else:
            console.print(
                Text.assemble(
                    ("internal error: ", "bold red"),
                    f"{type(error).__name__}: {error}. This is a bug in buildcache; rerun with --debug and report it.",
                )
            )
        sys.exit(ExitCode.INTERNAL)
    sys.exit(ExitCode.OK)
