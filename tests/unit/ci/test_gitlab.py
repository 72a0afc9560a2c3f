"""ci/gitlab.py: a GitLab CI pipeline read from its variables."""

from __future__ import annotations

from buildcache.ci.providers import run_context
from buildcache.core.plan.ci import GitFacts

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
