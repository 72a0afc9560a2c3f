"""GitLab CI: its pipeline read from the CI_* variables (docs.gitlab.com/ci/variables/
predefined_variables), the project's own registry's credentials (CI_REGISTRY_USER,
CI_REGISTRY_PASSWORD) and its collapsible log sections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from buildcache.core.plan.ci import Event, GitFacts, Repository, RunContext, git_default_branch

if TYPE_CHECKING:
    from buildcache.core.login import RegistryVariables
    from buildcache.ui.ci_sink import CISink

NAME = "GitLab CI"


def detect(env: Mapping[str, str]) -> bool:
    return env.get("GITLAB_CI") == "true"


def run_facts(env: Mapping[str, str], git: GitFacts) -> RunContext:
    tag_build = bool(env.get("CI_COMMIT_TAG"))
    merge_request = bool(env.get("CI_MERGE_REQUEST_IID"))
    return RunContext(
        ci="gitlab",
        branch=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_BRANCH"),
        default_branch=env.get("CI_DEFAULT_BRANCH") or git_default_branch(git),
        tag_build=tag_build,
        pull_request=merge_request,
        fork=merge_request and _fork(env),
        sha=env.get("CI_COMMIT_SHA") or git.sha,
        event=_kind(env, tag_build, merge_request),
        tag=env.get("CI_COMMIT_TAG") or None,
        pr_number=env.get("CI_MERGE_REQUEST_IID") if merge_request else None,
        base_ref=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") if merge_request else None,
        public=env.get("CI_PROJECT_VISIBILITY") == "public",
    )


def repository(env: Mapping[str, str]) -> Repository | None:
    url = env.get("CI_PROJECT_URL")
    return Repository(url, NAME) if url else None


def registry_variables(registry: str, env: Mapping[str, str]) -> RegistryVariables | None:
    """The project's own registry: the job's registry user and password."""
    from buildcache.core.login import RegistryVariables  # only login asks: not plan's cost

    if not detect(env) or registry != env.get("CI_REGISTRY"):
        return None
    both = "CI_REGISTRY_USER and CI_REGISTRY_PASSWORD"
    return RegistryVariables("CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD", both)


def sink(env: Mapping[str, str]) -> CISink:
    from buildcache.ui.ci_sink import GitLabCI

    return GitLabCI()


def _fork(env: Mapping[str, str]) -> bool:
    """A merge request from another project than the one it targets."""
    source_project = env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")
    return bool(source_project) and source_project != env.get("CI_MERGE_REQUEST_PROJECT_ID")


def _kind(env: Mapping[str, str], tag_build: bool, merge_request: bool) -> Event:
    if tag_build:
        return "tag"
    if merge_request:
        return "pull_request"
    source = env.get("CI_PIPELINE_SOURCE", "")
    if source == "schedule":
        return "schedule"
    return "manual" if source in ("web", "api", "trigger") else "branch"
