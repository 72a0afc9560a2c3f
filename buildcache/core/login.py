"""Pure: which registries to log in to, with which credentials from the environment (the
variables a CI keeps them in are its provider's word, buildcache/ci/).

The password only ever travels from the environment mapping to `docker login --password-stdin`
(python-on-whales writes it to standard input); it is never formatted into a message here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from buildcache.core.config.model import Config
from buildcache.core.reference import DOCKER_HUB

GHCR = "ghcr.io"


@dataclass(frozen=True)
class LoginTarget:
    registry: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a repr, a log or an error
    source: str | None = None  # which variables gave the credentials
    missing: str | None = None  # which variables would give them

    def credentials(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username and self.password else None


def login_variable(registry: str) -> str:
    """BUILDCACHE_LOGIN_<HOST>: the host upper-cased, every other character as `_`."""
    return "BUILDCACHE_LOGIN_" + re.sub(r"[^A-Z0-9]", "_", registry.upper())


def login_target(
    registry: str, env: Mapping[str, str], provided: RegistryVariables | None = None
) -> LoginTarget:
    """`registry`'s credentials: BUILDCACHE_LOGIN_<HOST>_*, else the variables a CI provides
    for it (`provided`, buildcache/ci/), else Docker Hub's customary ones."""
    generic = login_variable(registry)
    user, password = env.get(f"{generic}_USERNAME"), env.get(f"{generic}_PASSWORD")
    if user and password:
        return LoginTarget(registry, user, password, f"{generic}_USERNAME/_PASSWORD")
    generic_hint = f"{generic}_USERNAME and {generic}_PASSWORD"
    own = provided or _docker_hub(registry)
    if own is None:
        return LoginTarget(registry, missing=generic_hint)
    user, password = env.get(own.user), env.get(own.password)
    if user and password:
        return LoginTarget(registry, user, password, f"{own.user} and {own.password}")
    return LoginTarget(registry, missing=f"{own.missing}, or {generic_hint}")


@dataclass(frozen=True)
class RegistryVariables:
    """The variables that hold a registry's credentials (a CI's own, or Docker Hub's)."""

    user: str
    password: str
    missing: str  # what to set, said where they are not there


def _docker_hub(registry: str) -> RegistryVariables | None:
    if registry != DOCKER_HUB:
        return None
    return RegistryVariables(
        "DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN", "DOCKERHUB_USERNAME and DOCKERHUB_TOKEN"
    )


def login_targets(
    config: Config,
    env: Mapping[str, str],
    provided: Callable[[str], RegistryVariables | None] = lambda registry: None,
) -> list[LoginTarget]:
    """Each registry of the config, with `provided`: the variables a CI keeps its credentials in."""
    return [login_target(registry, env, provided(registry)) for registry in config.registries]
