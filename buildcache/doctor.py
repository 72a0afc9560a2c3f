"""`buildcache doctor`: is everything there that a build needs? One row per check, with the fix.

The checks run in order and stop asking the engine once it is not there; a `fail` row is
something that would make the build fail (exit 1), a `warn` row something that may (a registry
with no credentials in the docker config: a push to it fails unless it needs none).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from buildcache.config import Config
from buildcache.errors import BuildcacheError
from buildcache.login import registries
from buildcache.registry import has_credentials

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


def run_checks(load_config: Callable[[], Config], docker_host: str | None = None) -> list[Check]:
    from python_on_whales.exceptions import DockerException

    from buildcache import engine

    checks: list[Check] = []
    config: Config | None = None
    try:
        config = load_config()
        variants = ", ".join(v.name for v in config.variants)
        checks.append(
            Check("config", "ok", f"{config.path or 'the environment'}: variants {variants}")
        )
    except BuildcacheError as error:
        checks.append(Check("config", "fail", error.message, error.hint))

    docker = shutil.which("docker")
    if docker is None:
        checks.append(
            Check(
                "docker client",
                "fail",
                "not installed",
                "install Docker, or run scripts/engine.sh on Debian",
            )
        )
        return [*checks, Check("daemon", "skip", "no docker client")]
    checks.append(Check("docker client", "ok", docker))

    client = engine.make_client(docker_host)
    where = docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
    try:
        info = client.info()
    except DockerException as error:
        reason = (error.stderr or "").strip().splitlines()[-1:] or ["no answer"]
        checks.append(
            Check(
                "daemon",
                "fail",
                f"cannot reach it at {where}: {reason[0]}",
                "start dockerd (or Docker Desktop), or set DOCKER_HOST",
            )
        )
        return checks
    store = (
        "containerd image store"
        if any(engine.CONTAINERD_SNAPSHOTTER in str(v) for p in info.driver_status or [] for v in p)
        else "classic image store"
    )
    checks.append(Check("daemon", "ok", f"Docker Engine {info.server_version} at {where}, {store}"))

    try:
        version = client.buildx.version()
    except DockerException:
        checks.append(
            Check(
                "buildx",
                "fail",
                "not installed",
                "install the buildx plugin (Debian: docker-buildx)",
            )
        )
        return checks
    checks.append(Check("buildx", "ok", str(version)))

    builder_name = config.builder_name if config else None
    try:
        probe = engine.inspect_engine(client, builder_name)
    except (DockerException, BuildcacheError):
        checks.append(
            Check("builder", "fail", f"no builder '{builder_name}'", "run 'buildcache builder up'")
        )
        return checks
    if probe.can_export_cache:
        checks.append(
            Check(
                "builder",
                "ok",
                f"'{probe.builder}', driver {probe.driver}: exports a registry cache",
            )
        )
    else:
        checks.append(
            Check(
                "builder",
                "fail",
                f"'{probe.builder}', driver docker without the containerd image store: cannot export a registry cache",
                "run 'buildcache builder up' (a docker-container builder), or turn on the containerd image store",
            )
        )
    wanted = (
        sorted({p for v in config.variants for p in (v.platforms or config.platforms)})
        if config
        else []
    )
    for platform in wanted:
        if engine.supports_platform(platform, probe.platforms):
            checks.append(Check(f"platform {platform}", "ok", "the builder builds it"))
        else:
            checks.append(
                Check(
                    f"platform {platform}",
                    "fail",
                    "the builder cannot build it",
                    "register QEMU (Debian: qemu-user-static; or docker run --privileged --rm tonistiigi/binfmt "
                    "--install all), or add a native node to [builder]",
                )
            )
    for registry in registries(config) if config else []:
        if has_credentials(registry):
            checks.append(Check(f"registry {registry}", "ok", "credentials in the docker config"))
        else:
            checks.append(
                Check(
                    f"registry {registry}",
                    "warn",
                    "no credentials in the docker config: a push fails unless it needs none",
                    f"buildcache login (or docker login {registry})",
                )
            )
    return checks


def healthy(checks: list[Check]) -> bool:
    return not any(c.status == "fail" for c in checks)
