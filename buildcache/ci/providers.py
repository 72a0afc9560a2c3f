"""The CI providers buildcache knows, in the order they are asked, and the questions the rest
of buildcache asks them: which CI runs, its run's facts, the repository's page, a registry's
credential variables, the sink its outputs go to. Adding a CI: its module, listed here."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from buildcache.ci import github, gitlab, local

if TYPE_CHECKING:
    from buildcache.ci.provider import Provider
    from buildcache.core.login import RegistryVariables
    from buildcache.core.plan.ci import GitFacts, Repository, RunContext
    from buildcache.ui.ci_sink import CISink

# local last: it detects every run
PROVIDERS: tuple[Provider, ...] = (github, gitlab, local)


def current(env: Mapping[str, str]) -> Provider:
    """The CI this run is in: the first that detects it."""
    return next(provider for provider in PROVIDERS if provider.detect(env))


def run_context(env: Mapping[str, str], git: GitFacts) -> RunContext:
    """The run's facts as the CI says them, the repository's page, HEAD's commit time."""
    context = current(env).run_facts(env, git)
    commit_date = None if git.commit_time is None else datetime.fromtimestamp(git.commit_time, UTC)
    return dataclasses.replace(context, repository=repository(env), commit_date=commit_date)


def repository(env: Mapping[str, str]) -> Repository | None:
    """The first CI whose variables name the repository's page (GitHub's before GitLab's)."""
    return next((r for r in (p.repository(env) for p in PROVIDERS) if r is not None), None)


def registry_variables(registry: str, env: Mapping[str, str]) -> RegistryVariables | None:
    """The variables a CI keeps `registry`'s credentials in, the first CI's that has them."""
    found = (p.registry_variables(registry, env) for p in PROVIDERS)
    return next((variables for variables in found if variables is not None), None)


def sink(env: Mapping[str, str]) -> CISink:
    return current(env).sink(env)
