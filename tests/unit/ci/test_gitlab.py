"""ci/gitlab.py: a GitLab CI pipeline read from its variables."""

from __future__ import annotations

import pytest

from buildcache.ci import gitlab
from buildcache.ci.providers import run_context, sink
from buildcache.core.login import RegistryVariables
from buildcache.core.plan.ci import GitFacts, Repository
from buildcache.ui.ci_sink import GitLabCI

LOCAL = GitFacts(branch="main", default_branch=None, sha="0123456789abcdef")


def test_gitlab_context() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_DEFAULT_BRANCH": "master",
        "CI_MERGE_REQUEST_IID": "4",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "topic",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "99",
        "CI_MERGE_REQUEST_PROJECT_ID": "1",
    }
    context = run_context(env, LOCAL)
    assert (context.ci, context.branch, context.default_branch) == ("gitlab", "topic", "master")
    assert context.pull_request
    assert context.fork


def test_a_merge_request_s_base_ref_is_its_target_branch() -> None:
    gitlab = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "4"}
    target = {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "develop"}
    assert run_context({**gitlab, **target}, LOCAL).base_ref == "develop"


def test_the_project_s_page_its_registry_s_credentials_and_its_sections() -> None:
    env = {"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.com/acme/widget"}
    assert run_context(env, LOCAL).repository == Repository(
        "https://gitlab.com/acme/widget", "GitLab CI"
    )
    env |= {"CI_REGISTRY": "registry.gitlab.com"}
    both = "CI_REGISTRY_USER and CI_REGISTRY_PASSWORD"
    assert gitlab.registry_variables("registry.gitlab.com", env) == RegistryVariables(
        "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD", both
    )
    assert gitlab.registry_variables("quay.io", env) is None
    # only in a GitLab job: a CI_REGISTRY elsewhere is no GitLab registry's
    assert gitlab.registry_variables("registry.gitlab.com", {**env, "GITLAB_CI": ""}) is None
    assert isinstance(sink(env), GitLabCI)


@pytest.mark.parametrize(
    ("env", "event"),
    [
        ({"CI_COMMIT_TAG": "v1.2.3"}, "tag"),
        ({"CI_PIPELINE_SOURCE": "schedule"}, "schedule"),
        ({"CI_PIPELINE_SOURCE": "web"}, "manual"),
        ({"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "dev"}, "branch"),
    ],
)
def test_what_started_the_pipeline(env: dict[str, str], event: str) -> None:
    context = run_context({"GITLAB_CI": "true", "CI_PROJECT_VISIBILITY": "public", **env}, LOCAL)
    assert (context.event, context.public, context.sha) == (event, True, LOCAL.sha)
