"""ci/providers.py: the CI providers, asked in order; and ci/provider.py's shape, which each
module has."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from buildcache.ci import github, gitlab, local, provider, providers
from buildcache.core.plan.ci import GitFacts, Repository


@pytest.mark.parametrize(
    ("env", "found"),
    [
        ({}, local),
        ({"CI": "true"}, local),
        ({"GITHUB_ACTIONS": "true"}, github),
        ({"GITLAB_CI": "true"}, gitlab),
        ({"GITHUB_ACTIONS": "false", "GITLAB_CI": "true"}, gitlab),
        ({"GITHUB_ACTIONS": "true", "GITLAB_CI": "true"}, github),  # GitHub first, as before
    ],
)
def test_the_first_provider_that_detects_the_run_is_its_ci(
    env: dict[str, str], found: object
) -> None:
    assert providers.current(env) is found


def test_the_repository_s_page_is_the_first_ci_s_that_names_it() -> None:
    both = {"GITHUB_REPOSITORY": "acme/widget", "CI_PROJECT_URL": "https://gitlab.com/a/w"}
    assert providers.repository(both) == Repository(
        "https://github.com/acme/widget", "GitHub Actions"
    )
    # named by a CI's variables even in another CI's run (or none), as it always was
    in_gitlab = providers.run_context({"GITLAB_CI": "true", **both}, GitFacts())
    assert in_gitlab.ci == "gitlab"
    assert in_gitlab.repository == providers.repository(both)
    assert providers.repository({}) is None


def test_a_registry_s_variables_come_from_the_ci_that_keeps_them() -> None:
    gitlab_job = {"GITLAB_CI": "true", "CI_REGISTRY": "registry.gitlab.com"}
    assert providers.registry_variables("ghcr.io", gitlab_job).user == "GITHUB_ACTOR"  # type: ignore[union-attr]
    assert (
        providers.registry_variables("registry.gitlab.com", gitlab_job).user == "CI_REGISTRY_USER"
    )  # type: ignore[union-attr]
    assert providers.registry_variables("quay.io", gitlab_job) is None


@pytest.mark.parametrize("module", providers.PROVIDERS)
def test_every_provider_has_the_shape_with_the_same_parameters(module: object) -> None:
    """mypy checks the types (PROVIDERS is a tuple of Provider); here the parameters' names,
    which a caller may pass by keyword."""
    for name, member in inspect.getmembers(provider.Provider, inspect.isfunction):
        if name.startswith("_"):
            continue
        wanted = list(inspect.signature(member).parameters)[1:]  # without self
        assert list(inspect.signature(getattr(module, name)).parameters) == wanted, name


def test_plan_reads_the_run_through_the_provider_end_to_end(tmp_path: Path) -> None:
    """`plan --json` in a GitHub pull request run: the event file's head commit (metadata-action's
    DOCKER_METADATA_PR_HEAD_SHA), the pull request's tag and the repository's page as the
    source label, as the provider read them from outside core."""
    (tmp_path / "buildcache.toml").write_text('images = ["ghcr.io/acme/widget"]\n')
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 15, "pull_request": {"head": {"sha": "head1111"}}}))
    dropped = ("GITHUB_", "GITLAB_", "CI_", "BUILDCACHE_", "DOCKER_METADATA_", "GIT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and k != "CI"}
    env |= {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REF": "refs/pull/15/merge",
        "GITHUB_SHA": "merge0000",
        "GITHUB_REPOSITORY": "acme/widget",
        "DOCKER_METADATA_PR_HEAD_SHA": "true",
        "GIT_CEILING_DIRECTORIES": str(tmp_path.parent),  # no repository above the project
    }
    run = subprocess.run(
        [sys.executable, "-m", "buildcache", "plan", "--json", "--offline"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    variant = json.loads(run.stdout)["variants"][0]
    labels = variant["labels"]
    assert labels["org.opencontainers.image.source"] == "https://github.com/acme/widget"
    assert labels["org.opencontainers.image.revision"] == "head1111"
    assert variant["tags"] == ["ghcr.io/acme/widget:pr-15"]
