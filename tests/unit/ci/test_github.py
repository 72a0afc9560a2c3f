"""ci/github.py: a GitHub Actions run read from its variables and its event file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildcache.ci.providers import run_context
from buildcache.core.plan.ci import GitFacts, RunContext

LOCAL = GitFacts(branch="main", default_branch=None, sha="0123456789abcdef")


def test_github_context_from_the_environment_and_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "repository": {"default_branch": "trunk"},
                "pull_request": {"head": {"repo": {"full_name": "someone/widget", "fork": True}}},
            }
        )
    )
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_HEAD_REF": "patch-1",
        "GITHUB_REF_NAME": "12/merge",
        "GITHUB_REPOSITORY": "acme/widget",
        "GITHUB_SHA": "feedface",
    }
    context = run_context(env, LOCAL)
    assert context.ci == "github"
    assert context.branch == "patch-1"
    assert context.default_branch == "trunk"
    assert context.pull_request
    assert context.fork
    assert context.sha == "feedface"
    # the same repository is not a fork
    event.write_text(json.dumps({"pull_request": {"head": {"repo": {"full_name": "acme/widget"}}}}))
    env["GITHUB_BASE_REF"] = "main"
    context = run_context(env, LOCAL)
    assert not context.fork
    assert context.default_branch == "main"


def test_github_push_to_a_branch_and_a_tag() -> None:
    push = run_context(
        {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "dev"}, LOCAL
    )
    assert (push.branch, push.tag_build, push.pull_request) == ("dev", False, False)
    tag = run_context(
        {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v1.0.0"}, LOCAL
    )
    assert (tag.branch, tag.tag_build) == (None, True)


def _github(tmp_path: Path, name: str, payload: dict[str, Any], **env: str) -> RunContext:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    base = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(event)}
    return run_context({**base, "GITHUB_SHA": "merge0000", **env}, LOCAL)


PULL = {"number": 15, "pull_request": {"base": {"ref": "trunk"}, "head": {"sha": "head1111"}}}


def test_base_ref_is_a_pull_request_s_base_and_a_tag_push_s_base_ref(tmp_path: Path) -> None:
    assert _github(tmp_path, "pull_request", PULL, GITHUB_BASE_REF="x").base_ref == "trunk"
    # no pull_request in the event: GitHub's own variable
    assert _github(tmp_path, "pull_request", {}, GITHUB_BASE_REF="main").base_ref == "main"
    tag = {"base_ref": "refs/heads/master"}
    assert _github(tmp_path, "push", tag, GITHUB_REF_TYPE="tag").base_ref == "master"
    assert _github(tmp_path, "push", {"base_ref": None}, GITHUB_REF_TYPE="tag").base_ref is None
    assert _github(tmp_path, "push", tag, GITHUB_REF_TYPE="branch").base_ref is None


@pytest.mark.parametrize(
    ("name", "switch", "sha"),
    [
        ("pull_request", "true", "head1111"),
        ("pull_request_target", "TRUE", "head1111"),
        ("pull_request", "false", "merge0000"),
        ("pull_request", "", "merge0000"),
        ("push", "true", "merge0000"),  # only a pull request has a head apart from its merge
    ],
)
def test_docker_metadata_pr_head_sha_makes_a_pull_request_s_commit_its_head(
    tmp_path: Path, name: str, switch: str, sha: str
) -> None:
    context = _github(tmp_path, name, PULL, DOCKER_METADATA_PR_HEAD_SHA=switch)
    assert context.sha == sha
