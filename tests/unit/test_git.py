"""git.py against a real repository in a temporary folder: the branch, changes, a shallow clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from buildcache import git


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    _git(folder, "init", "-q", "-b", "main")
    (folder / "Dockerfile").write_text("FROM scratch\n")
    _git(folder, "add", "Dockerfile")
    _git(folder, "commit", "-q", "-m", "first")
    _git(folder, "tag", "v1.0.0")
    return folder


def test_a_clean_tree_on_a_branch(repo: Path) -> None:
    assert git.branch_and_changes(repo) == ("main", False)
    assert git.facts(repo).dirty is False


def test_a_changed_tracked_file_is_a_dirty_tree_an_untracked_one_is_not(repo: Path) -> None:
    (repo / "notes.txt").write_text("untracked\n")
    assert git.branch_and_changes(repo) == ("main", False)
    (repo / "Dockerfile").write_text("FROM busybox\n")
    assert git.branch_and_changes(repo) == ("main", True)


def test_a_detached_head_and_a_folder_without_git_have_no_branch(
    repo: Path, tmp_path: Path
) -> None:
    _git(repo, "checkout", "-q", "--detach")
    assert git.branch_and_changes(repo) == (None, False)
    assert git.branch_and_changes(tmp_path) == (None, False)


def test_a_shallow_clone_is_told_apart_from_a_full_one(repo: Path, tmp_path: Path) -> None:
    (repo / "Dockerfile").write_text("FROM busybox\n")
    _git(repo, "commit", "-q", "-am", "second")
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", "shallow")
    assert git.shallow(tmp_path / "shallow") is True
    assert git.tags(tmp_path / "shallow") == []  # the release tags are not there
    assert git.shallow(repo) is False
