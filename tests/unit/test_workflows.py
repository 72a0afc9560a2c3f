"""action.yml and the example workflows are valid for GitHub, and ask buildcache only for what it
has. check-jsonschema carries GitHub's schemas, so this runs offline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from buildcache.cli.app import app
from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / "examples").glob("*.yml"))


def _check(schema: str, *paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *paths],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_action_is_a_valid_action() -> None:
    result = _check("vendor.github-actions", str(ROOT / "action.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_the_example_workflows_are_valid_workflows_that_use_the_action(workflow) -> None:
    result = _check("vendor.github-workflows", str(workflow))
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    assert "uses: ./" in text
    assert "pip install buildcache" not in text  # that name on PyPI is someone else's


def test_the_action_passes_only_options_buildcache_has() -> None:
    command = typer.main.get_command(app)
    known = {
        option
        for sub in ("build", "login", "merge")
        for param in command.commands[sub].params  # type: ignore[attr-defined]
        for option in [*param.opts, *getattr(param, "secondary_opts", [])]
    }
    action = (ROOT / "action.yml").read_text()
    used = set(re.findall(r"(?:args\+=\(|\beach )(--[a-z-]+)", action))
    assert used
    assert used <= known, used - known


def test_the_workflow_init_prints_is_a_valid_workflow(tmp_path: Path) -> None:
    """With the checkout (and its git tags) and the triggers, not a lone step."""
    from buildcache.core.init import CI_STEP

    printed = tmp_path / "image.yml"
    printed.write_text(CI_STEP)
    result = _check("vendor.github-workflows", str(printed))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fetch-depth: 0" in CI_STEP
    assert "actions/checkout" in CI_STEP


def test_the_action_s_constraints_pin_every_dependency_buildcache_installs() -> None:
    """The action installs with `-c action-constraints.txt`: a dependency missing from it would
    float from run to run."""
    from importlib.metadata import distribution

    from packaging.requirements import Requirement

    pinned = {
        line.split("==")[0].lower()
        for line in (ROOT / "action-constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    seen: set[str] = set()
    todo = ["buildcache-cli"]
    while todo:
        dist = distribution(todo.pop())
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            name = requirement.name.lower().replace("_", "-")
            if name not in seen:
                seen.add(name)
                todo.append(name)
    assert seen <= pinned, seen - pinned


def test_the_gitlab_example_is_a_valid_pipeline_that_runs_buildcache() -> None:
    example = ROOT / "examples" / "gitlab" / ".gitlab-ci.yml"
    result = _check("vendor.gitlab-ci", str(example))
    assert result.returncode == 0, result.stdout + result.stderr
    text = example.read_text()
    assert "buildcache build" in text
    assert "buildcache login" in text  # from CI_REGISTRY_USER / CI_REGISTRY_PASSWORD
    assert "pip install buildcache " not in text  # that name on PyPI is someone else's
