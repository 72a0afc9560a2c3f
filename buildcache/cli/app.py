"""The command line: typer only. Each command parses its options, makes one typed value of
them and hands off to a plain function in commands/; errors become sentences and exit codes in
cli/main.py, a traceback only with --debug."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from buildcache import __version__
from buildcache.cli import build, builder, cache, doctor, init, login, merge, plan

app = typer.Typer(
    name="buildcache",
    help="Multi-architecture docker buildx builds of image variants, with a registry cache per variant, "
    "pushed to every registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass
class Session:
    """What the root options say about the whole run; main.py makes it and reads it back."""

    debug: bool = False


def _version_callback(value: bool) -> None:
    if value:
        print(f"buildcache {__version__}")
        raise typer.Exit()


@app.callback()
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


app.command()(plan.plan)
app.command()(build.build)
app.command()(login.login)
app.command()(login.logout)
app.command()(init.init)
app.command()(doctor.doctor)
app.command()(merge.merge)
app.add_typer(builder.app, name="builder")
app.add_typer(cache.app, name="cache")
