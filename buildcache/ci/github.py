"""GitHub Actions: its run read from the GITHUB_* variables and the event file GitHub writes
(GITHUB_EVENT_PATH), ghcr.io's credentials (GITHUB_TOKEN or GHCR_TOKEN, GITHUB_ACTOR), and
its outputs and job summary (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).

docs.github.com/actions/reference/variables-reference names the variables; metadata-action's
switch DOCKER_METADATA_PR_HEAD_SHA is read here too, as it reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from buildcache.core.plan.ci import Event, GitFacts, Repository, RunContext, git_default_branch

if TYPE_CHECKING:
    from buildcache.core.login import RegistryVariables
    from buildcache.ui.ci_sink import CISink

NAME = "GitHub Actions"


def detect(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def run_facts(env: Mapping[str, str], git: GitFacts) -> RunContext:
    event = _event(env)
    pull_request = env.get("GITHUB_EVENT_NAME", "").startswith("pull_request")
    tag_build = env.get("GITHUB_REF_TYPE") == "tag"
    return RunContext(
        ci="github",
        # a pull request's head branch, else the branch pushed (a tag build has none)
        branch=env.get("GITHUB_HEAD_REF") or (None if tag_build else env.get("GITHUB_REF_NAME")),
        default_branch=_default_branch(env, event, git),
        tag_build=tag_build,
        pull_request=pull_request,
        fork=pull_request and _fork(env, event),
        sha=_sha(env, event, pull_request) or git.sha,
        event=_kind(env, tag_build, pull_request),
        tag=env.get("GITHUB_REF_NAME") if tag_build else None,
        pr_number=_pr_number(env, event) if pull_request else None,
        base_ref=_base_ref(env, event, tag_build, pull_request),
        public=_get(event, "repository", "private") is False,
        run_url=_run_url(env),
    )


def repository(env: Mapping[str, str]) -> Repository | None:
    if not env.get("GITHUB_REPOSITORY"):
        return None
    server = env.get("GITHUB_SERVER_URL") or "https://github.com"
    return Repository(f"{server.rstrip('/')}/{env['GITHUB_REPOSITORY']}", NAME)


def registry_variables(registry: str, env: Mapping[str, str]) -> RegistryVariables | None:
    """ghcr.io: the workflow's token (or a GHCR_TOKEN given beside it) as GITHUB_ACTOR; also
    outside Actions, where a user exports them by hand."""
    from buildcache.core.login import GHCR, RegistryVariables  # only login asks: not plan's cost

    if registry != GHCR:
        return None
    token = "GHCR_TOKEN" if env.get("GHCR_TOKEN") else "GITHUB_TOKEN"
    return RegistryVariables("GITHUB_ACTOR", token, "GITHUB_TOKEN (or GHCR_TOKEN) and GITHUB_ACTOR")


def sink(env: Mapping[str, str]) -> CISink:
    from buildcache.ui.ci_sink import GitHubActions

    output, summary = env.get("GITHUB_OUTPUT"), env.get("GITHUB_STEP_SUMMARY")
    return GitHubActions(Path(output) if output else None, Path(summary) if summary else None)


# The run's facts


def _event(env: Mapping[str, str]) -> dict[str, object]:
    """The webhook payload of the event that started the run; nothing where it cannot be read."""
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _get(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _kind(env: Mapping[str, str], tag_build: bool, pull_request: bool) -> Event:
    if tag_build:
        return "tag"
    if pull_request:
        return "pull_request"
    name = env.get("GITHUB_EVENT_NAME", "")
    return (
        "schedule" if name == "schedule" else "manual" if name == "workflow_dispatch" else "branch"
    )


def _pr_number(env: Mapping[str, str], event: Mapping[str, object]) -> str | None:
    match = re.match(r"^refs/pull/(\d+)/", env.get("GITHUB_REF", ""))
    if match:
        return match.group(1)
    number = _get(event, "pull_request", "number") or _get(event, "number")
    return str(number) if isinstance(number, int) else None


def _sha(env: Mapping[str, str], event: Mapping[str, object], pull_request: bool) -> str:
    """The commit: GITHUB_SHA, or with DOCKER_METADATA_PR_HEAD_SHA=true (metadata-action's
    switch) a pull request's head commit rather than the merge GitHub made of it."""
    head = _get(event, "pull_request", "head", "sha")
    wants_head = env.get("DOCKER_METADATA_PR_HEAD_SHA", "").strip().lower() == "true"
    if pull_request and wants_head and isinstance(head, str) and head:
        return head
    return env.get("GITHUB_SHA", "")


def _base_ref(
    env: Mapping[str, str], event: Mapping[str, object], tag_build: bool, pull_request: bool
) -> str | None:
    """A tag push's base_ref (the payload's, refs/heads/ taken off), a pull request's base
    branch (the payload's, else GITHUB_BASE_REF); None for any other run."""
    if tag_build:
        base = _get(event, "base_ref")
        return base.removeprefix("refs/heads/") if isinstance(base, str) else None
    if pull_request:
        base = _get(event, "pull_request", "base", "ref")
        return base if isinstance(base, str) else env.get("GITHUB_BASE_REF") or None
    return None


def _fork(env: Mapping[str, str], event: Mapping[str, object]) -> bool:
    head_repo = _get(event, "pull_request", "head", "repo", "full_name")
    if _get(event, "pull_request", "head", "repo", "fork") is True:
        return True
    return isinstance(head_repo, str) and head_repo != env.get("GITHUB_REPOSITORY")


def _default_branch(env: Mapping[str, str], event: Mapping[str, object], git: GitFacts) -> str:
    """The repository's settings (the event says), else a pull request's base, else git's."""
    default = _get(event, "repository", "default_branch")
    if isinstance(default, str) and default:
        return default
    return env.get("GITHUB_BASE_REF") or git_default_branch(git)


def _run_url(env: Mapping[str, str]) -> str | None:
    """The run that builds the image, the provenance's builder id."""
    if not env.get("GITHUB_RUN_ID") or not env.get("GITHUB_REPOSITORY"):
        return None
    server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
    return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
