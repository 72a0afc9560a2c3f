"""`buildcache login`: every registry of the config, with credentials from the environment.

A registry with no credentials in the environment may still be fine: docker's config may hold
them (a `docker login` earlier, a credential helper), or the registry may take anonymous pushes.
One that has none of these is an error in CI (the push would fail later, after the whole build)
and a warning on a laptop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.console import Console

from buildcache.core.config.model import Config
from buildcache.core.login import LoginTarget, login_targets
from buildcache.core.plan.ci import GitFacts, run_context
from buildcache.errors import BuildFailed
from buildcache.registry import client as registry
from buildcache.registry.client import has_credentials
from buildcache.ui.console import labelled, say


def login(
    config: Config,
    env: Mapping[str, str],
    console: Console,
    *,
    probe: Callable[[str], bool | None] | None = None,
) -> None:
    from buildcache.docker import engine

    in_ci = run_context(env, GitFacts()).ci is not None
    client = engine.make_client()
    engine.require_docker_command(client)
    rejected, missing = [], []
    for target in login_targets(config, env):
        credentials = target.credentials()
        if credentials is None:
            if not _without_credentials(target, env, console, probe or registry.needs_login):
                missing.append(target)
            continue
        reason = engine.login(client, target.registry, *credentials)
        if reason is None:
            say(
                console,
                f"login  {target.registry} as {target.username} (from {target.source})",
                "green",
            )
        else:
            say(console, f"failed {target.registry}: {reason}", "red")
            rejected.append(target.registry)
    if rejected:
        raise BuildFailed(
            f"the login to {', '.join(rejected)} was rejected",
            hint="check the username and that the token may push there",
        )
    if missing:
        what = "; ".join(f"{t.registry}: set {t.missing}" for t in missing)
        if in_ci:
            raise BuildFailed(
                f"no credentials for {', '.join(t.registry for t in missing)}, which the build "
                "pushes to",
                hint=what,
            )
        labelled(console, "warning", "yellow", f"a push will fail without credentials ({what})")


def logout(config: Config, console: Console) -> None:
    """`docker logout` of every registry of the config, as docker/login-action does at the end of
    a job: the credentials a CI step stored do not outlive it on a shared runner."""
    from buildcache.docker import engine

    client = engine.make_client()
    engine.require_docker_command(client)
    for name in config.registries:
        engine.logout(client, name)
        say(console, f"logout {name}")


def _without_credentials(
    target: LoginTarget,
    env: Mapping[str, str],
    console: Console,
    probe: Callable[[str], bool | None],
) -> bool:
    """Whether a registry with no credentials in the environment can do without them."""
    if has_credentials(target.registry, env):
        say(console, f"ok     {target.registry}: logged in already (the docker config)")
        return True
    asks = probe(target.registry)
    if asks is False:
        say(console, f"ok     {target.registry}: takes pushes without a login")
        return True
    where = "" if asks else " (and it could not be reached to ask whether it needs one)"
    say(console, f"skip   {target.registry}: no credentials{where}; set {target.missing}", "yellow")
    return False
