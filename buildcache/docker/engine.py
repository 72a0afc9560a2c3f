"""The one module that talks to Docker, through python-on-whales.

Every docker call goes through a `Docker` passed in (so tests and CI can point it at another
daemon with DOCKER_HOST or `host=`), and every DockerException becomes one of buildcache's errors
(errors.py) here and nowhere else.

python-on-whales (and the ~150 pydantic models it defines) takes 0.3-0.4 s to import on a 2-core
CI machine: a tenth of a fully cached build, measured in bench/ ("quiet cached build"). The one
call every build makes, `docker buildx bake`, needs only the docker command, which `Docker` knows
itself; the python-on-whales client is made on first use, by the calls that need it (probes,
base digests, login, builders), so a build that only bakes never imports it.

What the engine can do is asked in one list of probes (`probe`): `doctor` shows them all, and a
build that fails before its first step runs them to say why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildcache.core import doctor as fixes
from buildcache.core.builder import CreateCall
from buildcache.core.doctor import Check
from buildcache.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from python_on_whales import DockerClient
    from python_on_whales.components.buildx.cli_wrapper import Builder
    from python_on_whales.components.system.models import SystemInfo
    from python_on_whales.exceptions import DockerException

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


@dataclass
class Docker:
    """The engine buildcache talks to: the docker command (with `--host` where one is given), and
    the python-on-whales client for it, made when first asked for."""

    host: str | None = None

    def command(self) -> list[str]:
        return ["docker", *(["--host", self.host] if self.host else [])]

    @cached_property
    def whales(self) -> DockerClient:
        from python_on_whales import DockerClient

        return DockerClient(host=self.host) if self.host else DockerClient()


def _docker_exception() -> type[DockerException]:
    """python-on-whales' error, for an `except`: evaluated only when something was raised."""
    from python_on_whales.exceptions import DockerException

    return DockerException


def make_client(host: str | None = None) -> Docker:
    return Docker(host)


def _reason(error: DockerException) -> str:
    """docker's own last line of complaint, for a message."""
    return _last_line(error.stderr or "", error.return_code)


def _last_line(stderr: str, code: int) -> str:
    """The last line that says something (blank lines after it aside)."""
    lines = stderr.strip().splitlines()
    return lines[-1].strip()[:300] if lines else f"exit code {code}, no message"


def _docker_path(client: Docker) -> str | None:
    """Where the docker command the client runs is, None where it is not installed."""
    return shutil.which(client.command()[0])


def require_docker_command(client: Docker) -> None:
    if _docker_path(client) is None:
        raise EnvironmentProblem("the docker command is not installed", hint=fixes.INSTALL_DOCKER)


def probe(
    client: Docker,
    *,
    builder_name: str | None = None,
    platforms: Sequence[str] = (),
    needs_cache_export: bool = True,
    where: str = "the default socket",
) -> tuple[list[Check], EngineInfo | None]:
    """Every check of the engine in order: the client, the daemon, buildx, the builder, its cache
    export, each platform. Once one of the first four fails, the others cannot be asked."""
    docker = _docker_path(client)
    if docker is None:
        return [Check("docker client", "fail", "not installed", fixes.INSTALL_DOCKER)], None
    found = [Check("docker client", "ok", docker)]
    daemon, info = _daemon(client, where)
    found.append(daemon)
    if info is None:
        return found, None
    try:
        buildx_version = str(client.whales.buildx.version())
    except _docker_exception():
        return [*found, Check("buildx", "fail", "not installed", fixes.INSTALL_BUILDX)], None
    found.append(Check("buildx", "ok", buildx_version))
    builder, engine = _builder(client, builder_name, info, buildx_version)
    found.append(builder)
    if engine is None:
        return found, None
    found.append(_cache_export_check(engine, needs_cache_export))
    found += [_platform_check(engine, platform) for platform in platforms]
    return found, engine


def _daemon(client: Docker, where: str) -> tuple[Check, SystemInfo | None]:
    """The daemon's check, and what it says of itself (None: it cannot be reached)."""
    try:
        info = client.whales.info()
    except _docker_exception() as error:
        reason = f"cannot reach it at {where}: {_reason(error)}"
        return Check("daemon", "fail", reason, fixes.START_DAEMON), None
    store = "containerd image store" if _containerd_store(info) else "classic image store"
    return Check("daemon", "ok", f"Docker Engine {info.server_version} at {where}, {store}"), info


def _containerd_store(info: SystemInfo) -> bool:
    return any(
        CONTAINERD_SNAPSHOTTER in str(value) for pair in info.driver_status or [] for value in pair
    )


def _builder(
    client: Docker, builder_name: str | None, info: SystemInfo, buildx_version: str
) -> tuple[Check, EngineInfo | None]:
    try:
        builder = client.whales.buildx.inspect(builder_name)
    except _docker_exception() as error:
        named = f" {builder_name!r}" if builder_name else ""
        return Check(
            "builder",
            "fail",
            f"cannot inspect the builder{named}: {_reason(error)}",
            "run 'buildcache builder up'" if builder_name else None,
        ), None
    engine = EngineInfo(
        server_version=str(info.server_version),
        buildx_version=buildx_version,
        builder=builder.name or builder_name or "default",
        driver=builder.driver or "docker",
        containerd_store=_containerd_store(info),
        platforms=_platforms(builder),
    )
    return Check("builder", "ok", f"'{engine.builder}', driver {engine.driver}"), engine


