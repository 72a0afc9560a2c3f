"""`buildcache init`: a starter buildcache.toml from the Dockerfile here."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from buildcache.config import CONFIG_FILE, parse_config
from buildcache.errors import UsageError
from buildcache.init import CI_STEP, MAKE_TARGET, read_dockerfile, starter_config


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
    console.print(Text(f"wrote {target}", style="green"))
    console.print("\nAdd to your Makefile:\n")
    console.print(MAKE_TARGET, markup=False, highlight=False)
    console.print("Add to your release workflow (GitHub Actions):\n")
    console.print(CI_STEP, markup=False, highlight=False)
