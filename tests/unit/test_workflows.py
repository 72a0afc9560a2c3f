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
from tests.unit.conftest import DockerCalls

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
    from buildcache.migrate.starter import CI_STEP

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


def _lint_workflows(repo: Path, workflows: dict[str, str]) -> subprocess.CompletedProcess[str]:
    folder = repo / ".github" / "workflows"
    folder.mkdir(parents=True)
    for name, text in workflows.items():
        (folder / name).write_text(text)
    (repo / "action.yml").write_text((ROOT / "action.yml").read_text())
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    actionlint = Path(sys.executable).parent / "actionlint"
    return subprocess.run(
        [str(actionlint), "-no-color", "-oneline"], cwd=repo, capture_output=True, text=True
    )


def test_every_action_named_runs_on_a_runtime_github_supports(tmp_path: Path) -> None:
    """actionlint knows each action's runtime: node20 ones (actions/checkout@v4,
    setup-buildx-action@v3, ...) are flagged. The examples, the workflow init prints, and the
    actions action.yml itself uses (a workflow step of each)."""
    from buildcache.migrate.starter import CI_STEP

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    own = [step["uses"] for step in action["runs"]["steps"] if "uses" in step]
    assert own
    steps = "".join(f"      - uses: {uses}\n        with: {{path: x, key: y}}\n" for uses in own)
    steps = steps.replace("setup-python@v6\n        with: {path: x, key: y}", "setup-python@v6")
    uses_of_action = f"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"
    workflows = {w.name: w.read_text() for w in WORKFLOWS}
    result = _lint_workflows(
        tmp_path, {**workflows, "init.yml": CI_STEP, "action-uses.yml": uses_of_action}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    named = re.findall(r"uses: ([\w./-]+@v\d+)", "".join(workflows.values()) + CI_STEP)
    assert {"actions/checkout@v5", "docker/setup-buildx-action@v4"} <= set(named)


# A workflow as docker's documentation writes one: metadata-action's tags and labels handed to
# build-push-action. Switched to buildcache by its `uses:` line alone.
METADATA_THEN_BUILD_PUSH = """\
name: ci
on:
  push:
    branches: [main]
    tags: ["v*"]
  pull_request:
jobs:
  docker:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
    steps:
      - uses: actions/checkout@v5
      - name: Docker meta
        id: meta
        uses: docker/metadata-action@v6
        with:
          images: |
            ghcr.io/acme/widget
            acme/widget
          tags: |
            type=ref,event=branch
            type=ref,event=pr
            type=semver,pattern={{version}}
            type=sha
      - uses: docker/setup-qemu-action@v4
      - id: buildx
        uses: docker/setup-buildx-action@v4
      - uses: docker/login-action@v4
        with:
          registry: ghcr.io
          username: ${{ github.actor }}
          password: ${{ secrets.GITHUB_TOKEN }}
      - name: Build and push
        id: build
        uses: docker/build-push-action@v7
        with:
          context: .
          builder: ${{ steps.buildx.outputs.name }}
          platforms: linux/amd64,linux/arm64
          push: ${{ github.event_name != 'pull_request' }}
          tags: ${{ steps.meta.outputs.tags }}
          labels: ${{ steps.meta.outputs.labels }}
          annotations: ${{ steps.meta.outputs.annotations }}
          provenance: true
          sbom: true
          cache-from: type=gha
          cache-to: type=gha,mode=max
          secret-envs: |
            NPM_TOKEN=NPM_TOKEN
          ssh: default
          github-token: ${{ secrets.GITHUB_TOKEN }}
          outputs: type=registry
          load: false
      - run: echo "${{ steps.build.outputs.digest }} ${{ steps.build.outputs.imageid }}"
      - run: echo "$METADATA" | jq .
        env:
          METADATA: ${{ steps.build.outputs.metadata }}
"""


def test_a_build_push_action_workflow_switched_by_its_uses_line_passes_actionlint(
    tmp_path: Path,
) -> None:
    assert (
        _lint_workflows(tmp_path / "docker", {"ci.yml": METADATA_THEN_BUILD_PUSH}).returncode == 0
    )
    switched = METADATA_THEN_BUILD_PUSH.replace("uses: docker/build-push-action@v7", "uses: ./")
    assert switched != METADATA_THEN_BUILD_PUSH
    result = _lint_workflows(tmp_path / "buildcache", {"ci.yml": switched})
    assert result.returncode == 0, result.stdout + result.stderr


def _build_step_inputs(workflow: str) -> dict[str, str]:
    """The Build step's environment from a workflow's `with:`, as the runner sets it: each
    input the action has, its default where the workflow leaves it out."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "build")
    given = next(
        s for s in yaml.safe_load(workflow)["jobs"]["docker"]["steps"] if s.get("id") == "build"
    )
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update(
        {
            name: str(value).lower() if isinstance(value, bool) else str(value)
            for name, value in given["with"].items()
        }
    )
    return {
        variable: inputs[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        for variable, value in step["env"].items()
    }


SHA = "860c1904a1ce19322e91ac35af1ab07466440c37"
# What metadata-action@v6 outputs for METADATA_THEN_BUILD_PUSH on a push to main
META_TAGS = (
    "ghcr.io/acme/widget:main\nghcr.io/acme/widget:sha-860c190\n"
    "acme/widget:main\nacme/widget:sha-860c190"
)
META_LABELS = (
    "org.opencontainers.image.created=2026-12-04T12:00:00.000Z\n"
    "org.opencontainers.image.description=\n"
    "org.opencontainers.image.revision=" + SHA + "\n"
    "org.opencontainers.image.source=https://github.com/acme/widget\n"
    "org.opencontainers.image.title=widget\n"
    "org.opencontainers.image.version=main"
)
META_ANNOTATIONS = (
    "manifest:org.opencontainers.image.title=widget\nmanifest:org.opencontainers.image.version=main"
)


# `buildcache build ARGS` as `buildcache plan --json ARGS`: build's own options (the platforms,
# --load) kept aside in build-only.json, the plan in plan.json
PLAN_FOR_BUILD = """\
import json, subprocess, sys
build_only, plan_args, args = [], [], iter(sys.argv[2:])
for arg in args:
    if arg in ("--platform", "--output"):
        build_only += [arg, next(args)]
    elif arg == "--load":
        build_only.append(arg)
    else:
        plan_args.append(arg)
with open("build-only.json", "w") as out:
    json.dump(build_only, out)
with open("plan.json", "w") as out:
    plan = [sys.executable, "-m", "buildcache", "plan", "--json", *plan_args]
    sys.exit(subprocess.run(plan, stdout=out).returncode)
"""


def _run_build_step(repo: Path, inputs: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The Build step's script in `repo`, its `buildcache build ...` run as the real `buildcache
    plan --json` of the same options (this checkout's, through PYTHONPATH)."""
    stub = repo.parent / "bin" / "buildcache"
    stub.parent.mkdir()
    stub.write_text(f"#!{sys.executable}\n{PLAN_FOR_BUILD}")
    stub.chmod(0o755)
    env = {
        **inputs,
        "PATH": f"{stub.parent}:/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HOME": str(repo.parent),
        "BUILDCACHE_OFFLINE": "1",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_REPOSITORY": "acme/widget",
        "GITHUB_SHA": SHA,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "42",
        "NPM_TOKEN": "npm-s3cr3t",
        "SSH_AUTH_SOCK": str(repo.parent / "agent.sock"),  # ssh: default (an ssh-agent step)
    }
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", _build_script()],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )


def _checkout(repo: Path) -> Path:
    repo.mkdir()
    (repo / "buildcache.toml").write_text(
        'images = ["ghcr.io/acme/widget", "acme/widget"]\n'
        'platforms = ["linux/amd64", "linux/arm64"]\n'
    )
    (repo / "Dockerfile").write_text("FROM alpine:3.20\nRUN echo built\n")
    return repo


def _switched_inputs(tags: str) -> dict[str, str]:
    """METADATA_THEN_BUILD_PUSH's inputs with its expressions as a push to main fills them."""
    filled = {
        "${{ steps.meta.outputs.tags }}": tags,
        "${{ steps.meta.outputs.labels }}": META_LABELS,
        "${{ steps.meta.outputs.annotations }}": META_ANNOTATIONS,
        "${{ github.event_name != 'pull_request' }}": "true",
        "${{ steps.buildx.outputs.name }}": "builder-1",
        "${{ secrets.GITHUB_TOKEN }}": "ghs_s3cr3t",
    }
    inputs = _build_step_inputs(METADATA_THEN_BUILD_PUSH)
    return {name: filled.get(value, value) for name, value in inputs.items()}


@pytest.mark.parametrize("separator", ["\n", ","], ids=["lines", "comma-separated"])
def test_the_action_gives_metadata_action_s_tags_to_the_real_buildcache_plan(
    tmp_path: Path, separator: str
) -> None:
    """Done when: a workflow of build-push-action's inputs (metadata-action's full-reference
    tags, provenance: true, cache-from), its `uses:` line switched, plans those tags."""
    import json

    repo = _checkout(tmp_path / "widget")
    done = _run_build_step(repo, _switched_inputs(META_TAGS.replace("\n", separator)))
    assert done.returncode == 0, done.stdout + done.stderr
    plan = json.loads((repo / "plan.json").read_text())
    (variant,) = plan["variants"]
    assert variant["tags"] == [
        "ghcr.io/acme/widget:main",
        "docker.io/acme/widget:main",
        "ghcr.io/acme/widget:sha-860c190",
        "docker.io/acme/widget:sha-860c190",
    ]
    assert variant["attest"]["provenance"] == "min"  # provenance: true, buildx's default mode
    assert variant["attest"]["sbom"] is True
    assert variant["labels"]["org.opencontainers.image.title"] == "widget"
    assert variant["annotations"]["org.opencontainers.image.title"] == "widget"
    assert variant["secrets"] == [{"id": "NPM_TOKEN", "env": "NPM_TOKEN", "required": True}]
    assert variant["ssh"] == ["default"]
    build_only = json.loads((repo / "build-only.json").read_text())
    assert build_only == [
        "--platform", "linux/amd64", "--platform", "linux/arm64", "--output", "type=registry"
    ]  # fmt: skip
    warnings = [line for line in done.stdout.splitlines() if line.startswith("::warning")]
    assert any("cache-from: type=gha is not read" in w for w in warnings)
    assert any("cache-to is not used" in w for w in warnings)
    assert any("github-token is not used" in w for w in warnings)
    assert not any("s3cr3t" in line for line in done.stdout.splitlines() + done.stderr.splitlines())


def test_a_tag_of_an_image_the_config_does_not_have_is_a_usage_error_naming_it(
    tmp_path: Path,
) -> None:
    repo = _checkout(tmp_path / "widget")
    inputs = _switched_inputs(META_TAGS + "\nquay.io/acme/widget:main")
    done = _run_build_step(repo, inputs)
    assert done.returncode == 2
    assert (
        "--tag 'quay.io/acme/widget:main' is a tag of quay.io/acme/widget, which is not an image "
        "of the config (ghcr.io/acme/widget, docker.io/acme/widget)"
    ) in done.stderr
    assert "Traceback" not in done.stderr


def _step(name: str) -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return next(s["run"] for s in action["runs"]["steps"] if s.get("name") == name)


def test_the_action_puts_only_buildcache_on_path_never_its_venv_s_python_or_pip(
    tmp_path: Path,
) -> None:
    """The Install step, with a Python whose `-m venv` makes a venv of stand-ins: the folder it
    adds to GITHUB_PATH holds buildcache alone, so the job's own python and pip stay first."""
    python = tmp_path / "python"
    python.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2" = "-m venv" ] || exit 0\n'
        'mkdir -p "$3/bin"\n'
        'for name in python pip python3 buildcache; do printf "#!/bin/sh\\n" > "$3/bin/$name"; '
        'chmod +x "$3/bin/$name"; done\n'
    )
    python.chmod(0o755)
    github_path = tmp_path / "github_path"
    env = {
        "PATH": "/usr/bin:/bin",
        "BUILDCACHE_PYTHON": str(python),
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_PATH": str(github_path),
    }
    (tmp_path / "temp").mkdir()
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", _step("Install buildcache")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (added,) = github_path.read_text().splitlines()
    assert sorted(p.name for p in Path(added).iterdir()) == ["buildcache"]
    assert (
        Path(added) / "buildcache"
    ).resolve() == tmp_path / "temp/buildcache-venv/bin/buildcache"


