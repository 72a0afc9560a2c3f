"""`buildcache init`: a starter buildcache.toml from the Dockerfile here."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import typer
from rich.console import Console

from buildcache.core.config import CONFIG_FILE, parse_config
from buildcache.core.starter import CI_STEP, MAKE_TARGET, read_dockerfile, starter_config
from buildcache.errors import UsageError
from buildcache.ui.console import say


def init(
    *, images: list[str], dockerfile: Path, platforms: list[str], force: bool, console: Console
) -> None:
    target = Path.cwd() / CONFIG_FILE
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", hint="add --force to overwrite it")
    if not dockerfile.is_file():
        raise UsageError(
            f"there is no {dockerfile} here", hint="give the Dockerfile with --dockerfile PATH"
        )
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
        platforms=platforms,
    )
    # the config written must be one buildcache accepts: check it as `build` would
    parse_config(tomllib.loads(text), {}, path=target, root=target.parent)
    target.write_text(text, encoding="utf-8")
    say(console, f"wrote {target}", "green")
    say(console, "\nAdd to your Makefile:\n")
    say(console, MAKE_TARGET)
    say(console, "Add to your release workflow (GitHub Actions):\n")
    say(console, CI_STEP)
