"""Pure: one check of what a build needs, with its fix.

engine.py probes the client, daemon, buildx, builder, cache export and each platform into these;
`doctor` shows them all, and a build that fails before its first step runs the same probes to
explain itself (the first failing one becomes the error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


def healthy(checks: Sequence[Check]) -> bool:
    """No check would make a build fail."""
    return not any(c.status == "fail" for c in checks)


# The fixes, written once: the probes and the errors both use them.
INSTALL_DOCKER = (
    "install Docker (https://docs.docker.com/engine/install/), or run scripts/engine.sh on Debian"
)
INSTALL_BUILDX = (
    "install the buildx plugin (Debian: docker-buildx; https://github.com/docker/buildx#installing)"
)
START_DAEMON = (
    "start it (systemctl start docker, Docker Desktop, or scripts/engine.sh), or set DOCKER_HOST"
)
CACHE_EXPORT = (
    "run 'buildcache builder up' (a docker-container builder), or turn on the containerd image "
    'store ({"features": {"containerd-snapshotter": true}} in /etc/docker/daemon.json) and '
    "restart dockerd"
)
QEMU = (
    "register QEMU (Debian: qemu-user-static; or docker run --privileged --rm tonistiigi/binfmt "
    "--install all), or add a native node to [builder]"
)
