"""Pure: what the CI environment (or a laptop) says about this run, and the cache policy it implies.

Facts come from the environment mapping (GitHub Actions, GitLab CI) and from a few git facts the
caller reads (buildcache/git.py); nothing here reads os.environ or runs a process, so every rule is tested
with a dict.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from buildcache.core.reference import MAX_TAG

# what started the run: a release tag, a pull/merge request, a schedule, a person (a manual CI run),
# a push to a branch, or a laptop
Event = Literal["tag", "pull_request", "schedule", "manual", "branch", "local"]
CacheFlag = Literal["auto", "rw", "ro", "off"]
CacheMode = Literal["rw", "ro", "off"]


@dataclass(frozen=True, kw_only=True)
class GitFacts:
    """What git says, read by the caller: the branch at HEAD, the remote's default, HEAD's sha."""

    branch: str | None = None
    default_branch: str | None = None  # from `git symbolic-ref refs/remotes/origin/HEAD`
    sha: str | None = None
    remote_url: str | None = None  # `git remote get-url origin`, for the image's source label
    commit_time: int | None = None  # HEAD's commit time (Unix), for reproducible builds
    dirty: bool = False  # tracked files with uncommitted changes: HEAD is not what is built


@dataclass(frozen=True, kw_only=True)
class RunContext:
    ci: str | None  # "github", "gitlab", "ci" (another CI) or None (a laptop)
    branch: str | None
    default_branch: str
    tag_build: bool  # the CI built a tag (a release)
    pull_request: bool
    fork: bool  # a pull request from a fork: no write token
    sha: str | None
    event: Event = "local"
    tag: str | None = None  # the tag a tag build built
    pr_number: str | None = None
    # the branch a pull request merges into, or a tag push's (the event says): {{base_ref}}
    base_ref: str | None = None
    commit_date: datetime | None = None  # HEAD's commit time, where git says it
    public: bool = False  # a public repository, as the CI reports it (provenance mode=max)

    @property
    def on_default_branch(self) -> bool:
        return self.branch is None or self.branch == self.default_branch


def _github_event(env: Mapping[str, str]) -> dict[str, object]:
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


def _github_kind(env: Mapping[str, str], tag_build: bool, pull_request: bool) -> Event:
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


def run_context(env: Mapping[str, str], git: GitFacts) -> RunContext:
    context = _ci_context(env, git)
    if git.commit_time is None:
        return context
    return dataclasses.replace(context, commit_date=datetime.fromtimestamp(git.commit_time, UTC))


def _ci_context(env: Mapping[str, str], git: GitFacts) -> RunContext:
    if env.get("GITHUB_ACTIONS") == "true":
        return _github_context(env, git)
    if env.get("GITLAB_CI") == "true":
        return _gitlab_context(env, git)
    default_branch = _git_default(git)
    return RunContext(
        ci="ci" if env.get("CI", "").lower() in ("true", "1") else None,
        branch=git.branch,
        default_branch=default_branch,
        tag_build=False,
        pull_request=False,
        fork=False,
        sha=git.sha,
    )


def _github_context(env: Mapping[str, str], git: GitFacts) -> RunContext:
    event = _github_event(env)
    pull_request = env.get("GITHUB_EVENT_NAME", "").startswith("pull_request")
    tag_build = env.get("GITHUB_REF_TYPE") == "tag"
    default_branch = _github_default_branch(env, event, git)
    return RunContext(
        ci="github",
        branch=_github_branch(env, tag_build),
        default_branch=default_branch,
        tag_build=tag_build,
        pull_request=pull_request,
        fork=pull_request and _github_fork(env, event),
        sha=_github_sha(env, event, pull_request) or git.sha,
        event=_github_kind(env, tag_build, pull_request),
        tag=env.get("GITHUB_REF_NAME") if tag_build else None,
        pr_number=_pr_number(env, event) if pull_request else None,
        base_ref=_github_base_ref(env, event, tag_build, pull_request),
        public=_get(event, "repository", "private") is False,
    )


def _github_sha(env: Mapping[str, str], event: Mapping[str, object], pull_request: bool) -> str:
    """The commit: GITHUB_SHA, or with DOCKER_METADATA_PR_HEAD_SHA=true (metadata-action's
    switch) a pull request's head commit rather than the merge GitHub made of it."""
    head = _get(event, "pull_request", "head", "sha")
    wants_head = env.get("DOCKER_METADATA_PR_HEAD_SHA", "").strip().lower() == "true"
    if pull_request and wants_head and isinstance(head, str) and head:
        return head
    return env.get("GITHUB_SHA", "")


