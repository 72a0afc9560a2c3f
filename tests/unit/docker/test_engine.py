"""docker/engine.py's reading of buildx's own files: which driver a bake will use, decided
without a process (a build on the docker driver pushes under a staging tag)."""

from __future__ import annotations

import json
from pathlib import Path

from buildcache.docker.engine import builder_driver


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
