"""No CI buildcache knows: a laptop, or another CI (CI=true, as most set it), whose run is what
git says at HEAD. It has no repository page, no credentials of its own and no log dialect; it
is asked last, and detects every run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from buildcache.core.plan.ci import GitFacts, Repository, RunContext, git_default_branch

if TYPE_CHECKING:
    from buildcache.core.login import RegistryVariables
    from buildcache.ui.ci_sink import CISink


def detect(env: Mapping[str, str]) -> bool:
    return True


def run_facts(env: Mapping[str, str], git: GitFacts) -> RunContext:
    return RunContext(
        ci="ci" if env.get("CI", "").lower() in ("true", "1") else None,
        branch=git.branch,
        default_branch=git_default_branch(git),
        tag_build=False,
        pull_request=False,
        fork=False,
        sha=git.sha,
    )


def repository(env: Mapping[str, str]) -> Repository | None:
    return None


def registry_variables(registry: str, env: Mapping[str, str]) -> RegistryVariables | None:
    return None


def sink(env: Mapping[str, str]) -> CISink:
    from buildcache.ui.ci_sink import NoCI

    return NoCI()
