"""At home in CI: logins from the environment, a branch's own cache, GitHub outputs and summary."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.github_output import read_outputs
from tests.integration.conftest import (
    REGISTRY_PASSWORD,
    REGISTRY_USER,
    Project,
    image_platforms,
    manifest,
)


def _git(project: Project, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project.path, check=True, capture_output=True)


def test_login_from_the_environment_then_push_to_a_registry_that_needs_it(
    project: Project, tmp_path: Path
) -> None:
    private = project.registries.private
    config = project.path / "buildcache.toml"
    config.write_text(
        config.read_text().replace(
            f'images = ["{project.registries.ghcr}/{project.name}", "{project.registries.hub}/{project.name}"]',
            f'images = ["{private}/{project.name}"]',
        )
    )
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    env = {"DOCKER_CONFIG": str(docker_config)}

    # without credentials: skipped with the variable that would give them, and the push fails
    result = project.run("login", env=env)
    assert result.returncode == 0, result.stderr
    variable = "BUILDCACHE_LOGIN_" + private.replace(".", "_").replace(":", "_")
    assert (
        f"skip   {private}: no credentials; set {variable}_USERNAME and {variable}_PASSWORD"
        in result.stderr
    )

    # a wrong password is an error that names the registry
    result = project.run(
        "login",
        env={
            **env,
            f"{variable}_USERNAME": REGISTRY_USER,
            f"{variable}_PASSWORD": "wrong-password",
        },
    )
    assert result.returncode == 1
    assert f"the login to {private} was rejected" in result.stderr
    assert "wrong-password" not in result.stdout + result.stderr
    # docker's own reason (its 401), never "exit code 1, no message" under it
    [failed] = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert failed.startswith(f"failed {private}: "), failed
    assert "401 Unauthorized" in failed, failed
    assert "no message" not in result.stderr

    env.update({f"{variable}_USERNAME": REGISTRY_USER, f"{variable}_PASSWORD": REGISTRY_PASSWORD})
    result = project.run("login", env=env)
    assert result.returncode == 0, result.stderr
    assert f"login  {private} as {REGISTRY_USER}" in result.stderr
    assert REGISTRY_PASSWORD not in result.stdout + result.stderr
    assert result.stdout == ""  # docker's "Login Succeeded" too goes to stderr

    result, data = project.run_json("build", "slim", "--push", "--version", "1.0.0", env=env)
    assert result.returncode == 0, result.stderr
    assert REGISTRY_PASSWORD not in result.stdout + result.stderr + json.dumps(data)
    auth = (REGISTRY_USER, REGISTRY_PASSWORD)
    assert image_platforms(f"{private}/{project.name}:1.0.0", auth=auth) == {
        "linux/amd64",
        "linux/arm64",
    }
    assert manifest(f"{project.registries.ghcr}/{project.name}-cache:buildcache-slim") is not None


def test_a_branch_reads_the_main_cache_and_writes_its_own(project: Project) -> None:
    _git(project, "init", "-q", "-b", "main")
    _git(
        project,
        "-c",
        "user.email=t@example.com",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    cache = f"{project.registries.ghcr}/{project.name}-cache"

    result = project.run("build", "full", "--push", "--version", "1", "--platform", "linux/amd64")
    assert result.returncode == 0, result.stderr
    assert manifest(f"{cache}:buildcache-full") is not None

    _git(project, "checkout", "-q", "-b", "Feature/Login")
    plan = project.run("plan", "full", "--version", "2", "--push")
    assert "cache read and write  (a local run with --push)" in plan.stderr
    result, data = project.run_json(
        "build", "full", "--push", "--version", "2", "--platform", "linux/amd64"
    )
    assert result.returncode == 0, result.stderr
    variant = data["variants"][0]
    assert variant["cache_from"] == [
        f"type=registry,ref={cache}:buildcache-full-feature-login",
        f"type=registry,ref={cache}:buildcache-full",
    ]
    assert [(i["ref"], i["status"]) for i in variant["cache"]["imported"]] == [
        (f"{cache}:buildcache-full-feature-login", "missing"),
        (f"{cache}:buildcache-full", "found"),
    ]
    assert variant["cache"]["exported"]["ref"] == f"{cache}:buildcache-full-feature-login"
    assert variant["cache"]["steps"]["cached"] >= 3  # the dependency steps came from main's cache
    assert manifest(f"{cache}:buildcache-full-feature-login") is not None

    # in CI the same branch only reads: nothing more is written
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_REF_NAME": "Feature/Login",
    }
    result, data = project.run_json(
        "build", "full", "--push", "--version", "3", "--platform", "linux/amd64", env=env
    )
    assert result.returncode == 0, result.stderr
    assert data["cache_policy"]["mode"] == "ro"
    assert data["variants"][0]["cache_to"] == []
    assert data["variants"][0]["cache"]["exported"]["status"] == "skipped"


def test_github_actions_outputs_summary_and_groups(project: Project, tmp_path: Path) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REF_TYPE": "tag",
        "GITHUB_REF_NAME": "v1.4.0",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_EVENT_NAME": "push",
    }
    config = project.path / "buildcache.toml"
    config.write_text(
        config.read_text().replace("[cache]", "[tags]\nsemver = true\nsha = true\n\n[cache]")
    )
    result, data = project.run_json("build", "--push", env=env)
    assert result.returncode == 0, result.stderr
    assert data["version"] == "v1.4.0"
    assert data["cache_policy"] == {"mode": "rw", "reason": "a release tag"}

    values = read_outputs(output.read_text())
    assert set(values) == {
        "slim-digest",
        "slim-tags",
        "slim-cache-hit",
        "slim-state",
        "full-digest",
        "full-tags",
        "full-cache-hit",
        "full-state",
        "digests",
        "variant-tags",
        "tags",
        "cache-hits",
        "states",
        "digest",
        "imageid",
        "metadata",
        "result",
    }
    assert values["digest"] == values["slim-digest"]  # the default variant's
    assert json.loads(values["states"]) == {"slim": "built", "full": "built"}
    assert json.loads(values["digests"]) == {
        "slim": values["slim-digest"],
        "full": values["full-digest"],
    }
    assert set(json.loads(values["variant-tags"])["full"]) == set(values["full-tags"].split(","))
    every_tag = values["slim-tags"].split(",") + values["full-tags"].split(",")
    assert values["tags"].splitlines() == every_tag  # metadata-action's shape: one per line
    # build-push-action's shapes, of the default variant: buildx's own metadata of its target
    metadata = json.loads(values["metadata"])
    assert metadata["containerimage.digest"] == values["digest"]
    assert metadata["containerimage.config.digest"] == values["imageid"]
    assert values["imageid"].startswith("sha256:")
    ghcr, hub = project.registries.ghcr, project.registries.hub
    for variant, suffix in (("slim", ""), ("full", "-full")):
        tags = values[f"{variant}-tags"].split(",")
        expected = {"1.4.0", "1.4", "1", "sha-0123456"}
        moving = "latest" if variant == "slim" else "full"
        assert {t.rsplit(":", 1)[1] for t in tags} == {f"{v}{suffix}" for v in expected} | {moving}
        assert {t.rsplit(":", 1)[0] for t in tags} == {
            f"{ghcr}/{project.name}",
            f"{hub}/{project.name}",
        }
        digest = values[f"{variant}-digest"]
        assert digest.startswith("sha256:")
        assert manifest(f"{hub}/{project.name}:1.4{suffix}")["_digest"] == digest
        assert 0.0 <= float(values[f"{variant}-cache-hit"]) <= 1.0
    assert json.loads(values["result"]) == data

    text = summary.read_text()
    assert "## buildcache: v1.4.0 built" in text
    assert "### slim (default)" in text
    assert f"| `{hub}/{project.name}` |" in text
    assert values["full-digest"] in text
    assert "steps from the cache" in text

    assert "::group::docker buildx bake: slim, full" in result.stderr
    assert "::group::slim:" in result.stderr
    assert "::group::full:" in result.stderr
    assert result.stderr.count("::endgroup::") == 3


def test_an_error_in_actions_is_an_annotation(project: Project) -> None:
    result = project.run("build", "nonexistent", "--version", "1", env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 2
    assert "::error title=buildcache::unknown variant 'nonexistent'" in result.stderr


def test_a_branch_named_like_a_release_never_writes_it(project: Project) -> None:
    """A release is written only by a release: `git checkout -b 1.0.0`, a change, `build --push`
    exits 2 before building, and the published release's tags are the same on every registry."""
    _git(project, "init", "-q", "-b", "main")
    commit = ("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "x")
    _git(project, "add", "-A")
    _git(project, *commit)
    args = ("build", "--push", "--platform", "linux/amd64")
    result, _ = project.run_json(*args, "--version", "1.0.0")
    assert result.returncode == 0, result.stderr
    images = [f"{r}/{project.name}" for r in (project.registries.ghcr, project.registries.hub)]
    tags = ("1.0.0", "1.0.0-full", "latest", "full")
    before = {(i, t): manifest(f"{i}:{t}")["_digest"] for i in images for t in tags}

    for branch in ("1.0.0", "1.0", "v2"):
        _git(project, "checkout", "-q", "-b", branch)
        (project.path / "example" / "src" / "VERSION").write_text(f"{branch}\n")
        _git(project, "add", "-A")
        _git(project, *commit, "--allow-empty")
        result = project.run(*args)
        assert result.returncode == 2, result.stderr
        assert "reads as a release, and this run is not that release" in result.stderr
        assert "Traceback" not in result.stderr
        assert "docker buildx bake" not in result.stderr  # refused before building
    after = {(i, t): manifest(f"{i}:{t}")["_digest"] for i in images for t in tags}
    assert after == before
    assert all(manifest(f"{i}:1.0") is None and manifest(f"{i}:v2") is None for i in images)


def test_metadata_action_s_full_reference_tags_are_pushed_to_every_image(project: Project) -> None:
    """build-push-action's `tags` as the action hands them on: metadata-action's references of
    both images, each tag pushed once to each, the same image under each; another image's
    reference stops the run with exit 2 before anything is built."""
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "x")
    images = [f"{r}/{project.name}" for r in (project.registries.ghcr, project.registries.hub)]
    given = [f"--tag={image}:{tag}" for tag in ("main", "sha-860c190") for image in images]
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main"}

    result = project.run(
        "build", "slim", "--push", "--platform", "linux/amd64", "--tag=quay.io/acme/x:1", env=env
    )
    assert result.returncode == 2, result.stderr
    assert "'quay.io/acme/x:1' is a tag of quay.io/acme/x, which is not an image" in result.stderr
    assert "docker buildx bake" not in result.stderr

    result, data = project.run_json(
        "build", "slim", "--push", "--platform", "linux/amd64", *given, env=env
    )
    assert result.returncode == 0, result.stderr
    assert sorted(data["variants"][0]["tags"]) == sorted(
        f"{image}:{tag}" for image in images for tag in ("main", "sha-860c190")
    )
    pushed = [manifest(f"{image}:{tag}") for image in images for tag in ("main", "sha-860c190")]
    assert len({found["_digest"] for found in pushed if found}) == 1
    assert all(pushed)


