"""Pure: which registries to log in to, with which credentials from the environment.

The password only ever travels from the environment mapping to `docker login --password-stdin`
(python-on-whales writes it to standard input); it is never formatted into a message here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


def login_target(registry: str, env: Mapping[str, str]) -> LoginTarget:
    generic = login_variable(registry)
    user, password = env.get(f"{generic}_USERNAME"), env.get(f"{generic}_PASSWORD")
    if user and password:
        return LoginTarget(registry, user, password, f"{generic}_USERNAME/_PASSWORD")
    generic_hint = f"{generic}_USERNAME and {generic}_PASSWORD"
    own = _own_variables(registry, env)
    if own is None:
        return LoginTarget(registry, missing=generic_hint)
    user, password = env.get(own.user), env.get(own.password)
    if user and password:
        return LoginTarget(registry, user, password, f"{own.user} and {own.password}")
    return LoginTarget(registry, missing=f"{own.missing}, or {generic_hint}")


@dataclass(frozen=True)
class _Variables:
    """Where a registry's own CI keeps its credentials."""

    user: str
    password: str
    missing: str  # what to set, said where they are not there


def _own_variables(registry: str, env: Mapping[str, str]) -> _Variables | None:
    if registry == GHCR:
        token = "GHCR_TOKEN" if env.get("GHCR_TOKEN") else "GITHUB_TOKEN"
        return _Variables("GITHUB_ACTOR", token, "GITHUB_TOKEN (or GHCR_TOKEN) and GITHUB_ACTOR")
    if env.get("GITLAB_CI") == "true" and registry == env.get("CI_REGISTRY"):
        # GitLab's own registry: the job's registry user and password (docs: CI/CD variables)
        both = "CI_REGISTRY_USER and CI_REGISTRY_PASSWORD"
        return _Variables("CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD", both)
    if registry == DOCKER_HUB:
        both = "DOCKERHUB_USERNAME and DOCKERHUB_TOKEN"
        return _Variables("DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN", both)
    return None


def login_targets(config: Config, env: Mapping[str, str]) -> list[LoginTarget]:
    return [login_target(registry, env) for registry in config.registries]
