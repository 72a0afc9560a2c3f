"""`buildcache login`: every registry of the config, with credentials from the environment."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.text import Text

from buildcache import engine
from buildcache.config import Config
from buildcache.errors import BuildFailed
from buildcache.login import login_targets


def login(config: Config, env: Mapping[str, str], console: Console) -> None:
    client = engine.make_client()
    engine.require_docker_command(client)
    rejected = []
    for target in login_targets(config, env):
        credentials = target.credentials()
        if credentials is None:
            console.print(
                Text(
                    f"skip   {target.registry}: no credentials; set {target.missing}",
                    style="yellow",
                )
            )
            continue
        reason = engine.login(client, target.registry, *credentials)
        if reason is None:
            console.print(
                Text(
                    f"login  {target.registry} as {target.username} (from {target.source})",
                    style="green",
                )
            )
        else:
            console.print(Text(f"failed {target.registry}: {reason}", style="red"))
            rejected.append(target.registry)
    if rejected:
        raise BuildFailed(
            f"the login to {', '.join(rejected)} was rejected",
            hint="check the username and that the token may push there",
        )
