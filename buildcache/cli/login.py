"""`buildcache login` and `logout`: docker's credentials for every registry of the config."""

from __future__ import annotations

import os

from buildcache.cli.options import ConfigOption, JsonOption
from buildcache.commands.plan import read_config
from buildcache.ui.console import make_console


def login(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Log in to every registry of the config, with credentials from the environment."""
    from buildcache.commands.login import login as command

    command(read_config(config), os.environ, make_console(), as_json=as_json)


def logout(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Log out of every registry of the config: remove docker's stored credentials for them."""
    from buildcache.commands.login import logout as command

    command(read_config(config), make_console(), as_json=as_json)
