"""The one module that talks to Docker, through python-on-whales.

Every docker call goes through a `DockerClient` passed in (so tests and CI can point it at another
daemon with DOCKER_HOST or `host=`), and every DockerException becomes one of buildcache's errors
(errors.py) here and nowhere else. python-on-whales (and pydantic under it) is slow to import, so
only the commands that run docker import this module.

What the engine can do is asked in one list of probes (`probe`): `doctor` shows them all, and a
build that fails before its first step runs them to say why.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from buildcache.core import checks as fixes
from buildcache.core.bake import bake_command
from buildcache.core.builder_calls import CreateCall
from buildcache.core.checks import Check
from buildcache.core.reference import ImageRef, platform_name
from buildcache.errors import BuildFailed, CopyError, EnvironmentProblem, UsageError

CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter"
STDERR_TAIL_LINES = 50


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


def _reason(error: DockerException) -> str:
    """docker's own last line of complaint, for a message."""
    lines = [line for line in (error.stderr or "").splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else f"exit code {error.return_code}, no message"


def _docker_path(client: DockerClient) -> str | None:
    """Where the docker command the client runs is, None where it is not installed."""
    return shutil.which(str(client.client_config.client_call[0]))


def require_docker_command(client: DockerClient) -> None:
    if _docker_path(client) is None:
        raise EnvironmentProblem("the docker command is not installed", hint=fixes.INSTALL_DOCKER)


def probe(
    client: DockerClient,
    *,
    builder_name: str | None = None,
    platforms: Sequence[str] = (),
    needs_cache_export: bool = True,
    where: str = "the default socket",
) -> tuple[list[Check], EngineInfo | None]:
    """Every check of the engine in order: the client, the daemon, buildx, the builder, its cache
    export, each platform. Once one of the first four fails, the others cannot be asked."""
    found: list[Check] = []
    docker = _docker_path(client)
    if docker is None:
        return [Check("docker client", "fail", "not installed", fixes.INSTALL_DOCKER)], None
    found.append(Check("docker client", "ok", docker))
    try:
        info = client.info()
    except DockerException as error:
        found.append(
            Check(
                "daemon",
                "fail",
                f"cannot reach it at {where}: {_reason(error)}",
                fixes.START_DAEMON,
            )
        )
        return found, None
    containerd_store = any(
        CONTAINERD_SNAPSHOTTER in str(value) for pair in info.driver_status or [] for value in pair
    )
    store = "containerd image store" if containerd_store else "classic image store"
    found.append(Check("daemon", "ok", f"Docker Engine {info.server_version} at {where}, {store}"))
    try:
        buildx_version = str(client.buildx.version())
    except DockerException:
        found.append(Check("buildx", "fail", "not installed", fixes.INSTALL_BUILDX))
        return found, None
    found.append(Check("buildx", "ok", buildx_version))
    try:
        builder = client.buildx.inspect(builder_name)
    except DockerException as error:
        found.append(
            Check(
                "builder",
                "fail",
                f"cannot inspect the builder{f' {builder_name!r}' if builder_name else ''}: {_reason(error)}",
                "run 'buildcache builder up'" if builder_name else None,
            )
        )
        return found, None
    engine = EngineInfo(
        server_version=str(info.server_version),
        buildx_version=buildx_version,
        builder=builder.name or builder_name or "default",
        driver=builder.driver or "docker",
        containerd_store=containerd_store,
        platforms=tuple(str(p) for node in builder.nodes or [] for p in (node.platforms or [])),
    )
    found.append(Check("builder", "ok", f"'{engine.builder}', driver {engine.driver}"))
    if engine.can_export_cache:
        found.append(Check("cache export", "ok", "it can export a registry cache"))
    else:
        found.append(
            Check(
                "cache export",
                "fail" if needs_cache_export else "warn",
                f"the builder '{engine.builder}' uses the plain docker driver without the containerd "
                "image store, which cannot export a registry cache",
                fixes.CACHE_EXPORT,
            )
        )
    for platform in platforms:
        if supports_platform(platform, engine.platforms):
            found.append(Check(f"platform {platform}", "ok", "the builder builds it"))
        else:
            found.append(
                Check(
                    f"platform {platform}",
                    "fail",
                    f"the builder '{engine.builder}' cannot build {platform} (it builds "
                    f"{', '.join(engine.platforms) or 'nothing it reports'})",
                    fixes.QEMU,
                )
            )
    return found, engine


def inspect_engine(client: DockerClient, builder_name: str | None = None) -> EngineInfo:
    """What the engine and a builder (the one in use, or `builder_name`) can do; raises
    EnvironmentProblem naming what is missing and the fix."""
    found, engine = probe(client, builder_name=builder_name, needs_cache_export=False)
    _raise_first_failure(found)
    assert engine is not None
    return engine


def explain_failure(
    client: DockerClient,
    *,
    builder_name: str | None,
    platforms: Sequence[str],
    needs_cache_export: bool,
) -> None:
    """A build failed before its first step: raise what the engine lacks, if it lacks anything."""
    found, _ = probe(
        client,
        builder_name=builder_name,
        platforms=platforms,
        needs_cache_export=needs_cache_export,
    )
    _raise_first_failure(found)


def _raise_first_failure(found: Sequence[Check]) -> None:
    failed = next((c for c in found if c.status == "fail"), None)
    if failed is not None:
        detail = (
            failed.detail
            if failed.name.startswith(("platform", "cache"))
            else (f"{failed.name}: {failed.detail}")
        )
        raise EnvironmentProblem(detail, hint=failed.fix)


def supports_platform(platform: str, available: Sequence[str]) -> bool:
    # "linux/arm/v7" is listed as such; "linux/amd64" may be listed with or without a variant.
    return any(p == platform or p.startswith(platform + "/") for p in available)


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

    python-on-whales makes the command (its client config: the docker binary, host, context,
    config); the process is run and read here. Its own stream reader keeps the whole of stderr,
    where the progress arrives, in one bytes object grown line by line, which is quadratic (42 s
    of CPU for a 14.8 MB stream of a chatty build), and it gives no handle to the process, which a
    SIGTERM to buildcache must reach: bake would go on building, its bake file deleted under it.
    """
    command = [
        *map(str, client.client_config.docker_cmd),
        *bake_command(bake_file, metadata_file, "rawjson")[1:],
    ]
    if builder:
        command[command.index("bake") + 1 : command.index("bake") + 1] = ["--builder", builder]
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)  # bounded: for the error message only
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot run docker: {error.strerror}", hint=fixes.INSTALL_DOCKER
        ) from None
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            tail.append(line)
            on_line(line)
        code = process.wait()
    except BaseException as stop:  # Ctrl-C, SIGTERM, a failing view: never leave bake behind
        _stop(process, signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM)
        raise
    if code != 0:
        raise BuildFailed(f"docker buildx bake exited with code {code}")
    return read_metadata(metadata_file)


def _stop(process: subprocess.Popen[bytes], signum: int, grace: float = 10.0) -> None:
    """Pass the signal on to bake, give it `grace` seconds to stop its build, then kill it."""
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def read_metadata(metadata_file: Path) -> dict[str, Any]:
    try:
        data = json.loads(metadata_file.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def platform_top_layers(client: DockerClient, reference: ImageRef) -> dict[str, str] | None:
    """{platform: digest of its top layer} of a multi-platform image, None where it is not there."""
    try:
        index = client.buildx.imagetools.inspect(str(reference))
    except DockerException:
        return None
    tops: dict[str, str] = {}
    for entry in index.manifests or []:
        platform = entry.platform
        if platform is None or not platform.os or platform.os == "unknown" or not entry.digest:
            continue  # BuildKit's attestation manifests
        try:
            image = client.buildx.imagetools.inspect(str(reference.with_digest(entry.digest)))
        except DockerException:
            continue
        if image.layers:
            key = platform_name(platform.os, str(platform.architecture), platform.variant)
            tops[key] = str(image.layers[-1].digest)
    return tops


def login(client: DockerClient, registry: str, username: str, password: str) -> str | None:
    """`docker login --password-stdin`; None when accepted, else docker's reason (no secret)."""
    server = None if registry == "docker.io" else registry
    try:
        # python-on-whales passes the password on standard input, never on the command line
        client.login(server=server, username=username, password=password)
    except DockerException as error:
        return _reason(error).replace(password, "***")
    return None


def logout(client: DockerClient, registry: str) -> None:
    """`docker logout`: docker's stored credentials for the registry are removed (none: a no-op)."""
    try:
        client.logout(None if registry == "docker.io" else registry)
    except DockerException as error:
        raise EnvironmentProblem(f"cannot log out of {registry}: {_reason(error)}") from None


def bake_print(
    client: DockerClient, bake_file: Path, targets: Sequence[str], overrides: Mapping[str, str]
) -> dict[str, Any]:
    """A team's bake file as buildx resolves it (`docker buildx bake --print`: HCL, variables,
    inheritance and --set are buildx's own)."""
    if not bake_file.is_file():
        raise UsageError(f"the bake file {bake_file} does not exist")
    require_docker_command(client)
    try:
        printed = client.buildx.bake(
            targets=list(targets), files=[bake_file], print=True, set=dict(overrides)
        )
    except DockerException as error:
        raise UsageError(
            f"buildx cannot read the bake file {bake_file}: {_reason(error)}"
        ) from None
    return dict(printed) if isinstance(printed, dict) else {}


def copy_image(
    client: DockerClient, sources: Sequence[ImageRef], targets: Sequence[ImageRef]
) -> None:
    """`buildx imagetools create`: an index from `sources` (by digest) under every target tag.

    The registry copies blobs it does not have from the source registry; nothing is rebuilt.
    """
    try:
        client.buildx.imagetools.create(
            sources=[str(s) for s in sources], tags=[str(t) for t in targets]
        )
    except DockerException as error:
        raise CopyError(_reason(error)) from None


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
        raise EnvironmentProblem(f"cannot remove the builder '{name}': {_reason(error)}") from None
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
        reason = _reason(error)
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
