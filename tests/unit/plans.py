"""Plans for tests, from keyword arguments: `plan_run` as a run of this checkout would make it
(a PlanRequest in RunFacts, the run's facts read from `env` by its CI provider), `make_plan` for a version given outright, as on a laptop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from buildcache.ci.providers import run_context
from buildcache.core.config.model import Config
from buildcache.core.plan import make
from buildcache.core.plan.ci import CachePolicy, GitFacts, RunContext
from buildcache.core.plan.model import BuildPlan
from buildcache.core.plan.request import PlanRequest, RunFacts
from buildcache.core.plan.tags import run_tags


def plan_run(
    config: Config,
    *,
    env: dict[str, str] | None = None,
    git: GitFacts | None = None,
    now: datetime | None = None,
    known_versions: Callable[[], Sequence[str]] = tuple,
    shallow: Callable[[], bool] = lambda: False,
    exists: Callable[[Path], bool] | None = None,
    read_text: Callable[[Path], str | None] | None = None,
    cwd: Path = Path(),
    **request: Any,
) -> BuildPlan:
    env, git = env or {}, git or GitFacts()
    facts = RunFacts(
        context=run_context(env, git),  # the run as its CI provider reads it
        env=env,
        git=git,
        now=now or datetime.now(UTC),
        known_versions=known_versions,
        shallow=shallow,
        exists=exists,
        read_text=read_text,
        cwd=cwd,
    )
    if request.get("inputs") is None:
        request.pop("inputs", None)  # as the command line gives none
    return make.plan_run(config, PlanRequest(**request), facts)


def make_plan(
    config: Config,
    *,
    selected: Sequence[str] = (),
    version: str | None = None,
    version_source: str = "--version",
    latest: bool = True,
    extra_tags: Sequence[str] = (),
    cache_policy: CachePolicy | None = None,
    sha: str | None = None,
    **request: Any,
) -> BuildPlan:
    local = RunContext(
        ci=None,
        branch=None,
        default_branch="main",
        tag_build=False,
        pull_request=False,
        fork=False,
        sha=sha,
    )
    run = run_tags(
        config.tags,
        context=local,
        given=None if version is None else (version, version_source),
        extra=extra_tags,
        no_latest=not latest,
        now=datetime.now(UTC),
    )
    return make.make_plan(
        config, run, PlanRequest(variants=tuple(selected), **request), cache_policy
    )


def tag_build(config: Config, version: str) -> BuildPlan:
    """The plan of a GitHub Actions build of the git tag `version` (a release)."""
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    env |= {"GITHUB_REF_NAME": version, "GITHUB_REF": f"refs/tags/{version}"}
    return plan_run(
        config,
        env=env | {"GITHUB_SHA": "a" * 40},
        git=GitFacts(branch="main", default_branch="main"),
    )


def rules_config(*images: str) -> Config:
    """Two variants (slim the default, and full) tagged by metadata-action's rules: the version
    and its major.minor series."""
    import json
    import tomllib

    from buildcache.core.config.load import parse_config

    text = (
        f"images = {json.dumps(list(images))}\n"
        "[tags]\n"
        'rules = ["type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}"]\n'
        "[variants.slim]\ndefault = true\n[variants.full]\n"
    )
    return parse_config(tomllib.loads(text), {}, path=Path("/r/b.toml"), root=Path("/r"))
