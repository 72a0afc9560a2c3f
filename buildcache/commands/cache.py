"""`buildcache cache ls|prune`: the cache tags between builds."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from buildcache import engine
from buildcache.cache import delete_tags, list_cache, prune_targets
from buildcache.config import Config
from buildcache.errors import UsageError
from buildcache.output import cache_entries_table, print_json


def ls(config: Config, *, as_json: bool, console: Console) -> None:
    client = engine.make_client()
    entries, orphans = list_cache(
        config, platform_layers=lambda ref: engine.platform_top_layers(client, ref)
    )
    if as_json:
        print_json(
            {
                "cache_image": config.cache_image,
                "refs": [e.to_json() for e in entries],
                "orphans": [e.to_json() for e in orphans],
            }
        )
        return
    console.print(cache_entries_table(entries, orphans))
    if orphans:
        console.print(
            Text(
                f"{len(orphans)} cache tag(s) belong to no variant of the config; 'buildcache cache prune' deletes them",
                style="yellow",
            )
        )


def prune(config: Config, *, yes: bool, dry_run: bool, console: Console) -> None:
    entries, orphans = list_cache(config, platform_layers=lambda ref: None)
    targets = prune_targets(orphans, entries)
    if not targets:
        console.print(
            f"nothing to prune: every cache tag in {config.cache_image} belongs to a variant"
        )
        return
    for target in targets:
        if target.skipped:
            console.print(
                Text(f"keep   {config.cache_image}:{target.tag} ({target.skipped})", style="dim")
            )
        else:
            console.print(f"delete {config.cache_image}:{target.tag}")
    doomed = [t for t in targets if t.skipped is None]
    if dry_run or not doomed:
        console.print("(dry run: nothing deleted)" if dry_run else "nothing to delete")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "not deleting without a terminal to ask on",
                hint="add --yes to delete without asking",
            )
        if not typer.confirm(f"Delete {len(doomed)} cache tag(s)?", default=False, err=True):
            console.print("nothing deleted")
            return
    deleted = delete_tags(config, targets)
    console.print(Text(f"deleted {len(deleted)} cache tag(s)", style="green"))
