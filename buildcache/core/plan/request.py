"""Pure: what a run asks for, as one frozen value made once from the command line (or the
action), and the facts of the checkout it runs in. `plan`, `build` and the cache commands hand
these to planning; nothing between the command line and the plan is a loose bag of options."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from buildcache.core.build_inputs import BuildInputs
from buildcache.core.output import Export
from buildcache.core.plan.ci import CacheFlag, GitFacts, RunContext


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    variants: tuple[str, ...] = ()  # none: every variant
    version: str | None = None  # --version; else BUILDCACHE_VERSION or the tag of a tag build
    no_latest: bool = False
    tags: tuple[str, ...] = ()  # --tag: extra tags
    cache: CacheFlag = "auto"
    cache_write: bool | None = None  # --cache-write/--no-cache-write, the older spelling of --cache
    push: bool = False
    load: bool = False
    platforms: tuple[str, ...] = ()  # a subset of the configured ones
    # the host's platform: what --load builds, without --platform, of a variant of several
    host_platform: str | None = None
    push_by_digest: bool = False
    export: Export | None = None  # --output type=local|tar|oci|docker,dest=PATH: files, no push
    # a push on a builder that cannot push untagged (docker driver): under a staging tag instead
    staging: bool = False
    # the run's own part of its staging names (two runs on one engine never share one)
    run_id: str = ""
    inputs: BuildInputs = field(default_factory=BuildInputs)
    # how the plan is assembled (commands/plan.py): the bake file, and the registries asked
    bake_file: Path | None = None
    sets: tuple[str, ...] = ()  # bake --set overrides
    offline: bool = False
    refresh_base: bool = False


@dataclass(frozen=True, kw_only=True)
class RunFacts:
    """The checkout and the environment, as values: the run's facts as its CI says them (a CI
    provider reads them, buildcache/ci/), the environment as a mapping, git's facts, and the
    few reads planning makes as functions, so tests pass their own."""

    context: RunContext
    env: Mapping[str, str] = field(default_factory=dict)
    git: GitFacts = field(default_factory=GitFacts)
    known_versions: Callable[[], Sequence[str]] = lambda: ()  # git tags, asked for a release
    shallow: Callable[[], bool] = lambda: False  # a clone that may lack tags, asked likewise
    now: datetime = field(default_factory=lambda: datetime.now(UTC))  # one time for the run
    exists: Callable[[Path], bool] | None = None  # None: paths are not checked
    read_text: Callable[[Path], str | None] | None = None  # None: Dockerfiles are not read
    cwd: Path = Path()
