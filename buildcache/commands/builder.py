"""`buildcache builder up|down`: the buildx builder that builds run on."""

from __future__ import annotations

from rich.console import Console

from buildcache.core.builder import AUTO_BUILDER, auto_builder, buildkit_image, create_calls
from buildcache.core.config.model import Config
from buildcache.docker import engine
from buildcache.errors import EnvironmentProblem
from buildcache.ui.console import say


def up(config: Config, console: Console) -> None:
    """Create (or re-create) the [builder] of the config and boot it. Without [builder], where the
    engine's own builder cannot export a registry cache, create a docker-container one and use it:
    only here, on request, never silently in `build`."""
    client = engine.make_client()
    engine.require_docker_command(client)
    target, use = config.builder, False
    if target is None or target.driver == "docker":
        info = engine.inspect_engine(client)
        if info.can_export_cache:
            say(
                console,
                f"the builder '{info.builder}' (driver {info.driver}) can already export a registry cache; "
                "nothing to create",
            )
            _warn_platforms(console, config, info.platforms)
            return
        if target is not None:
            raise EnvironmentProblem(
                "[builder] asks for the docker driver, but this engine has no containerd image store, "
                "so it cannot export a registry cache",
                hint='use driver = "docker-container", or turn on the containerd image store',
            )
        target, use = auto_builder(), True
        say(
            console,
            f"the builder '{info.builder}' cannot export a registry cache (docker driver without the "
            f"containerd image store): creating the docker-container builder '{target.name}' and using it",
        )
    if engine.builder_exists(client, target.name):
        say(console, f"re-creating the builder '{target.name}' from the config")
        engine.remove_builder(client, target.name)
    info = engine.create_builder(
        client, create_calls(target, use=use), image=buildkit_image(target)
    )
    say(
        console,
        f"the builder '{info.builder}' is up: driver {info.driver}, platforms {', '.join(info.platforms)}",
        "green",
    )
    _warn_platforms(console, config, info.platforms)


def down(config: Config, console: Console) -> None:
    name = config.builder.name if config.builder else AUTO_BUILDER
    client = engine.make_client()
    engine.require_docker_command(client)
    if engine.remove_builder(client, name):
        say(console, f"removed the builder '{name}'")
    else:
        say(console, f"there is no builder '{name}'; nothing to remove")


def _warn_platforms(console: Console, config: Config, available: tuple[str, ...]) -> None:
    missing = [p for p in config.wanted_platforms() if not engine.supports_platform(p, available)]
    if missing:
        say(
            console,
            f"warning: it cannot build {', '.join(missing)}, which the config asks for",
            "yellow",
        )
