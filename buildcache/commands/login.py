"""`buildcache login`: every registry of the config, with credentials from the environment.

A registry with no credentials in the environment may still be fine: docker's config may hold
them (a `docker login` earlier, a credential helper), or the registry may take anonymous pushes.
One that has none of these is an error in CI (the push would fail later, after the whole build)
and a warning on a laptop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.console import Console

from buildcache.ci import providers
from buildcache.core.config.model import Config
from buildcache.core.login import LoginTarget, login_targets
from buildcache.core.plan.ci import GitFacts
from buildcache.core.publish.preflight import Access
from buildcache.errors import BuildFailed, UsageError
from buildcache.registry import client as registry
from buildcache.registry.client import has_credentials
from buildcache.ui.console import labelled, print_json, say

# --keep-existing: what another step's `docker login` stored is neither replaced nor logged out
KEPT = "logged in already (the docker config), left as it is"
LoginStatus = Literal["logged in", "rejected", "docker config", "anonymous", "missing"]
_STYLES: dict[LoginStatus, str] = {"logged in": "green", "rejected": "red", "missing": "yellow"}


@dataclass(frozen=True)
class LoginOutcome:
    """What `login` did for one registry; never a secret, in any field."""

    registry: str
    status: LoginStatus
    detail: str  # as whom and from which variables, or why not
    missing: str | None = None  # the variables to set, where none were found

    def line(self) -> str:
        word = {"logged in": "login", "rejected": "failed", "missing": "skip"}.get(
            self.status, "ok"
        )
        return (
            f"{word:<6} {self.registry}{' ' if self.status == 'logged in' else ': '}{self.detail}"
        )

    def to_json(self) -> dict[str, str | None]:
        return {
            "registry": self.registry,
            "status": self.status,
            "detail": self.detail,
            "missing": self.missing,
        }


def login(
    config: Config,
    env: Mapping[str, str],
    console: Console,
    *,
    as_json: bool = False,
    probe: Callable[[str], Access] | None = None,
    keep_existing: bool = False,
) -> None:
    """`docker login` of every registry of the config with credentials in the environment;
    `keep_existing`: not over credentials docker's config holds already (another step's
    `docker login`, which a logout of this one's must leave as it was)."""
    from buildcache.docker import engine

    in_ci = providers.run_context(env, GitFacts()).ci is not None
    client = engine.make_client()
    engine.require_docker_command(client)
    asked = probe or (lambda name: registry.probe_access(name, env))
    outcomes = []
    for target in login_targets(config, env, lambda name: providers.registry_variables(name, env)):
        credentials = target.credentials()
        if keep_existing and has_credentials(target.registry, env):
            outcome = LoginOutcome(target.registry, "docker config", KEPT)
        elif credentials is None:
            outcome = _without_credentials(target, env, asked)
        else:
            reason = engine.login(client, target.registry, *credentials)
            outcome = _logged_in(target, reason)
        say(console, outcome.line(), _STYLES.get(outcome.status, ""))
        outcomes.append(outcome)
    if as_json:
        print_json({"registries": [o.to_json() for o in outcomes]})
    _raise_failure(outcomes, console, in_ci=in_ci)


def _logged_in(target: LoginTarget, reason: str | None) -> LoginOutcome:
    if reason is not None:
        return LoginOutcome(target.registry, "rejected", reason)
    who = f"as {target.username} (from {target.source})"
    return LoginOutcome(target.registry, "logged in", who)


def _raise_failure(outcomes: Sequence[LoginOutcome], console: Console, *, in_ci: bool) -> None:
    """A rejected login fails; missing credentials fail in CI and are a warning elsewhere."""
    rejected = [o.registry for o in outcomes if o.status == "rejected"]
    if rejected:
        raise BuildFailed(
            f"the login to {', '.join(rejected)} was rejected",
            hint="check the username and that the token may push there",
        )
    missing = [o for o in outcomes if o.status == "missing"]
    if not missing:
        return
    what = "; ".join(f"{o.registry}: set {o.missing}" for o in missing)
    if in_ci:
        raise BuildFailed(
            f"no credentials for {', '.join(o.registry for o in missing)}, which the build "
            "pushes to",
            hint=what,
        )
    labelled(console, "warning", "yellow", f"a push will fail without credentials ({what})")


def logout(
    config: Config, console: Console, *, registries: Sequence[str] = (), as_json: bool = False
) -> None:
    """`docker logout` of the registries named (default every registry of the config), as
    docker/login-action does at the end of a job: the credentials a CI step stored do not
    outlive it on a shared runner. The action names those its own login wrote, and no other."""
    from buildcache.docker import engine

    unknown = [name for name in registries if name not in config.registries]
    if unknown:
        raise UsageError(
            f"{', '.join(unknown)} is not a registry of the config ({', '.join(config.registries)})"
        )
    chosen = list(dict.fromkeys(registries)) or config.registries
    client = engine.make_client()
    engine.require_docker_command(client)
    for name in chosen:
        engine.logout(client, name)
        say(console, f"logout {name}")
    if as_json:
        print_json({"registries": [{"registry": r, "status": "logged out"} for r in chosen]})


def _without_credentials(
    target: LoginTarget, env: Mapping[str, str], probe: Callable[[str], Access]
) -> LoginOutcome:
    """Whether a registry with no credentials in the environment can do without them."""
    if has_credentials(target.registry, env):
        return LoginOutcome(
            target.registry, "docker config", "logged in already (the docker config)"
        )
    found = probe(target.registry)
    if found.state == "anonymous":
        return LoginOutcome(target.registry, "anonymous", "takes pushes without a login")
    where = _not_asked(found)
    return LoginOutcome(
        target.registry, "missing", f"no credentials{where}; set {target.missing}", target.missing
    )


def _not_asked(found: Access) -> str:
    """Why whether a registry needs credentials is not known: it could not be asked."""
    if found.state == "unreachable":
        return f" (and it is unreachable, {found.detail}: whether it needs any is not known)"
    if found.state == "unexpected":
        return f" (and it answered {found.detail}: whether it needs any is not known)"
    return ""
