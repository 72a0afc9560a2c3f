"""The real stack for the integration tests: the engine, the compose registries, a base image.

Nothing here is mocked. The engine comes from scripts/engine.sh (which `make test` runs first);
the registries are docker-compose.test.yml, started and stopped by pytest-docker on free ports;
the two-platform base image is built offline by scripts/test-images.sh and pushed to the first
registry. Where no engine can be had the integration tests are skipped with one reason, unless
BUILDCACHE_REQUIRE_ENGINE=1 (set by `make test` and CI), where that is a failure instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from tests import local_images
from tests.conftest import ROOT

REGISTRY_USER = "buildcache"
REGISTRY_PASSWORD = "test-only-password"  # tests/registry/htpasswd holds its bcrypt hash
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def docker() -> DockerClient:
    client = DockerClient()
    problem = None
    if shutil.which("docker") is None:
        problem = "no docker command"
    else:
        try:
            client.buildx.version()
            client.info()
        except DockerException as error:
            last = (error.stderr or "").strip().splitlines()[-1:] or ["no message"]
            problem = f"no Docker engine with buildx ({last[0]})"
    if problem:
        reason = f"{problem}: run scripts/engine.sh (make test does) to get one"
        if os.environ.get("BUILDCACHE_REQUIRE_ENGINE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return client


@pytest.fixture(scope="session")
def docker_compose_file(docker: DockerClient) -> str:
    # registry:2, pulled or built as a stand-in where nothing can be pulled.
    subprocess.run([ROOT / "scripts" / "test-images.sh", "prepare"], check=True)
    return str(ROOT / "docker-compose.test.yml")


@pytest.fixture(scope="session")
def docker_compose_command(docker: DockerClient) -> str:
    # The docker of the session's start, by its full path: in one pytest run with the unit tests,
    # the registries' `down -v` at the session's end went to the unit tests' stand-in `docker`
    # (still first on PATH then) and left the registries running.
    return f"{shutil.which('docker')} compose"


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return f"buildcache-test-{os.getpid()}"


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    # The compose file takes fixed ports from BUILDCACHE_*_PORT (make demo); the tests want free
    # ones, except for the spare registry, which must come back on its port after a restart.
    for name in ("BUILDCACHE_GHCR_PORT", "BUILDCACHE_HUB_PORT", "BUILDCACHE_PRIVATE_PORT"):
        os.environ.pop(name, None)
    os.environ["BUILDCACHE_SPARE_PORT"] = str(free_port())
    return ["up --wait"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Registries:
    ghcr: str  # 127.0.0.1:PORT, stands for ghcr.io
    hub: str  # stands for docker.io
    private: str  # requires a login
    spare: str  # tests stop and start it
    services: Any
    compose: list[str]  # `docker compose -f FILE -p PROJECT`, from pytest-docker's fixtures

    def port_of(self, service: str) -> int:
        return int(getattr(self, service).rsplit(":", 1)[1])

    def stop(self, service: str) -> None:
        subprocess.run([*self.compose, "stop", service], check=True, capture_output=True)

    def start(self, service: str) -> None:
        subprocess.run([*self.compose, "start", service], check=True, capture_output=True)
        address = getattr(self, service)
        self.services.wait_until_responsive(
            check=lambda: _answers(f"http://{address}/v2/"), timeout=30, pause=0.2
        )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code in (200, 401)
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def registries(
    docker_services: Any,
    docker_compose_command: str,
    docker_compose_file: str,
    docker_compose_project_name: str,
) -> Iterator[Registries]:
    addresses = {}
    for service in ("ghcr", "hub", "private", "spare"):
        address = f"127.0.0.1:{docker_services.port_for(service, 5000)}"
        docker_services.wait_until_responsive(
            check=lambda a=address: _answers(f"http://{a}/v2/"), timeout=30, pause=0.2
        )
        addresses[service] = address
    compose = [
        *docker_compose_command.split(),
        "-f",
        docker_compose_file,
        "-p",
        docker_compose_project_name,
    ]
    yield Registries(services=docker_services, compose=compose, **addresses)
    # The docker driver keeps every image it pushes in the engine's own image store too: untag
    # what this session pushed to its registries (their ports are the session's own), so the
    # engine of whoever runs the tests does not fill up with them.
    remove_local_images(f"{address}/" for address in addresses.values())


# The docker of the session's start: at its end the unit tests' stand-in may be first on PATH.
DOCKER = shutil.which("docker") or "docker"


def remove_local_images(prefixes: Iterable[str]) -> None:
    """Untag the images under `prefixes` (the registries a test made) from the engine's store."""
    local_images.remove_local_images(prefixes, DOCKER)


