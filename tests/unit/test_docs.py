"""Every command and every option is in `--help` and in the README."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer.main

from buildcache.cli.app import app
from buildcache.cli.main import main
from tests.conftest import ROOT


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_commands_are_the_documented_ones() -> None:
    assert sorted(" ".join(path) for path, _ in COMMANDS) == [
        "build",
        "builder down",
        "builder up",
        "cache ls",
        "cache prune",
        "doctor",
        "init",
        "login",
        "logout",
        "merge",
        "plan",
        "schema",
    ]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_is_in_help_and_readme(
    path: tuple[str, ...], command: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"buildcache {' '.join(path)}" in readme
    with pytest.raises(SystemExit):
        main([*path, "--help"])
    help_text = capsys.readouterr().out
    for param in command.params:
        for option in [*param.opts, *param.secondary_opts]:
            if option.startswith("--"):
                assert option in help_text, option
                assert option in readme, f"{option} of {' '.join(path)} is not in the README"
