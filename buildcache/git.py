"""The few facts buildcache reads from git: the tags, HEAD's commit, the branch, the remote,
whether the tree has changes and the clone is shallow."""

from __future__ import annotations

import subprocess
from pathlib import Path

from buildcache.core.plan.ci import GitFacts


def _git(cwd: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git, or not a repository: the caller says what to give instead
    return result.stdout.strip() or None if result.returncode == 0 else None


def tags(cwd: Path) -> list[str]:
    """Every tag of the repository: the releases there have been."""
    return (_git(cwd, "tag", "--list") or "").split()


def head(cwd: Path) -> tuple[str | None, int | None]:
    """HEAD's commit and its time (Unix), in one git call: every run starts with it."""
    sha, _, time = (_git(cwd, "log", "-1", "--format=%H %ct") or "").partition(" ")
    return sha or None, int(time) if time.isdigit() else None


def branch_and_changes(cwd: Path) -> tuple[str | None, bool]:
    """The branch at HEAD (None: detached) and whether tracked files have uncommitted changes,
    in one git call (no optional locks: a build beside an editor or another git must not fail)."""
    status = _git(
        cwd, "--no-optional-locks", "status", "--porcelain=v2", "--branch", "--untracked-files=no"
    )
    lines = (status or "").splitlines()
    header = dict(line[2:].split(" ", 1) for line in lines if line.startswith("# "))
    dirty = any(not line.startswith("#") for line in lines)
    if header.get("branch.oid") == "(initial)":  # no commit yet: no branch to speak of
        return None, dirty
    head = header.get("branch.head")
    return (None if head in (None, "(detached)") else head), dirty


def shallow(cwd: Path) -> bool:
    """A shallow clone (actions/checkout's default, fetch-depth 1): it may lack the tags."""
    return _git(cwd, "rev-parse", "--is-shallow-repository") == "true"


def facts(cwd: Path) -> GitFacts:
    sha, commit_time = head(cwd)
    name, dirty = branch_and_changes(cwd)
    origin_head = _git(cwd, "symbolic-ref", "--short", "refs/remotes/origin/HEAD")  # origin/main
    return GitFacts(
        branch=name,
        dirty=dirty,
        default_branch=origin_head.split("/", 1)[1] if origin_head and "/" in origin_head else None,
        sha=sha,
        remote_url=_git(cwd, "remote", "get-url", "origin"),
        commit_time=commit_time,
    )