@pytest.fixture(scope="session")
def base_image(registries: Registries) -> str:
    ref = f"{registries.ghcr}/base/busybox:1"
    subprocess.run([ROOT / "scripts" / "test-images.sh", "push-base", ref], check=True)
    return ref


def registry_get(
    address: str,
    path: str,
    *,
    auth: tuple[str, str] | None = None,
    accept: tuple[str, ...] = INDEX_TYPES,
) -> httpx.Response:
    return httpx.get(
        f"http://{address}/v2/{path}", headers={"Accept": ", ".join(accept)}, auth=auth, timeout=10
    )


def manifest(reference: str, *, auth: tuple[str, str] | None = None) -> dict[str, Any] | None:
    """The manifest (or index) of 127.0.0.1:PORT/repo:tag, read from the registry's HTTP API."""
    address, rest = reference.split("/", 1)
    repo, _, tag = rest.rpartition(":")
    response = registry_get(address, f"{repo}/manifests/{tag}", auth=auth)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    data["_digest"] = response.headers.get("Docker-Content-Digest")
    return data


def image_platforms(reference: str, *, auth: tuple[str, str] | None = None) -> set[str]:
    """The platforms of an image index, leaving out BuildKit's attestation manifests."""
    data = manifest(reference, auth=auth)
    assert data is not None, f"{reference} is not in the registry"
    return {
        f"{m['platform']['os']}/{m['platform']['architecture']}"
        for m in data.get("manifests", [])
        if m.get("platform", {}).get("os") not in (None, "unknown")
    }


def image_labels(reference: str) -> dict[str, dict[str, str]]:
    """Each platform's image config labels of an index (or a single manifest) under `reference`,
    read from the registry (BuildKit's attestation manifests left out): what the image says it
    was built from, whatever buildcache reported."""
    address, rest = reference.split("/", 1)
    repo = rest.rpartition(":")[0]
    top = manifest(reference)
    assert top is not None, f"{reference} is not in the registry"
    children = [
        (f"{m['platform']['os']}/{m['platform']['architecture']}", m["digest"])
        for m in top.get("manifests", [])
        if m.get("platform", {}).get("os") not in (None, "unknown")
    ]
    if not children:
        children = [("", top["_digest"])]
    labels = {}
    for platform, digest in children:
        child = registry_get(address, f"{repo}/manifests/{digest}").json()
        config = registry_get(address, f"{repo}/blobs/{child['config']['digest']}").json()
        labels[platform] = dict(config.get("config", {}).get("Labels") or {})
    return labels


@contextmanager
def fresh_runner() -> Iterator[str]:
    """What a new CI runner has: an engine with no build cache and no images. A throwaway daemon
    (scripts/second-daemon.sh) with its own data root, removed afterwards: the engine the tests
    run on, and the build cache of whoever owns it, are never pruned. Yields its DOCKER_HOST."""
    with second_daemon(f"fr{uuid.uuid4().hex[:6]}") as host:
        yield host


