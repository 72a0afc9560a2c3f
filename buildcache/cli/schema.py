"""`buildcache schema`: the JSON Schema of buildcache.toml, for editors."""

from __future__ import annotations


def schema() -> None:
    """Print the JSON Schema of buildcache.toml (and [tool.buildcache]), for editors."""
    from buildcache.core.config.json_schema import config_schema
    from buildcache.ui.console import print_json

    print_json(config_schema())
