"""Pure: the `[builder]` config -> the `docker buildx create` calls that make it.

A builder spread over machines is BuildKit's own distribution: one buildx builder with a node per
machine, each node building the platforms it names (a native arm64 machine, say). buildcache only
creates it and points the build at it; it schedules nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from buildcache.core.config.model import BuilderConfig

DEFAULT_BUILDKIT_IMAGE = "moby/buildkit:buildx-stable-1"
AUTO_BUILDER = "buildcache"  # what `builder up` creates where the engine cannot export a cache


@dataclass(frozen=True, kw_only=True)
class CreateCall:
    """The arguments of one python-on-whales `buildx.create` call."""

    name: str
    driver: str | None = None
    driver_options: dict[str, str] = field(default_factory=dict)
    context_or_endpoint: str | None = None
    platforms: list[str] | None = None
    append: bool = False
    use: bool = False

    def kwargs(self) -> dict[str, object]:
        return {
            "name": self.name,
            "driver": self.driver,
            "driver_options": dict(self.driver_options),
            "context_or_endpoint": self.context_or_endpoint,
            "platforms": self.platforms,
            "append": self.append,
            "use": self.use,
        }


def create_calls(builder: BuilderConfig, *, use: bool = False) -> list[CreateCall]:
    """The first node creates the builder with its driver; each further node is appended."""
    if builder.driver == "docker":
        return []  # the docker driver is the engine's own builder: nothing to create
    if not builder.nodes:
        return [
            CreateCall(
                name=builder.name,
                driver=builder.driver,
                driver_options=dict(builder.driver_opts),
                use=use,
            )
        ]
    calls = []
    for n, node in enumerate(builder.nodes):
        calls.append(
            CreateCall(
                name=builder.name,
                driver=builder.driver if n == 0 else None,
                driver_options={**builder.driver_opts, **node.driver_opts},
                context_or_endpoint=node.endpoint,
                platforms=list(node.platforms) or None,
                append=n > 0,
                use=use and n == 0,
            )
        )
    return calls


def buildkit_image(builder: BuilderConfig) -> str | None:
    """The BuildKit image a docker-container builder starts from (its driver-opts can name another)."""
    if builder.driver != "docker-container":
        return None
    options = {**builder.driver_opts}
    for node in builder.nodes:
        options.update(node.driver_opts)
    return options.get("image", DEFAULT_BUILDKIT_IMAGE)


def auto_builder() -> BuilderConfig:
    """What `builder up` makes where no [builder] is configured and the engine's own builder
    cannot export a registry cache: a docker-container builder on the same engine."""
    return BuilderConfig(name=AUTO_BUILDER, driver="docker-container")
