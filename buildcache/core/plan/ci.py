"""Pure: what the CI (or a laptop) says about this run, and the cache policy it implies.

The run's facts are a `RunContext` that a CI provider (buildcache/ci/) reads from the
environment and the CI's event file, with a few git facts the caller reads (buildcache/git.py);
nothing here reads os.environ, a file or runs a process, so every rule is tested with values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True)
class Repository:
    """The repository's web page, as a CI's variables name it, and which CI named it."""

    url: str
    origin: str  # "GitHub Actions": shown by `plan` as where the source label came from


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
    # the repository's web page as a CI names it (the source label), and the CI's name for plan
    repository: Repository | None = None
    run_url: str | None = None  # the CI run that builds (the provenance's builder id)

    @property
    def on_default_branch(self) -> bool:
        return self.branch is None or self.branch == self.default_branch


def git_default_branch(git: GitFacts) -> str:
    """origin's HEAD, else main: the default branch where the CI does not name one."""
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