@dataclass
class Project:
    """A copy of the bundled example in a temporary folder, with its own repositories."""

    path: Path
    registries: Registries
    name: str

    def write_config(self, text: str) -> None:
        (self.path / "buildcache.toml").write_text(text)

    def environment(self, env: dict[str, str] | None = None) -> dict[str, str]:
        # the run's own CI or laptop must not leak in: tests say what environment they simulate
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BUILDCACHE_", "GITHUB_", "CI_", "DOCKERHUB_", "GHCR_"))
            and k not in ("CI", "GITLAB_CI")
        }
        base.update({"NO_COLOR": "1", "COLUMNS": "200"})
        base.update(env or {})
        return base

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "buildcache", *args],
            cwd=self.path,
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """buildcache running in the background, in a session of its own (signals reach only
        what the test sends them to)."""
        return subprocess.Popen(
            [sys.executable, "-m", "buildcache", *args],
            cwd=self.path,
            env=self.environment(env),
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_json(
        self, *args: str, env: dict[str, str] | None = None
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        result = self.run(*args, "--json", env=env)
        try:
            data = json.loads(result.stdout)
        except ValueError:
            raise AssertionError(
                f"no JSON on stdout (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            ) from None
        return result, data


def example_config(*, images: list[str], cache_image: str, base_image: str, extra: str = "") -> str:
    return (
        f"images = {json.dumps(images)}\n"
        'platforms = ["linux/amd64", "linux/arm64"]\n'
        'dockerfile = "Dockerfile.example"\n'
        f'build-args = {{ BASE_IMAGE = "{base_image}", DEPS_SECONDS = "1" }}\n'
        f"{extra}\n"
        "[cache]\n"
        f'image = "{cache_image}"\n\n'
        "[variants.slim]\n"
        "default = true\n"
        'build-args = { VARIANT = "slim" }\n\n'
        "[variants.full]\n"
        'build-args = { VARIANT = "full" }\n'
    )


@pytest.fixture
def project(tmp_path: Path, registries: Registries, base_image: str) -> Project:
    shutil.copy(ROOT / "Dockerfile.example", tmp_path / "Dockerfile.example")
    shutil.copytree(ROOT / "example", tmp_path / "example")
    name = f"acme/widget-{uuid.uuid4().hex[:8]}"
    project = Project(path=tmp_path, registries=registries, name=name)
    project.write_config(
        example_config(
            images=[f"{registries.ghcr}/{name}", f"{registries.hub}/{name}"],
            cache_image=f"{registries.ghcr}/{name}-cache",
            base_image=base_image,
        )
    )
    return project


@contextmanager
def own_registry(
    docker: DockerClient,
    port: int,
    *,
    env: dict[str, str] | None = None,
    disk: str | None = None,
) -> Iterator[str]:
    """A registry (registry:2) this test starts on 127.0.0.1:`port` and removes: with settings of
    its own (`env`), or storing on a disk of `disk` size (a tmpfs) that fills up. Its address."""
    container = docker.run(
        "registry:2",
        detach=True,
        publish=[(f"127.0.0.1:{port}", 5000)],
        envs={"REGISTRY_HTTP_SECRET": "buildcache-test", **(env or {})},
        tmpfs=[f"/var/lib/registry:size={disk}"] if disk else [],
        name=f"buildcache-test-registry-{uuid.uuid4().hex[:8]}",
    )
    address = f"127.0.0.1:{port}"
    try:
        for _ in range(150):
            if _answers(f"http://{address}/v2/"):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the registry on {address} did not answer")
        yield address
    finally:
        docker.container.remove(container, force=True)
        remove_local_images([f"{address}/"])


@contextmanager
def second_daemon(name: str, *, classic_store: bool = False) -> Iterator[str]:
    """Another Docker daemon on this machine (scripts/second-daemon.sh): its DOCKER_HOST."""
    script = ROOT / "scripts" / "second-daemon.sh"
    args = [str(script), "start", name, *(["--classic-store"] if classic_store else [])]
    started = subprocess.run(args, capture_output=True, text=True, check=False)
    if started.returncode != 0:
        pytest.fail(f"the second daemon did not start: {started.stderr}")
    try:
        yield started.stdout.strip()
    finally:
        # stop, and remove its data root: everything in it was made by this test
        subprocess.run([str(script), "stop", name, "--purge"], capture_output=True, check=False)
