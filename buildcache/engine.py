"""The one module that talks to Docker, through python-on-whales.

Every docker call goes through a `DockerClient` passed in (so tests and CI can point it at another
daemon with DOCKER_HOST or `host=`), and every DockerException becomes one of our errors here and
nowhere else. python-on-whales (and pydantic under it) is slow to import, so cli.py imports this
module only in the commands that run docker.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from buildcache.bake import GROUP
from buildcache.builder import CreateCall
from buildcache.errors import BuildFailed, EnvironmentProblem

CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter"


@dataclass(frozen=True, kw_only=True)
class EngineInfo:
    server_version: str
    buildx_version: str
    builder: str
    driver: str
    containerd_store: bool
    platforms: tuple[str, ...]

    @property
    def can_export_cache(self) -> bool:
        # The plain docker driver exports a registry cache only on the containerd image store.
        return self.driver != "docker" or self.containerd_store


def make_client(host: str | None = None) -> DockerClient:
    return DockerClient(host=host) if host else DockerClient()


def _stderr(error: DockerException) -> str:
    return (error.stderr or "").strip()


def require_docker_command(client: DockerClient) -> None:
    if shutil.which(str(client.client_config.client_call[0])) is None:
        raise EnvironmentProblem(
            "the docker command is not installed",
            hint="install Docker (https://docs.docker.com/engine/install/), or run scripts/engine.sh on Debian",
        )


def inspect_engine(client: DockerClient, builder_name: str | None = None) -> EngineInfo:
    """What the engine and a builder (the one in use, or `builder_name`) can do; raises
    EnvironmentProblem naming what is missing and the fix."""
    require_docker_command(client)
    try:
        buildx_version = client.buildx.version()
    except DockerException:
        raise EnvironmentProblem(
            "docker buildx is not installed",
            hint="install the buildx plugin (Debian: docker-buildx; https://github.com/docker/buildx#installing)",
        ) from None
    try:
        info = client.info()
    except DockerException as error:
        raise EnvironmentProblem(
            f"cannot reach the Docker daemon ({_first_line(_stderr(error))})",
            hint="start it (systemctl start docker, Docker Desktop, or scripts/engine.sh), or set DOCKER_HOST",
        ) from None
    try:
        builder = client.buildx.inspect(builder_name)
    except DockerException as error:
        raise EnvironmentProblem(
            f"cannot inspect the buildx builder{f' {builder_name!r}' if builder_name else ''} "
            f"({_first_line(_stderr(error))})",
            hint="run 'buildcache builder up'" if builder_name else None,
        ) from None
    driver_status = info.driver_status or []
    containerd_store = any(
        CONTAINERD_SNAPSHOTTER in str(value) for pair in driver_status for value in pair
    )
    platforms = tuple(str(p) for node in builder.nodes or [] for p in (node.platforms or []))
    return EngineInfo(
        server_version=str(info.server_version),
        buildx_version=str(buildx_version),
        builder=builder.name or builder_name or "default",
        driver=builder.driver or "docker",
        containerd_store=containerd_store,
        platforms=platforms,
    )


def require_engine(
    client: DockerClient,
    *,
    needs_cache_export: bool,
    platforms: set[str],
    builder: str | None = None,
) -> EngineInfo:
    engine = inspect_engine(client, builder)
    if needs_cache_export and not engine.can_export_cache:
        raise EnvironmentProblem(
            f"the builder '{engine.builder}' uses the plain docker driver without the containerd image "
            "store, which cannot export a registry cache",
            hint="run 'docker buildx create --use', or turn on the containerd image store "
            '({"features": {"containerd-snapshotter": true}} in /etc/docker/daemon.json) and restart dockerd',
        )
    missing = sorted(p for p in platforms if not supports_platform(p, engine.platforms))
    if missing:
        raise EnvironmentProblem(
            f"the builder '{engine.builder}' cannot build {', '.join(missing)} "
            f"(it builds {', '.join(engine.platforms) or 'nothing it reports'})",
            hint="register QEMU (docker run --privileged --rm tonistiigi/binfmt --install all, or Debian's "
            "qemu-user-static), or add a native node to the builder",
        )
    return engine


def supports_platform(platform: str, available: tuple[str, ...]) -> bool:
    # "linux/arm/v7" is listed as such; "linux/amd64" may be listed with or without a variant.
    return any(p == platform or p.startswith(platform + "/") for p in available)


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


@contextmanager
def _converted_errors() -> Iterator[None]:
    try:
        yield
    except DockerException as error:
        raise BuildFailed(f"docker failed: {_first_line(_stderr(error))}") from None


def run_bake(
    client: DockerClient,
    *,
    bake_file: Path,
    metadata_file: Path,
    on_line: Callable[[str], None],
    builder: str | None = None,
) -> dict[str, Any]:
    """Run `docker buildx bake` on the bake file, streaming BuildKit's rawjson progress lines.

    Returns the metadata buildx wrote per target (digest, cache manifest). A failed build raises
    BuildFailed; the caller has seen every progress line by then, which says what failed.
    """
    try:
        # python-on-whales types `progress` as auto/plain/tty, but passes the value to buildx as is.
        lines = client.buildx.bake(
            targets=[GROUP],
            builder=builder,
            files=[bake_file],
            progress=cast(Any, "rawjson"),
            metadata_file=metadata_file,
            stream_logs=True,
        )
        for line in cast(Iterator[str], lines):
            on_line(line)
    except DockerException as error:
        raise BuildFailed(f"docker buildx bake exited with code {error.return_code}") from None
    return read_metadata(metadata_file)


def read_metadata(metadata_file: Path) -> dict[str, Any]:
    try:
        data = json.loads(metadata_file.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def platform_top_layers(client: DockerClient, reference: str) -> dict[str, str] | None:
    """{platform: digest of its top layer} of a multi-platform image, None where it is not there."""
    try:
        index = client.buildx.imagetools.inspect(reference)
    except DockerException:
        return None
    name = reference.rsplit(":", 1)[0]
    tops: dict[str, str] = {}
    for entry in index.manifests or []:
        platform = entry.platform
        if platform is None or not platform.os or platform.os == "unknown":
            continue  # BuildKit's attestation manifests
        try:
            image = client.buildx.imagetools.inspect(f"{name}@{entry.digest}")
        except DockerException:
            continue
        if image.layers:
            key = f"{platform.os}/{platform.architecture}" + (
                f"/{platform.variant}" if platform.variant else ""
            )
            tops[key] = str(image.layers[-1].digest)
    return tops


def login(client: DockerClient, registry: str, username: str, password: str) -> str | None:
    """`docker login --password-stdin`; None when accepted, else docker's reason (no secret)."""
    server = None if registry == "docker.io" else registry
    try:
        # python-on-whales passes the password on standard input, never on the command line
        client.login(server=server, username=username, password=password)
    except DockerException as error:
        return _first_line(_stderr(error)).replace(password, "***")
    return None


