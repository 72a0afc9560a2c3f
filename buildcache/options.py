"""The options several commands share, declared once (typer's Annotated style)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

# choices as enums: typer lists them in --help and refuses anything else
CacheChoice = StrEnum("CacheChoice", ["auto", "rw", "ro", "off"])
ProgressChoice = StrEnum("ProgressChoice", ["auto", "tty", "plain", "quiet"])


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="Config file (default: ./buildcache.toml, else [tool.buildcache] in ./pyproject.toml).",
    ),
]
VariantsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="VARIANT...", help="Variants to build (default: all).", show_default=False
    ),
]
VersionOption = Annotated[
    str | None,
    typer.Option(
        "--version",
        "-V",
        metavar="VERSION",
        help="Release version (default: BUILDCACHE_VERSION, the tag of a tag build; else the run is "
        "tagged by its branch, pull request or schedule).",
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
    typer.Option(
        "--tag", "-t", metavar="TAG", help="Another tag (T, and T-x for variant x); repeatable."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]
CacheOption = Annotated[
    CacheChoice,
    typer.Option(
        "--cache",
        help="Registry cache: rw, ro (read only), off, or auto (write from the default branch, "
        "release tags and local --push runs; read elsewhere).",
    ),
]
RefreshBaseOption = Annotated[
    bool,
    typer.Option(
        "--refresh-base",
        help='Build on what each base tag resolves to now, even where [base] refresh = "cache" '
        "would keep the cache's base.",
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        envvar="BUILDCACHE_OFFLINE",
        help="Ask no registry about the base images or the cache's record (nothing is pinned or "
        "predicted).",
    ),
]