def test_the_dependency_cache_key_is_made_where_the_action_runs_from_a_checkout_path(
    tmp_path: Path,
) -> None:
    """hashFiles() hashes only the workspace's files, and refuses the /./ that `uses: ./` puts in
    github.action_path: the key comes from a shell, of the constraints and Python's version."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    cache = next(
        s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/cache")
    )
    assert cache["with"]["key"] == "${{ steps.key.outputs.key }}"
    action_path = tmp_path / "workspace"
    action_path.mkdir()
    constraints = action_path / "action-constraints.txt"
    constraints.write_text((ROOT / "action-constraints.txt").read_text())

    def key() -> str:
        output = tmp_path / "output"
        output.write_text("")
        env = {
            "PATH": "/usr/bin:/bin",
            "BUILDCACHE_PYTHON": sys.executable,
            "GITHUB_ACTION_PATH": f"{action_path}/./",  # as `uses: ./` sets it
            "GITHUB_OUTPUT": str(output),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
        }
        done = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", _step("Check Python")],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return output.read_text()

    first = key()
    version = f"py{sys.version_info.major}.{sys.version_info.minor}"
    assert re.fullmatch(rf"key=buildcache-Linux-X64-{version}-[0-9a-f]{{16}}\n", first), first
    constraints.write_text(constraints.read_text().replace("httpx==", "httpx==9"))
    assert key() != first  # new constraints, new wheels


def _build_args(tmp_path: Path, **inputs: str) -> tuple[list[str], list[str]]:
    """The Build step's script with a buildcache that prints its arguments: (them, the
    warnings)."""
    stub = tmp_path / "bin" / "buildcache"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text('#!/bin/sh\nprintf "arg %s\\n" "$@"\necho "builder $BUILDX_BUILDER"\n')
    stub.chmod(0o755)
    env = {f"BUILDCACHE_INPUT_{k.upper()}": v for k, v in inputs.items()}
    env |= {"BUILDCACHE_INPUT_CACHE": "auto", "PATH": f"{stub.parent}:/usr/bin:/bin"}
    env |= {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/widget",
        "GITHUB_RUN_ID": "42",
    }
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", _build_script()], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    args = [line.removeprefix("arg ") for line in lines if line.startswith("arg ")]
    return args + [line for line in lines if line.startswith("builder ")], [
        line.removeprefix("::warning title=buildcache::")
        for line in lines
        if line.startswith("::warning")
    ]


RUN_URL = "https://github.com/acme/widget/actions/runs/42"


@pytest.mark.parametrize(
    ("provenance", "mode", "warning"),
    [
        ("true", "min", None),  # buildx's --provenance=true: BuildKit's default mode
        ("True", "min", None),
        ("false", "off", None),
        ("mode=max", "max", None),
        ("max", "max", None),  # buildcache's own word, as before
        (f"mode=max,builder-id={RUN_URL}", "max", None),  # the id buildcache gives anyway
        ("builder-id=https://ci.example/run/7", "min", "provenance: builder-id is not used"),
        ("mode=max,inline-only=true", "max", "provenance: inline-only is not used"),
        ("", None, None),  # the config's
    ],
)
def test_provenance_takes_build_push_action_s_forms(
    tmp_path: Path, provenance: str, mode: str | None, warning: str | None
) -> None:
    args, warnings = _build_args(tmp_path, provenance=provenance)
    given = [b for a, b in itertools.pairwise(args) if a == "--provenance"]
    assert given == ([mode] if mode else [])
    assert [w for w in warnings if w.startswith(warning or "")] == warnings
    assert len(warnings) == (1 if warning else 0)


@pytest.mark.parametrize(
    ("inputs", "expected", "warning"),
    [
        ({"sbom": "true"}, ["--sbom"], None),
        ({"sbom": "FALSE"}, ["--no-sbom"], None),
        ({"sbom": "generator=acme/scanner"}, ["--sbom"], "sbom: only true or false is used"),
        ({"outputs": "type=registry", "push": "false"}, ["--output"], None),
        ({"outputs": "type=image,name=x,push=true", "push": "false"}, ["--output"], None),
        ({"outputs": "type=docker", "push": "false"}, ["--output"], None),
        ({"outputs": "type=local,dest=out", "push": "false"}, ["--output"], None),
        ({"load": "true", "push": "false"}, ["--load"], None),
        ({"push": "TRUE"}, ["--push"], None),
        ({"secret_envs": "NPM=NPM_TOKEN,PIP=PIP_TOKEN"}, ["--secret", "--secret"], None),
        ({"ssh": "default\ngithub=/k/id_ed25519"}, ["--ssh", "--ssh"], None),
        ({"builder": "builder-1"}, ["builder builder-1"], None),
        ({"cache_to": "type=gha,mode=max"}, [], "cache-to is not used: buildcache writes"),
        ({"cache_from": "type=registry,ref=x:cache"}, [], "cache-from: type=registry is not read"),
        ({"network": "host"}, [], "network is not used"),
        ({"call": "build"}, [], None),
        ({"shm_size": "2g", "ulimit": "nofile=1024:1024"}, [], "shm-size is not used"),
    ],
)
def test_build_push_action_s_other_inputs_are_used_or_said_not_to_be(
    tmp_path: Path, inputs: dict[str, str], expected: list[str], warning: str | None
) -> None:
    args, warnings = _build_args(tmp_path, **inputs)
    flags = ["--sbom", "--no-sbom", "--push", "--load", "--secret", "--ssh", "--output"]
    assert [a for a in args if a in flags or a.startswith("builder ")] == [
        *expected,
        *([] if "builder" in inputs else ["builder "]),
    ]
    if warning:
        assert any(w.startswith(warning) for w in warnings), warnings
    else:
        assert warnings == []


def _dry_run_step(tmp_path: Path, given: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The Build step as the runner runs it: every input the action has (its default where
    `given` leaves it out) in the step's environment, its `buildcache build ...` the real one
    with --dry-run (the bake file and the tag writes it would run, on stdout), on a builder that
    can push untagged (docker-container)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "build")
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs |= given
    env = {
        variable: inputs[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        for variable, value in step["env"].items()
    }
    repo = _checkout(tmp_path / "widget")
    buildx = tmp_path / "home" / ".docker" / "buildx"
    (buildx / "instances").mkdir(parents=True)
    (buildx / "instances" / "ci").write_text('{"Name": "ci", "Driver": "docker-container"}')
    (buildx / "current").write_text('{"Name": "ci"}')
    stub = tmp_path / "bin" / "buildcache"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\nexec {sys.executable} -m buildcache "$@" --dry-run --offline\n')
    stub.chmod(0o755)
    env |= {
        "PATH": f"{stub.parent}:/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path / "home"),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/widget",
        "GITHUB_RUN_ID": "42",
        "BUILDCACHE_VERSION": "1.2.3",
    }
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", _build_script()],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )


def _bake_target(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    """The one target of the bake file a --dry-run printed."""
    import json

    text = done.stdout.split("# the command")[0]
    bake = json.loads(text[text.index("{") :])
    (target,) = bake["target"].values()
    return target


def test_the_action_s_push_input_is_false_by_default_as_build_push_action_s(
    tmp_path: Path,
) -> None:
    """A step that does not say `push` builds and pushes nothing (it pushed every tag)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["inputs"]["push"]["default"] == "false"
    done = _dry_run_step(tmp_path, {})
    assert done.returncode == 0, done.stderr
    assert _bake_target(done)["output"] == ["type=cacheonly"]
    assert "PUT " not in done.stdout


