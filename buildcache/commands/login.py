"""`buildcache login`: every registry of the config, with credentials from the environment."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console

from buildcache.core.config import Config
from buildcache.core.login_targets import login_targets
from buildcache.errors import BuildFailed
from buildcache.ui.console import say


def login(config: Config, env: Mapping[str, str], console: Console) -> None:
    from buildcache import engine

    client = engine.make_client()
    engine.require_docker_command(client)
    rejected = []
    for target in login_targets(config, env):
        credentials = target.credentials()
        if credentials is None:
            say(
                console, f"skip   {target.registry}: no credentials; set {target.missing}", "yellow"
            )
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
