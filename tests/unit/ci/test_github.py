"""ci/github.py: a GitHub Actions run read from its variables and its event file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildcache.ci import github
from buildcache.ci.providers import run_context, sink
from buildcache.core.login import RegistryVariables
from buildcache.core.plan.ci import GitFacts, Repository, RunContext
from buildcache.ui.ci_sink import GitHubActions
from tests.github_output import read_outputs

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


def test_the_repository_s_page_and_the_run_s_url() -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/widget",
        "GITHUB_SERVER_URL": "https://ghe.acme.io/",
        "GITHUB_RUN_ID": "42",
    }
    context = run_context(env, LOCAL)
    assert context.repository == Repository("https://ghe.acme.io/acme/widget", "GitHub Actions")
    assert context.run_url == "https://ghe.acme.io/acme/widget/actions/runs/42"
    # github.com where the server is not said; no run URL without the run's id
    assert github.repository({"GITHUB_REPOSITORY": "acme/widget"}) == Repository(
        "https://github.com/acme/widget", "GitHub Actions"
    )
    assert run_context({**env, "GITHUB_RUN_ID": ""}, LOCAL).run_url is None


def test_an_event_file_that_cannot_be_read_is_no_event(tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "b"}
    for text in ("not json", "[1, 2]"):
        (tmp_path / "event.json").write_text(text)
        context = run_context({**env, "GITHUB_EVENT_PATH": str(tmp_path / "event.json")}, LOCAL)
        assert (context.default_branch, context.fork, context.public) == ("b", False, False)
    missing = run_context({**env, "GITHUB_EVENT_PATH": str(tmp_path / "gone.json")}, LOCAL)
    assert missing.base_ref == "b"


def test_ghcr_io_s_credentials_are_the_workflow_s_token_even_outside_actions() -> None:
    found = github.registry_variables("ghcr.io", {})
    assert found == RegistryVariables(
        "GITHUB_ACTOR", "GITHUB_TOKEN", "GITHUB_TOKEN (or GHCR_TOKEN) and GITHUB_ACTOR"
    )
    assert github.registry_variables("ghcr.io", {"GHCR_TOKEN": "t"}).password == "GHCR_TOKEN"  # type: ignore[union-attr]
    assert github.registry_variables("docker.io", {"GITHUB_ACTIONS": "true"}) is None


def test_the_sink_writes_where_the_runner_says(tmp_path: Path) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output)}
    found = sink(env | {"GITHUB_STEP_SUMMARY": str(summary)})
    assert isinstance(found, GitHubActions)
    assert (found.output, found.summary) == (output, summary)
    nowhere = sink({"GITHUB_ACTIONS": "true"})
    assert isinstance(nowhere, GitHubActions)
    assert (nowhere.output, nowhere.summary) == (None, None)
    sink(env).merge_results({"slim": "sha256:1"}, {"slim": ["r/a:1"]}, "slim")
    assert read_outputs(output.read_text())["digest"] == "sha256:1"
