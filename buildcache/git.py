"""The few facts buildcache reads from git: the exact tag at HEAD, HEAD's commit, the branch."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(cwd: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git, or not a repository: the caller says what to give instead
    return result.stdout.strip() or None if result.returncode == 0 else None


def exact_tag(cwd: Path) -> str | None:
    return _git(cwd, "describe", "--tags", "--exact-match", "HEAD")


def head_sha(cwd: Path) -> str | None:
    return _git(cwd, "rev-parse", "HEAD")
