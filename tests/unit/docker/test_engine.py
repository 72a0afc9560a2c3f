"""docker/engine.py's reading of buildx's own files: which driver a bake will use, decided
without a process (a build on the docker driver pushes under a staging tag)."""

from __future__ import annotations

import json
from pathlib import Path

from buildcache.docker.engine import builder_driver
from tests.unit.conftest import DockerCalls


def _buildx(tmp_path: Path, current: str, instances: dict[str, str]) -> dict[str, str]:
    folder = tmp_path / "buildx"
    (folder / "instances").mkdir(parents=True)
    (folder / "current").write_text(json.dumps({"Key": "unix:///x", "Name": current}))
    for name, driver in instances.items():
        (folder / "instances" / name).write_text(json.dumps({"Name": name, "Driver": driver}))
    return {"DOCKER_CONFIG": str(tmp_path)}


def test_the_default_builder_and_a_context_s_builder_use_the_docker_driver(tmp_path: Path) -> None:
    assert builder_driver(None, {"DOCKER_CONFIG": str(tmp_path)}) == "docker"
    env = _buildx(tmp_path, "", {"ci": "docker-container"})
    assert builder_driver(None, env) == "docker"
    assert builder_driver("desktop-linux", env) == "docker"  # a context: no instance file


def test_the_builder_named_then_buildx_builder_then_the_current_one(tmp_path: Path) -> None:
    env = _buildx(tmp_path, "ci", {"ci": "docker-container", "k8s": "kubernetes"})
    assert builder_driver(None, env) == "docker-container"
    assert builder_driver(None, {**env, "BUILDX_BUILDER": "k8s"}) == "kubernetes"
    assert builder_driver("default", {**env, "BUILDX_BUILDER": "k8s"}) == "docker"


DENIED = (
    'Error response from daemon: Get "https://ghcr.io/v2/": denied: denied\n'
    "Error response from daemon: login attempt to https://ghcr.io/v2/ failed with status: "
    "401 Unauthorized\n"
)


def test_a_refused_login_says_dockers_own_words_never_no_message(docker_calls: DockerCalls) -> None:
    """docker's 401 reached the terminal, and buildcache said 'exit code 1, no message' under it:
    docker's standard error is read for its reason (the password never in it)."""
    from buildcache.docker import engine

    docker_calls.answer("login", stderr=DENIED, code=1)
    reason = engine.login(engine.make_client(), "ghcr.io", "octocat", "s3cret-token")
    assert reason == (
        "Error response from daemon: login attempt to https://ghcr.io/v2/ failed with status: "
        "401 Unauthorized"
    )
    [call] = docker_calls.calls
    assert call["args"][-4:] == ["--password-stdin", "--username", "octocat", "ghcr.io"]
    assert call["stdin"] == "s3cret-token"
    docker_calls.answer("login", stderr="", code=1)
    assert engine.login(engine.make_client(), "docker.io", "o", "x") == "exit code 1, no message"
    assert docker_calls.calls[-1]["args"][-3:] == ["--password-stdin", "--username", "o"]
