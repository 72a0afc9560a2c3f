"""The console script: run the CLI, and turn every way it can end into a sentence and an exit code.

Known errors (errors.py) print their message and hint and exit with their class's code; Ctrl-C
and SIGTERM exit 130; typer's own usage errors 2; anything else is a bug, 4, with a traceback
only under --debug.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from functools import cache
from typing import TYPE_CHECKING

import typer

from buildcache.cli.app import Session, command_of, make_app
from buildcache.errors import BuildcacheError, ExitCode
from buildcache.ui.console import labelled, make_console, say

if TYPE_CHECKING:
    from rich.console import Console

# made when there is something to say: a run that succeeds prints through its command's own
_console = cache(make_console)


def _report_error(console: Console, error: BuildcacheError) -> None:
    from buildcache.ci.providers import sink  # a run that fails pays for it, not every run

    sink(os.environ).error(error.message)
    labelled(console, "error", "bold red", error.message)
    if error.hint:
        labelled(console, "hint", "cyan", error.hint)


# the signal that stopped the run: SIGINT (Ctrl-C) exits 130, SIGTERM (a cancelled CI job,
# `timeout`) 143, as shells and CI runners expect
_stopped_by = {"signal": int(signal.SIGINT)}


def _interrupt(signum: int, frame: object) -> None:
    _stopped_by["signal"] = signum
    raise KeyboardInterrupt


def _stopped(console: Console) -> int:
    name = signal.Signals(_stopped_by["signal"]).name
    say(
        console,
        f"interrupted ({name}): any docker buildx bake it started was stopped too",
        "yellow",
    )
    return 128 + _stopped_by["signal"]


def main(argv: list[str] | None = None) -> None:
    """The console script: run the app, turn every error into a sentence and an exit code."""
    # A cancelled CI job gets SIGTERM: stop as on Ctrl-C (docker/bake.run_bake passes it on to bake)
    signal.signal(signal.SIGTERM, _interrupt)
    session = Session()  # the root options' values (--debug), filled in as they are parsed
    try:
        code = _run(sys.argv[1:] if argv is None else argv, session)
    except BuildcacheError as error:
        if session.debug:
            _console().print_exception()
        _report_error(_console(), error)
        code = error.exit_code
    except typer.Exit as done:
        code = done.exit_code
    except typer.TyperException as error:
        # typer's own usage errors (unknown option, bad value)
        labelled(_console(), "error", "bold red", error.format_message())
        code = ExitCode.USAGE
    except (KeyboardInterrupt, typer.Abort):
        code = _stopped(_console())
    except Exception as error:
        code = _internal_error(error, session)
    # The interpreter's last collection would walk every object the imports made (typer, rich,
    # httpx): ~30 ms of every run, for nothing an exit needs (finalizers and atexit still run)
    gc.freeze()
    sys.exit(code)


def _run(words: list[str], session: Session) -> int:
    # Outside standalone mode typer turns Ctrl-C and typer.Exit into a returned exit code
    # (130 for Ctrl-C) instead of raising: that code is ours to exit with.
    app = make_app(command_of(words))
    code = app(args=words, standalone_mode=False, prog_name="buildcache", obj=session)
    if code == ExitCode.INTERRUPTED:
        return _stopped(_console())
    return code if isinstance(code, int) and code else ExitCode.OK


def _internal_error(error: Exception, session: Session) -> int:
    if session.debug:
        _console().print_exception()
    else:
        labelled(
            _console(),
            "internal error",
            "bold red",
            f"{type(error).__name__}: {error}. This is a bug in buildcache; rerun with --debug and report it.",
        )
    return ExitCode.INTERNAL
