"""`buildcache doctor`: the checks as a table, or JSON; exit 1 when one would fail the build."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from buildcache.config import Config
from buildcache.doctor import healthy, run_checks
from buildcache.errors import BuildFailed
from buildcache.output import print_json

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def doctor(load_config: Callable[[], Config], *, as_json: bool, console: Console) -> None:
    checks = run_checks(load_config)
    if as_json:
        print_json({"healthy": healthy(checks), "checks": [dataclasses.asdict(c) for c in checks]})
    table = Table(title="buildcache doctor", title_justify="left", header_style="bold")
    table.add_column("check")
    table.add_column("", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    for check in checks:
        table.add_row(
            check.name, Text(check.status, style=STYLE[check.status]), check.detail, check.fix or ""
        )
    console.print(table)
    if not healthy(checks):
        raise BuildFailed(
            "something here would make the build fail (the rows marked fail say what, and the fix)"
        )
