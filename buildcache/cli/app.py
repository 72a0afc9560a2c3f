"""The command line: typer only. Each command parses its options, makes one typed value of
them and hands off to a plain function in commands/; errors become sentences and exit codes in
cli/main.py, a traceback only with --debug."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Annotated

import typer

from buildcache import __version__

# every command, in the order `--help` lists them; login and logout live in cli/login.py, and
# builder and cache are groups of their own
COMMANDS = (
    "plan", "build", "login", "logout", "init", "doctor", "merge", "builder", "cache", "schema",
    "advise",
)  # fmt: skip
GROUPS = ("builder", "cache")
# a command that lives beside another of its subject: logout with login, advise with the cache
MODULE_OF = {"logout": "login", "advise": "cache"}


@dataclass
class Session:
    """What the root options say about the whole run; main.py makes it and reads it back."""

    debug: bool = False


def _version_callback(value: bool) -> None:
    if value:
        print(f"buildcache {__version__}")
        raise typer.Exit()


def _root(
    context: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            "--tool-version",
            callback=_version_callback,
            is_eager=True,
            help="Print buildcache's version (`build --version` is the image's).",
        ),
    ] = False,
) -> None:
    context.ensure_object(Session).debug = debug


def make_app(command: str | None = None) -> typer.Typer:
    """The app with every command, or only `command` when the run names one: typer reads every
    registered command's signature at start-up, and a command's module imports what it runs
    (~30 ms of a `plan` that registers all nine)."""
    app = typer.Typer(
        name="buildcache",
        help="Multi-architecture docker buildx builds of image variants, with a registry cache "
        "per variant, pushed to every registry.",
        no_args_is_help=True,
        add_completion=True,  # --install-completion for bash, zsh, fish, PowerShell
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings=HELP,
    )
    app.callback()(_root)
    for name in (command,) if command in COMMANDS else COMMANDS:
        module = importlib.import_module(f"buildcache.cli.{MODULE_OF.get(name, name)}")
        if name in GROUPS:
            app.add_typer(module.app, name=name, context_settings=HELP)
        else:
            epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
            app.command(context_settings=HELP, epilog=epilog)(getattr(module, name))
    return app


HELP = {"help_option_names": ["-h", "--help"]}
# shown under each command's --help
EXAMPLES = {
    "plan": (
        "buildcache plan --version 1.2.3        # the tags, cache refs and build args of a release",
        "buildcache plan full --json --offline  # one variant, as JSON, without asking a registry",
    ),
    "build": (
        "buildcache build --push --version 1.2.3  # a release: every variant, every registry",
        "buildcache build slim --load --platform linux/amd64  # one variant into the local store",
        "buildcache build --dry-run --version 1.2.3  # the bake file and commands; nothing runs",
    ),
    "login": ("GITHUB_TOKEN=... GITHUB_ACTOR=me buildcache login  # ghcr.io from the environment",),
    "logout": ("buildcache logout  # forget what login stored",),
    "init": (
        "buildcache init                          # a starter buildcache.toml from the Dockerfile",
        "buildcache init --image ghcr.io/acme/widget --image acme/widget",
    ),
    "doctor": ("buildcache doctor --json  # what a build would need, and what is missing",),
    "schema": ("buildcache schema > buildcache.schema.json  # for taplo or your editor",),
    "merge": (
        "buildcache merge amd64.json arm64.json  # the fan-out's last job: one tagged index",
    ),
    "advise": ("buildcache advise --json  # layer advice for the last build, with its figures",),
}


def command_of(argv: list[str]) -> str | None:
    """The command a command line names: its first word that is not an option (the root
    options take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole app, for the tests and docs that read every command
        return make_app()
    raise AttributeError(name)
