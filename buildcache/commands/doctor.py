"""`buildcache doctor`: is everything there that a build needs? One row per check, with the fix.

The engine's checks are engine.py's probes (the same a failing build runs to explain itself);
this adds the config and the registry credentials. A `fail` row would make the build fail (exit
1: a registry of `images` that cannot be reached or refuses the credentials fails `build
--push`), a `warn` row may (a registry with no credentials: a push fails unless it needs none).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from rich.console import Console

from buildcache.core.config.model import Config
from buildcache.core.doctor import Check, Status, healthy
from buildcache.errors import BuildcacheError, BuildFailed
from buildcache.registry.client import probe_access
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
    pushed_to = {image.registry for image in config.all_images} if config else set()
    found += [
        _registry_check(registry, images=registry in pushed_to)
        for registry in (config.registries if config else [])
    ]
    return found


def _config_check(load_config: Callable[[], Config]) -> tuple[Config | None, Check]:
    try:
        config = load_config()
    except BuildcacheError as error:
        return None, Check("config", "fail", error.message, error.hint)
    variants = ", ".join(v.name for v in config.variants)
    return config, Check("config", "ok", f"{config.path or 'the environment'}: variants {variants}")


def _registry_check(registry: str, *, images: bool) -> Check:
    """Whether a push could reach the registry and write there: the question `build --push`
    asks before it bakes (core/publish/preflight.py), answered the same way: a registry of `images`
    that is unreachable or refuses the credentials fails (`build --push` stops there); the
    cache's registry alone warns (the build goes on without saving the cache)."""
    name = f"registry {registry}"
    stops: Status = "fail" if images else "warn"
    found = probe_access(registry)
    if found.state == "ok":
        return Check(name, "ok", "credentials in the docker config, accepted")
    if found.state == "anonymous":
        return Check(name, "ok", "no credentials, and it asks for none")
    if found.state == "unreachable":
        return Check(
            name,
            stops,
            f"unreachable ({found.detail}): a push there fails before anything is built",
            f"check the address and the network, or start the registry at {registry}",
        )
    if found.state == "unexpected":
        return Check(name, "warn", f"it answered {found.detail}: a push there may fail")
    why = (
        "it refused the credentials in the docker config"
        if found.state == "refused"
        else "no credentials in the docker config, and it asks who is calling"
    )
    return Check(
        name,
        stops if found.state == "refused" else "warn",
        f"{why} ({found.detail}): a push fails without them",
        f"buildcache login (or docker login {registry})",
    )