def _github_base_ref(
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


def _github_branch(env: Mapping[str, str], tag_build: bool) -> str | None:
    """A pull request's head branch, else the branch pushed (a tag build has none)."""
    return env.get("GITHUB_HEAD_REF") or (None if tag_build else env.get("GITHUB_REF_NAME"))


def _github_fork(env: Mapping[str, str], event: Mapping[str, object]) -> bool:
    head_repo = _get(event, "pull_request", "head", "repo", "full_name")
    if _get(event, "pull_request", "head", "repo", "fork") is True:
        return True
    return isinstance(head_repo, str) and head_repo != env.get("GITHUB_REPOSITORY")


def _github_default_branch(
    env: Mapping[str, str], event: Mapping[str, object], git: GitFacts
) -> str:
    """The repository's settings (the event says), else a pull request's base, else git's."""
    default = _get(event, "repository", "default_branch")
    if isinstance(default, str) and default:
        return default
    return env.get("GITHUB_BASE_REF") or _git_default(git)


def _gitlab_context(env: Mapping[str, str], git: GitFacts) -> RunContext:
    tag_build = bool(env.get("CI_COMMIT_TAG"))
    merge_request = bool(env.get("CI_MERGE_REQUEST_IID"))
    default_branch = _gitlab_default_branch(env, git)
    return RunContext(
        ci="gitlab",
        branch=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_BRANCH"),
        default_branch=default_branch,
        tag_build=tag_build,
        pull_request=merge_request,
        fork=merge_request and _gitlab_fork(env),
        sha=env.get("CI_COMMIT_SHA") or git.sha,
        event=_gitlab_kind(env, tag_build, merge_request),
        tag=env.get("CI_COMMIT_TAG") or None,
        pr_number=env.get("CI_MERGE_REQUEST_IID") if merge_request else None,
        base_ref=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") if merge_request else None,
        public=env.get("CI_PROJECT_VISIBILITY") == "public",
    )


def _gitlab_default_branch(env: Mapping[str, str], git: GitFacts) -> str:
    return env.get("CI_DEFAULT_BRANCH") or _git_default(git)


def _gitlab_fork(env: Mapping[str, str]) -> bool:
    """A merge request from another project than the one it targets."""
    source_project = env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")
    return bool(source_project) and source_project != env.get("CI_MERGE_REQUEST_PROJECT_ID")


def _gitlab_kind(env: Mapping[str, str], tag_build: bool, merge_request: bool) -> Event:
    if tag_build:
        return "tag"
    if merge_request:
        return "pull_request"
    source = env.get("CI_PIPELINE_SOURCE", "")
    if source == "schedule":
        return "schedule"
    return "manual" if source in ("web", "api", "trigger") else "branch"


def _git_default(git: GitFacts) -> str:
    """origin's HEAD, else main."""
    return git.default_branch or "main"


def branch_slug(branch: str, room: int = MAX_TAG) -> str:
    """A branch name made safe as part of a Docker tag: lowercase, [a-z0-9._-], bounded."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", branch.lower())
    slug = re.sub(r"-{2,}", "-", slug).strip(".-")
    return slug[: max(room, 1)].rstrip(".-") or "branch"


@dataclass(frozen=True)
class CachePolicy:
    mode: CacheMode
    reason: str
    branch_slug: str | None = None  # set where the branch keeps a cache ref of its own


def cache_policy(flag: CacheFlag, *, push: bool, context: RunContext, release: bool) -> CachePolicy:
    """Who writes the cache: the default branch, release tags and local pushes; others read.

    `release` is true when the version came from a tag (the CI's, or git's at HEAD).
    """
    slug = None if context.on_default_branch or release else branch_slug(context.branch or "")
    if context.fork:
        return CachePolicy(
            "ro" if flag != "off" else "off",
            "a pull request from a fork has no token to write with",
            slug,
        )
    if flag != "auto":
        return CachePolicy(flag, f"--cache {flag}", slug)
    if context.tag_build or release:
        return CachePolicy("rw", "a release tag", None)
    if context.ci is None:
        return _local_policy(push, slug)
    return _ci_policy(context, slug)


def _local_policy(push: bool, slug: str | None) -> CachePolicy:
    """Not in CI: a run that pushes writes the cache, one that does not reads it."""
    if push:
        return CachePolicy("rw", "a local run with --push", slug)
    return CachePolicy("ro", "a local run without --push", slug)


def _ci_policy(context: RunContext, slug: str | None) -> CachePolicy:
    """A CI run that is no release: the default branch writes, the others read."""
    if context.pull_request:
        return CachePolicy("ro", "a pull request reads the cache and does not write it", slug)
    if context.on_default_branch:
        return CachePolicy("rw", f"the default branch ({context.default_branch})", None)
    return CachePolicy(
        "ro", f"branch {context.branch}, not the default ({context.default_branch})", slug
    )