@pytest.mark.parametrize("push", ["false", "true"])
@pytest.mark.parametrize(
    ("outputs", "tags"),
    [
        ("type=image,push-by-digest=true,name-canonical=true,push=true", "ghcr.io/acme/widget"),
        (
            'type=image,"name=ghcr.io/acme/widget,acme/widget",push-by-digest=true,'
            "name-canonical=true,push=true",
            "",
        ),
    ],
    ids=["docker's recipe (tags: the image)", "its older form (name=)"],
)
def test_outputs_push_by_digest_pushes_one_platform_by_digest_never_a_tag(
    tmp_path: Path, push: str, outputs: str, tags: str
) -> None:
    """docker's per-platform runner recipe: the platform's image by digest to every image of
    the config, no tag written (merge writes them), the cache ref the platform's own."""
    given = {"platforms": "linux/arm64", "outputs": outputs, "push": push, "tags": tags}
    done = _dry_run_step(tmp_path, given)
    assert done.returncode == 0, done.stderr
    target = _bake_target(done)
    assert target["platforms"] == ["linux/arm64"]
    assert target["tags"] == []
    assert target["output"] == [
        'type=image,"name=ghcr.io/acme/widget,docker.io/acme/widget",push=true,'
        "push-by-digest=true,name-canonical=true"
    ]
    cache = "ghcr.io/acme/widget:buildcache-default"
    assert target["cache-to"] == [
        f"type=registry,ref={cache}-linux-arm64,mode=max,ignore-error=true"
    ]  # the platform's own ref: two runners never overwrite each other's cache
    assert target["cache-from"] == [
        f"type=registry,ref={cache}-linux-arm64",
        f"type=registry,ref={cache}",
    ]
    assert "PUT " not in done.stdout  # no tag is written


