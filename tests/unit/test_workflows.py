"""action.yml and the example workflows are valid for GitHub, and ask buildcache only for what it
has. check-jsonschema carries GitHub's schemas, so this runs offline."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml

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


# A workflow as a build-push-action user writes it, with buildcache in the action's place.
BUILD_PUSH_USER = """\
name: image
on:
  push:
    branches: [main]
    tags: ["v*"]
  pull_request:
  workflow_dispatch:
jobs:
  image:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
    steps:
      - uses: actions/checkout@v5
      - id: build
        uses: ./
        with:
          context: .
          file: docker/Dockerfile
          target: runtime
          platforms: linux/amd64,linux/arm64
          push: ${{ github.event_name != 'pull_request' }}
          tags: |
            ghcr.io/acme/widget:edge
          build-args: |
            PIP_EXTRAS=server,postgres
          build-contexts: |
            shared=../shared
          labels: |
            org.opencontainers.image.vendor=Acme
          annotations: |
            org.example.team=web
          secrets: |
            PYPI_TOKEN=${{ secrets.PYPI_TOKEN }}
          secret-files: |
            netrc=.netrc
          provenance: mode=max
          sbom: true
          no-cache: false
          pull: true
      - run: echo "$DIGEST $IMAGEID" && echo "$METADATA" | jq . && echo "$TAGS"
        env:
          DIGEST: ${{ steps.build.outputs.digest }}
          IMAGEID: ${{ steps.build.outputs.imageid }}
          METADATA: ${{ steps.build.outputs.metadata }}
          TAGS: ${{ steps.build.outputs.tags }}
"""


def _actionlint(repo: Path, workflow: str) -> subprocess.CompletedProcess[str]:
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "image.yml").write_text(workflow)
    (repo / "action.yml").write_text((ROOT / "action.yml").read_text())
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    actionlint = Path(sys.executable).parent / "actionlint"
    return subprocess.run(
        [str(actionlint), "-no-color", "-oneline"], cwd=repo, capture_output=True, text=True
    )


def test_a_workflow_with_build_push_action_s_inputs_and_outputs_passes_actionlint(
    tmp_path: Path,
) -> None:
    result = _actionlint(tmp_path, BUILD_PUSH_USER)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_names_an_input_or_output_the_action_does_not_have(tmp_path: Path) -> None:
    misspelt = BUILD_PUSH_USER.replace("platforms:", "platformz:").replace(
        "outputs.imageid", "outputs.image-id"
    )
    result = _actionlint(tmp_path, misspelt)
    assert result.returncode == 1
    assert 'input "platformz" is not defined' in result.stdout
    assert 'property "image-id" is not defined' in result.stdout


def _build_script() -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return next(s["run"] for s in action["runs"]["steps"] if s.get("id") == "build")


def test_the_action_hands_build_push_action_s_inputs_to_buildcache_never_a_secret_on_a_command_line(
    tmp_path: Path,
) -> None:
    """The Build step's own script, run by bash with a buildcache that prints what it gets."""
    stub = tmp_path / "bin" / "buildcache"
    stub.parent.mkdir()
    stub.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@"\n'
        'echo "context=$BUILDCACHE_CONTEXT file=$BUILDCACHE_DOCKERFILE target=$BUILDCACHE_TARGET"\n'
        'echo "secret=$BUILDCACHE_ACTION_SECRET_1"\n'
    )
    stub.chmod(0o755)
    inputs = {
        "VARIANTS": "",
        "VERSION": "",
        "PUSH": "true",
        "CACHE": "auto",
        "MIN_CACHE_HIT": "",
        "CONFIG": "",
        "ARGS": "",
        "PLATFORMS": "linux/amd64,linux/arm64",
        "TAGS": "",
        "BUILD_ARGS": "",
        "BUILD_CONTEXTS": "",
        "PROVENANCE": "",
        "SBOM": "",
        "NO_CACHE": "false",
        "PULL": "false",
        "CONTEXT": "app",
        "FILE": "docker/Dockerfile",
        "TARGET": "runtime",
        "LABELS": "org.opencontainers.image.vendor=Acme Corp\n",
        "ANNOTATIONS": "org.example.team=web",
        "SECRETS": "PYPI_TOKEN=s3cr3t=value\n",
        "SECRET_FILES": "netrc=.netrc",
    }
    env = {f"BUILDCACHE_INPUT_{k}": v for k, v in inputs.items()}
    env["PATH"] = f"{stub.parent}:/usr/bin:/bin"
    done = subprocess.run(
        ["bash", "-e", "-c", _build_script()], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    args = done.stdout.splitlines()
    assert args[:4] == ["build", "--cache", "auto", "--platform"]
    pairs = list(itertools.pairwise(args))
    assert ("--label", "org.opencontainers.image.vendor=Acme Corp") in pairs
    assert ("--annotation", "org.example.team=web") in pairs
    assert ("--secret", "id=PYPI_TOKEN,env=BUILDCACHE_ACTION_SECRET_1") in pairs
    assert ("--secret", "id=netrc,src=.netrc") in pairs
    assert "context=app file=docker/Dockerfile target=runtime" in args
    assert "secret=s3cr3t=value" in args  # in the environment BuildKit reads it from
    assert not any("s3cr3t" in arg for arg in args if not arg.startswith("secret="))