def copy_image(client: DockerClient, sources: list[str], targets: list[str]) -> None:
    """`buildx imagetools create`: an index from `sources` (by digest) under every target tag.

    The registry copies blobs it does not have from the source registry; nothing is rebuilt.
    """
    from buildcache.publish import CopyError

    try:
        client.buildx.imagetools.create(sources=list(sources), tags=list(targets))
    except DockerException as error:
        raise CopyError(_first_line(_stderr(error))) from None


def builder_exists(client: DockerClient, name: str) -> bool:
    try:
        client.buildx.inspect(name)
    except DockerException:
        return False
    return True


def remove_builder(client: DockerClient, name: str) -> bool:
    """Remove a builder; False where there was none."""
    if not builder_exists(client, name):
        return False
    try:
        client.buildx.remove(name)
    except DockerException as error:
        raise EnvironmentProblem(
            f"cannot remove the builder '{name}': {_first_line(_stderr(error))}"
        ) from None
    return True


def create_builder(
    client: DockerClient, calls: list[CreateCall], *, image: str | None
) -> EngineInfo:
    """Run the `buildx create` calls, then boot the builder; a builder that cannot boot is removed
    again, and the error says why (the BuildKit image it needs, typically)."""
    name = calls[0].name
    try:
        for call in calls:
            client.buildx.create(**call.kwargs())  # type: ignore[arg-type]
        client.buildx.inspect(name, bootstrap=True)
    except DockerException as error:
        reason = _first_line(_stderr(error))
        removed = remove_builder(client, name)
        left = "it was removed again" if removed else "nothing was left behind"
        if image is not None:
            raise EnvironmentProblem(
                f"the builder '{name}' could not start: it runs BuildKit from the image {image}, "
                f"which this engine could not get ({reason}); {left}",
                hint=f"pull or load {image} on that engine (docker pull {image}, or docker load -i "
                "buildkit.tar where nothing can be pulled), or name a reachable image with "
                'driver-opts = { image = "..." } in [builder]',
            ) from None
        raise EnvironmentProblem(
            f"the builder '{name}' could not start: {reason}; {left}"
        ) from None
    return inspect_engine(client, name)