def test_the_action_s_logout_leaves_docker_login_action_s_credentials(
    project: Project, tmp_path: Path
) -> None:
    """A job that ran docker/login-action for the private registry, then the action: its Login
    step leaves that login as it is (even with credentials for it in the environment) and logs
    in where nothing was stored; its Logout step removes only what it stored. The real docker
    and registries; the action's own step scripts."""
    import sys

    import yaml

    from tests.conftest import ROOT

    private, ghcr = project.registries.private, project.registries.ghcr
    project.write_config(
        (project.path / "buildcache.toml")
        .read_text()
        .replace(
            f'images = ["{ghcr}/{project.name}", "{project.registries.hub}/{project.name}"]',
            f'images = ["{private}/{project.name}", "{ghcr}/{project.name}"]',
        )
    )
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    # docker/login-action, earlier in the job
    subprocess.run(
        ["docker", "--config", str(docker_config), "login", private, "-u", REGISTRY_USER,
         "--password-stdin"],
        input=REGISTRY_PASSWORD, text=True, capture_output=True, check=True,
    )  # fmt: skip
    before = json.loads((docker_config / "config.json").read_text())["auths"][private]
    venv = tmp_path / "temp" / "buildcache-venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(sys.executable)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "buildcache").write_text(
        f'#!/bin/sh\nexec {sys.executable} -m buildcache "$@"\n'
    )
    (tmp_path / "bin" / "buildcache").chmod(0o755)
    output = tmp_path / "github-output"
    output.write_text("")

    def variable(registry: str) -> str:
        return "BUILDCACHE_LOGIN_" + registry.replace(".", "_").replace(":", "_")

    env = project.environment(
        {
            "DOCKER_CONFIG": str(docker_config),
            "RUNNER_TEMP": str(tmp_path / "temp"),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_ACTIONS": "true",
            "BUILDCACHE_INPUT_CONFIG": "",
            f"{variable(private)}_USERNAME": REGISTRY_USER,
            f"{variable(private)}_PASSWORD": REGISTRY_PASSWORD,
            f"{variable(ghcr)}_USERNAME": "action",  # the anonymous registry takes any login
            f"{variable(ghcr)}_PASSWORD": "action-token",
        }
    )
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    action = yaml.safe_load((ROOT / "action.yml").read_text())

    def step(name: str, **more: str) -> subprocess.CompletedProcess[str]:
        script = next(s["run"] for s in action["runs"]["steps"] if s.get("name") == name)
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=project.path, env={**env, **more}, capture_output=True, text=True,
        )  # fmt: skip

    logged_in = step("Log in to the registries")
    assert logged_in.returncode == 0, logged_in.stderr
    assert f"ok     {private}: logged in already (the docker config), left as it is" in (
        logged_in.stderr
    )
    registries = read_outputs(output.read_text())["registries"]
    assert registries == ghcr
    assert ghcr in json.loads((docker_config / "config.json").read_text())["auths"]
    logged_out = step("Log out of the registries", BUILDCACHE_LOGGED_IN=registries)
    assert logged_out.returncode == 0, logged_out.stderr
    auths = json.loads((docker_config / "config.json").read_text())["auths"]
    assert ghcr not in auths  # what the action stored is gone
    assert auths[private] == before  # docker/login-action's is as it was
