"""The consoles: people read stderr, programs read stdout.

stdout carries only machine-readable output (`--json`, `--dry-run`); everything for people goes to
stderr, so `buildcache build --json > result.json` works with a live view on the terminal. rich
honours NO_COLOR. Markup and emoji codes are off on every console: what users wrote (step names,
build args, tags, registry and engine messages) can hold `[/x]` or `:tag:`, and is shown as text;
styles are given as `Text` styles, never as markup.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# rich is imported where something is printed for people: `plan --json` never needs it (~50 ms)


def make_console(*, plain: bool = False, width: int | None = None) -> Console:
    from rich.console import Console

    if plain:
        # No colour, no cursor moves, no wrapping: one line per event in a CI log.
        return Console(
            stderr=True,
            force_terminal=False,
            no_color=True,
            highlight=False,
            markup=False,
            emoji=False,
            width=width or 160,
            soft_wrap=True,
        )
    console = Console(stderr=True, highlight=False, markup=False, emoji=False, width=width)
    if width is None and not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 120  # a log or a pipe: rich's 80 columns fold every cache ref
    return console


def say(console: Console, message: str, style: str = "") -> None:
    """One line of text, styled as a whole."""
    from rich.text import Text

    console.print(Text(message, style=style), soft_wrap=not console.is_terminal)


def labelled(console: Console, label: str, style: str, message: str) -> None:
    """`label: message`, the label styled (error, warning, hint, note)."""
    from rich.text import Text

    # off a terminal (a CI log, a pipe) a sentence stays one line, however long
    console.print(Text.assemble((f"{label}: ", style), message), soft_wrap=not console.is_terminal)


def print_json(data: Mapping[str, object]) -> None:
    """stdout's one JSON object (`--json`)."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()
