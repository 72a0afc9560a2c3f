"""`buildcache doctor`: is everything there that a build needs? One row per check, with the fix.

The engine's checks are engine.py's probes (the same a failing build runs to explain itself);
this adds the config and the registry credentials. A `fail` row would make the build fail (exit
1), a `warn` row may (a registry with no credentials: a push fails unless it needs none).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from rich.console import Console

from buildcache.core.config.model import Config
from buildcache.core.doctor import Check, healthy
from buildcache.errors import BuildcacheError, BuildFailed
from buildcache.registry.client import has_credentials, needs_login
from buildcache.ui.console import print_json
from buildcache.ui.tables import checks_table


def doctor(load_config: Callable[[], Config], *, as_json: bool, console: Console) -> None:
    found = run_checks(load_config)
    if as_json:
        # stdout is the JSON and nothing else; the table is for people, who did not ask for JSON
        print_json({"healthy": healthy(found), "checks": [dataclasses.asdict(c) for c in found]})
    else:
        console.print(checks_table(found))
    if not healthy(found):
        raise BuildFailed(
            "something here would make the build fail (the checks marked fail say what, and the fix)"
        )


def run_checks(load_config: Callable[[], Config], docker_host: str | None = None) -> list[Check]:
    from buildcache.docker import engine

    config, check = _config_check(load_config)
    found = [check]
    probes, _ = engine.probe(
        engine.make_client(docker_host),
        builder_name=config.builder_name if config else None,
        platforms=config.wanted_platforms() if config else (),
        where=docker_host or os.environ.get("DOCKER_HOST") or "the default socket",
    )
    found += probes
    found += [_registry_check(registry) for registry in (config.registries if config else [])]
    return found


def _config_check(load_config: Callable[[], Config]) -> tuple[Config | None, Check]:
    try:
        config = load_config()
    except BuildcacheError as error:
        return None, Check("config", "fail", error.message, error.hint)
    variants = ", ".join(v.name for v in config.variants)
    return config, Check("config", "ok", f"{config.path or 'the environment'}: variants {variants}")


def _registry_check(registry: str) -> Check:
    """Credentials for the registry, or no need of them (a registry that asks nobody)."""
    name = f"registry {registry}"
    if has_credentials(registry):
        return Check(name, "ok", "credentials in the docker config")
    asks = needs_login(registry)
    if asks is False:
        return Check(name, "ok", "no credentials, and it asks for none")
    why = (
        "it asks who is calling" if asks else "it could not be reached to ask whether it needs any"
    )
    return Check(
        name,
        "warn",
        f"no credentials in the docker config, and {why}: a push fails without them",
        f"buildcache login (or docker login {registry})",
    )