def _platforms(builder: Builder) -> tuple[str, ...]:
    """What the builder's nodes build for (QEMU's emulated platforms among them)."""
    return tuple(str(p) for node in builder.nodes or [] for p in (node.platforms or []))


def _cache_export_check(engine: EngineInfo, needed: bool) -> Check:
    if engine.can_export_cache:
        return Check("cache export", "ok", "it can export a registry cache")
    return Check(
        "cache export",
        "fail" if needed else "warn",
        f"the builder '{engine.builder}' uses the plain docker driver without the containerd "
        "image store, which cannot export a registry cache",
        fixes.CACHE_EXPORT,
    )


def _platform_check(engine: EngineInfo, platform: str) -> Check:
    if supports_platform(platform, engine.platforms):
        return Check(f"platform {platform}", "ok", "the builder builds it")
    return Check(
        f"platform {platform}",
        "fail",
        f"the builder '{engine.builder}' cannot build {platform} (it builds "
        f"{', '.join(engine.platforms) or 'nothing it reports'})",
        fixes.QEMU,
    )


def inspect_engine(client: Docker, builder_name: str | None = None) -> EngineInfo:
    """What the engine and a builder (the one in use, or `builder_name`) can do; raises
    EnvironmentProblem naming what is missing and the fix."""
    found, engine = probe(client, builder_name=builder_name, needs_cache_export=False)
    _raise_first_failure(found)
    assert engine is not None
    return engine


def explain_failure(
    client: Docker,
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


def login(client: Docker, registry: str, username: str, password: str) -> str | None:
    """`docker login --password-stdin`; None when accepted, else docker's reason (no secret).
    docker is run here, not by python-on-whales, whose login leaves docker's standard error
    uncaptured: a refusal (docker's own 401) would reach the terminal and its reason not us."""
    server = [] if registry == "docker.io" else [registry]
    command = [*client.command(), "login", "--password-stdin", "--username", username, *server]
    try:
        # the password on standard input, never on the command line; docker's "Login
        # Succeeded" is captured: stdout is --json's alone
        done = subprocess.run(command, input=password.encode(), capture_output=True, check=False)
    except OSError as error:
        return f"cannot run docker: {error.strerror}"
    stderr = done.stderr.decode(errors="replace").replace(password, "***")
    if done.returncode != 0:
        return _last_line(stderr, done.returncode)
    sys.stderr.write(stderr)  # docker's warnings (a password stored unencrypted) are said
    return None


def logout(client: Docker, registry: str) -> None:
    """`docker logout`: docker's stored credentials for the registry are removed (none: a no-op)."""
    try:
        client.whales.logout(None if registry == "docker.io" else registry)
    except _docker_exception() as error:
        raise EnvironmentProblem(f"cannot log out of {registry}: {_reason(error)}") from None


def bake_print(
    client: Docker, bake_file: Path, targets: Sequence[str], overrides: Mapping[str, str]
) -> dict[str, Any]:
    """A team's bake file as buildx resolves it (`docker buildx bake --print`: HCL, variables,
    inheritance and --set are buildx's own)."""
    if not bake_file.is_file():
        raise UsageError(f"the bake file {bake_file} does not exist")
    require_docker_command(client)
    try:
        printed = client.whales.buildx.bake(
            targets=list(targets), files=[bake_file], print=True, set=dict(overrides)
        )
    except _docker_exception() as error:
        raise UsageError(
            f"buildx cannot read the bake file {bake_file}: {_reason(error)}"
        ) from None
    return dict(printed) if isinstance(printed, dict) else {}


def builder_driver(builder: str | None, env: Mapping[str, str]) -> str:
    """The driver of the builder a bake will use, read from buildx's own files (no process, no
    daemon): the builder named, else $BUILDX_BUILDER, else buildx's current one; a name with no
    instance file is a docker context's builder, whose driver is `docker`."""
    config = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    folder = Path(env.get("BUILDX_CONFIG") or config / "buildx")
    name = builder or env.get("BUILDX_BUILDER") or _read_json(folder / "current").get("Name")
    if not name:
        return "docker"
    driver = _read_json(folder / "instances" / str(name)).get("Driver")
    return str(driver) if driver else "docker"


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def builder_exists(client: Docker, name: str) -> bool:
    try:
        client.whales.buildx.inspect(name)
    except _docker_exception():
        return False
    return True


def remove_builder(client: Docker, name: str) -> bool:
    """Remove a builder; False where there was none."""
    if not builder_exists(client, name):
        return False
    try:
        client.whales.buildx.remove(name)
    except _docker_exception() as error:
        raise EnvironmentProblem(f"cannot remove the builder '{name}': {_reason(error)}") from None
    return True


def create_builder(client: Docker, calls: list[CreateCall], *, image: str | None) -> EngineInfo:
    """Run the `buildx create` calls, then boot the builder; a builder that cannot boot is removed
    again, and the error says why (the BuildKit image it needs, typically)."""
    name = calls[0].name
    try:
        for call in calls:
            client.whales.buildx.create(**call.kwargs())  # type: ignore[arg-type]
        client.whales.buildx.inspect(name, bootstrap=True)
    except _docker_exception() as error:
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


def untag(client: Docker, names: Sequence[str]) -> str | None:
    """This run's own names taken off the engine's image store (`docker image rm`: a name, not
    the layers another name or the build cache holds); why not, where docker refused. The
    docker driver keeps every image it pushes there under the name it pushed."""
    if not names:
        return None
    done = subprocess.run(
        [*client.command(), "image", "rm", *names], capture_output=True, text=True, check=False
    )
    return None if done.returncode == 0 else _last_line(done.stderr, done.returncode)