def test_outputs_push_by_digest_of_two_platforms_is_refused_in_one_sentence(
    tmp_path: Path,
) -> None:
    outputs = "type=image,push-by-digest=true,name-canonical=true,push=true"
    done = _dry_run_step(tmp_path, {"outputs": outputs})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--push-by-digest builds one platform per run, and default has 2" in done.stderr
    assert "Traceback" not in done.stderr
    assert "PUT " not in done.stdout


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        ("type=local,dest=out", "type=local,dest={repo}/out"),
        ("type=tar,dest=image.tar", "type=tar,dest={repo}/image.tar"),
        (
            "type=oci,dest=image.tar,compression=zstd",
            "type=oci,dest={repo}/image.tar,compression=zstd",
        ),
        ("type=docker,dest=image.tar", "type=docker,dest={repo}/image.tar"),
        ("type=docker", "type=docker"),
    ],
)
def test_outputs_that_write_files_or_load_are_handed_to_buildx(
    tmp_path: Path, outputs: str, expected: str
) -> None:
    done = _dry_run_step(tmp_path, {"outputs": outputs, "platforms": "linux/amd64"})
    assert done.returncode == 0, done.stderr
    target = _bake_target(done)
    assert target["output"] == [expected.format(repo=tmp_path / "widget")]
    assert "PUT " not in done.stdout
    assert "::warning" not in done.stdout


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (
            {"load": "true", "platforms": "linux/amd64,linux/arm64"},
            "--load loads one platform into the local image store",
        ),
        ({"outputs": "type=gha"}, "type=gha is not an exporter buildcache can use"),
        ({"outputs": "type=local"}, "type=local writes files, and needs dest=PATH"),
        (
            {"outputs": "type=local,dest=out", "push": "true"},
            "type=local writes files, and cannot be combined with a push",
        ),
        (
            {"outputs": "type=image,name=quay.io/acme/widget,push=true"},
            "name=quay.io/acme/widget is not an image of the config",
        ),
        (
            {"outputs": "type=image,push-by-digest=true", "platforms": "linux/amd64"},
            "push-by-digest=true pushes nothing without push=true",
        ),
        ({"outputs": "type=docker\ntype=registry"}, "--output is given 2 times"),
    ],
)
def test_outputs_and_load_buildcache_cannot_honour_exit_2_in_one_sentence(
    tmp_path: Path, given: dict[str, str], words: str
) -> None:
    done = _dry_run_step(tmp_path, given)
    assert done.returncode == 2, done.stdout + done.stderr
    assert words in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_load_of_one_platform_loads_it_with_its_tags(tmp_path: Path) -> None:
    done = _dry_run_step(tmp_path, {"load": "true", "platforms": "linux/arm64"})
    assert done.returncode == 0, done.stderr
    target = _bake_target(done)
    assert target["output"] == ["type=docker"]
    assert "ghcr.io/acme/widget:1.2.3" in target["tags"]  # type: ignore[operator]


