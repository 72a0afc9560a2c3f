"""The one place a plan is assembled, for plan, build and the cache commands: the config (and
the bake file whose targets are its variants), the request, git's facts, the bases and records
the registries hold."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from buildcache import git
from buildcache.ci import providers
from buildcache.core.config.load import load_config
from buildcache.core.config.model import Config
from buildcache.core.plan.make import plan_run
from buildcache.core.plan.metadata import run_time
from buildcache.core.plan.model import BuildPlan
from buildcache.core.plan.request import PlanRequest, RunFacts
from buildcache.errors import UsageError


def read_config(config_path: Path | None) -> Config:
    return load_config(Path.cwd(), os.environ, config_path)


def with_bake_file(
    config: Config, bake_file: Path | None = None, sets: Sequence[str] = ()
) -> Config:
    """The config whose variants are a bake file's targets (core/config/bakefile.py), read by
    buildx, and whose notes say what buildcache replaced: `cache ls` and `prune` must know them
    as well as `build` (or prune takes their caches for orphans)."""
    bake_file = bake_file or config.bake_file
    if bake_file is None:
        if sets:
            raise UsageError("--set overrides a bake file's targets: give --bake-file or bake-file")
        return config
    from buildcache.core.config.bakefile import bake_variants, parse_sets
    from buildcache.docker import engine

    overrides = parse_sets(sets)
    definition = engine.bake_print(engine.make_client(), bake_file, config.bake_targets, overrides)
    targets, notes = bake_variants(config, definition, config.bake_targets, Path.cwd())
    return dataclasses.replace(targets, notes=(*notes, *targets.notes))


def checkout_facts(cwd: Path) -> RunFacts:
    """This checkout and this process's environment, as planning reads them: the run's facts
    as its CI says them."""
    git_facts = git.facts(cwd)
    return RunFacts(
        context=providers.run_context(os.environ, git_facts),
        env=os.environ,
        git=git_facts,
        now=run_time(os.environ, datetime.now(UTC)),
        known_versions=lambda: git.tags(cwd),
        shallow=lambda: git.shallow(cwd),
        exists=Path.exists,
        read_text=_read_text,
        cwd=cwd,
    )


def assemble(config: Config, request: PlanRequest) -> BuildPlan:
    """The plan of this run: the bake file's targets as variants, the request planned in this
    checkout, then (unless offline) each base resolved and each cache's record read."""
    config = with_bake_file(config, request.bake_file, request.sets)
    planned = plan_run(config, request, checkout_facts(Path.cwd()))
    if request.offline:
        return planned
    from buildcache.registry import bases

    return bases.attach(
        planned,
        refresh=config.base.refresh,
        max_age=config.base.max_age,
        refresh_now=request.refresh_base,
        now=datetime.now(UTC),
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def show_plan(
    config_path: Path | None, request: PlanRequest, *, as_json: bool, verbose: bool
) -> None:
    """`buildcache plan`: the plan of this run, as JSON on stdout or as tables (with where each
    setting came from, when verbose)."""
    loaded = read_config(config_path)
    resolved = assemble(loaded, request)
    if not request.offline and resolved.release and not resolved.push_by_digest:
        from buildcache.registry.publish import planned_holds, planned_published

        # what build --push would skip (published before) and keep on a higher release, in
        # its words (the build decides again when it publishes: it does not pay for it twice)
        holds, notes = planned_holds(resolved)
        resolved = resolved.with_holds(holds, [*planned_published(resolved), *notes])
    if as_json:
        from buildcache.ui.console import print_json

        print_json(resolved.to_json())
        return
    from buildcache.ui.console import make_console
    from buildcache.ui.tables import print_plan

    print_plan(make_console(), resolved, sources=loaded.sources if verbose else None)
