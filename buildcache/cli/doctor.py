"""`buildcache doctor`: the docker client, daemon, buildx, builder, platforms, credentials and config."""

from __future__ import annotations

from buildcache.cli.options import ConfigOption, JsonOption
from buildcache.commands.plan import read_config
from buildcache.ui.console import make_console


def doctor(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Check the docker client, daemon, buildx, builder, platforms, credentials and config."""
    from buildcache.commands.doctor import doctor as command

    command(lambda: read_config(config), as_json=as_json, console=make_console())
