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
COMMANDS = ("plan", "build", "login", "logout", "init", "doctor", "merge", "builder", "cache")
GROUPS = ("builder", "cache")


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
            "--tool-version",
            callback=_version_callback,
            is_eager=True,
            help="Print buildcache's version.",
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
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    for name in (command,) if command in COMMANDS else COMMANDS:
        module = importlib.import_module(f"buildcache.cli.{'login' if name == 'logout' else name}")
        if name in GROUPS:
            app.add_typer(module.app, name=name)
        else:
            app.command()(getattr(module, name))
    return app


def command_of(argv: list[str]) -> str | None:
    """The command a command line names: its first word that is not an option (the root
    options take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole app, for the tests and docs that read every command
        return make_app()
    raise AttributeError(name)