@pytest.mark.parametrize("call", ["check", "outline"])
def test_call_other_than_build_is_refused_never_a_build(tmp_path: Path, call: str) -> None:
    """build-push-action's call: check runs the Dockerfile's checks instead of a build: a
    build (and a push) in its place would do what was not asked."""
    done = _dry_run_step(tmp_path, {"call": call, "push": "true"})
    assert done.returncode == 2
    assert f"::error title=buildcache::call: {call} is not run by buildcache" in done.stdout
    assert "docker-bake.json" not in done.stdout  # buildcache never ran


def test_the_action_logs_out_only_of_the_registries_its_own_login_wrote(
    tmp_path: Path, docker_calls: DockerCalls
) -> None:
    """docker/login-action logged in to ghcr.io earlier in the job: the action's login leaves
    those credentials as they are and logs in to Docker Hub alone, and its last step logs out
    of Docker Hub alone (it emptied ghcr.io's, and a later push of the job failed). The Login
    and Logout steps' own scripts, with the real buildcache and the stand-in docker."""
    import base64
    import json

    from tests.github_output import read_outputs

    repo = _checkout(tmp_path / "widget")
    config = tmp_path / "docker-config"
    config.mkdir()
    theirs = base64.b64encode(b"octocat:ghs_from_login_action").decode()
    (config / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": theirs}}}))
    venv = tmp_path / "temp" / "buildcache-venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(sys.executable)
    stub = tmp_path / "bin" / "buildcache"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\nexec {sys.executable} -m buildcache "$@"\n')
    stub.chmod(0o755)
    output = tmp_path / "github-output"
    output.write_text("")
    env = {
        "PATH": f"{stub.parent}:{docker_calls.log.parent}:/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(config),
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": "ghs_s3cr3t",
        "GITHUB_ACTOR": "octocat",
        "DOCKERHUB_USERNAME": "acme",
        "DOCKERHUB_TOKEN": "dckr_s3cr3t",
        "BUILDCACHE_INPUT_CONFIG": "",
    }

    def step(name: str, **more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", _step(name)],
            cwd=repo,
            env={**env, **more},
            capture_output=True,
            text=True,
        )

    logged_in = step("Log in to the registries")
    assert logged_in.returncode == 0, logged_in.stderr
    registries = read_outputs(output.read_text())["registries"]
    assert registries == "docker.io"
    logged_out = step("Log out of the registries", BUILDCACHE_LOGGED_IN=registries)
    assert logged_out.returncode == 0, logged_out.stderr
    calls = [c["args"] for c in docker_calls.calls]
    assert [c for c in calls if c[0] == "login"] == [
        ["login", "--password-stdin", "--username", "acme"]
    ]
    assert [c for c in calls if c[0] == "logout"] == [["logout"]]  # docker.io's, no other
    assert json.loads((config / "config.json").read_text())["auths"]["ghcr.io"]["auth"] == theirs
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    logout = next(
        s for s in action["runs"]["steps"] if s.get("name") == "Log out of the registries"
    )
    assert "steps.login.outputs.registries != ''" in logout["if"]  # none logged in: no logout
