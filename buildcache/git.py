"""The few facts buildcache reads from git: the tags, HEAD's commit, the branch, the remote."""

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


def branch(cwd: Path) -> str | None:
    name = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    return None if name in (None, "HEAD") else name  # HEAD: detached, no branch


def remote_default_branch(cwd: Path) -> str | None:
    ref = _git(cwd, "symbolic-ref", "--short", "refs/remotes/origin/HEAD")
    return ref.split("/", 1)[1] if ref and "/" in ref else None


def facts(cwd: Path) -> GitFacts:
    sha, commit_time = head(cwd)
    return GitFacts(
        branch=branch(cwd),
        default_branch=remote_default_branch(cwd),
        sha=sha,
        remote_url=_git(cwd, "remote", "get-url", "origin"),
        commit_time=commit_time,
    )
