"""Find, read and validate the config, and apply the environment over it.

The cascade, each layer over the one before: defaults < the config file < environment
(`BUILDCACHE_*`) < command line (applied in plan.py). The environment is passed in as a mapping,
never read from os.environ here, so tests pass their own. Every resolved value remembers where it
came from, for `plan --verbose` and for error messages that name the file and the key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from buildcache.errors import ConfigError

CONFIG_FILE = "buildcache.toml"
PYPROJECT = "pyproject.toml"

TOP_KEYS = (
    "images",
    "platforms",
    "context",
    "dockerfile",
    "target",
    "build-args",
    "cache",
    "tags",
    "publish",
    "builder",
    "variants",
)
TAGS_KEYS = ("semver", "sha")
PUBLISH_KEYS = ("retries", "backoff")
BUILDER_KEYS = ("name", "driver", "driver-opts", "nodes")
NODE_KEYS = ("endpoint", "platforms", "name", "driver-opts")
DRIVERS = ("docker", "docker-container", "kubernetes", "remote")
CACHE_KEYS = ("image", "tag-prefix", "mode", "options")
VARIANT_KEYS = ("default", "build-args", "target", "platforms", "dockerfile")

DEFAULT_PLATFORMS = ("linux/amd64",)
DEFAULT_VARIANT = "default"

# Docker's reference grammar (distribution/reference), split into the parts we validate.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
IMAGE_NAME = re.compile(rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
# A variant name becomes a bake target name and part of Docker tags: keep it safe for both.
VARIANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    image: str | None = None  # None: the first of `images`
    tag_prefix: str = "buildcache-"
    mode: Literal["max", "min"] = "max"
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TagsConfig:
    semver: bool = False  # v1.2.3 -> 1.2.3, 1.2, 1
    sha: bool = False  # also sha-<7 hex of HEAD>


@dataclass(frozen=True, kw_only=True)
class PublishConfig:
    retries: int = 3  # tries after the first, for transient registry failures
    backoff: float = 2.0  # seconds before the first retry; doubled each time


@dataclass(frozen=True, kw_only=True)
class NodeConfig:
    endpoint: str
    platforms: tuple[str, ...] = ()
    name: str | None = None
    driver_opts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BuilderConfig:
    name: str
    driver: str = "docker-container"
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    nodes: tuple[NodeConfig, ...] = ()


@dataclass(frozen=True, kw_only=True)
class VariantConfig:
    name: str
    default: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    platforms: tuple[str, ...] | None = None
    dockerfile: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Config:
    path: Path | None  # the file read, None when everything came from the environment
    images: tuple[str, ...]
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    context: Path
    dockerfile: Path
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    cache: CacheConfig = field(default_factory=CacheConfig)
    tags: TagsConfig = field(default_factory=TagsConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)
    builder: BuilderConfig | None = None
    variants: tuple[VariantConfig, ...]
    version: str | None = None  # BUILDCACHE_VERSION
    sources: Mapping[str, str] = field(default_factory=dict)  # setting -> where it came from

    @property
    def default_variant(self) -> VariantConfig:
        return next(v for v in self.variants if v.default)

    @property
    def cache_image(self) -> str:
        return self.cache.image or self.images[0]

    @property
    def builder_name(self) -> str | None:
        """The buildx builder builds run on; None: the engine's own (the docker driver)."""
        return self.builder.name if self.builder and self.builder.driver != "docker" else None


def find_config(cwd: Path, explicit: Path | None = None) -> tuple[Path | None, dict[str, Any]]:
    """The config file and its buildcache table: --config, buildcache.toml, pyproject.toml."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"the config file {explicit} does not exist")
        table = _read_toml(explicit)
        if explicit.name == PYPROJECT:
            return explicit, _pyproject_table(explicit, table, required=True)
        return explicit, table
    candidate = cwd / CONFIG_FILE
    if candidate.is_file():
        return candidate, _read_toml(candidate)
    candidate = cwd / PYPROJECT
    if candidate.is_file():
        table = _pyproject_table(candidate, _read_toml(candidate), required=False)
        if table is not None:
            return candidate, table
    return None, {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"is not valid TOML ({error})", source=str(path)) from None
    except OSError as error:
        raise ConfigError(f"cannot be read ({error.strerror})", source=str(path)) from None


def _pyproject_table(path: Path, data: dict[str, Any], *, required: bool) -> Any:
    table = data.get("tool", {}).get("buildcache")
    if table is None and required:
        raise ConfigError("has no [tool.buildcache] table", source=str(path))
    return table


def load_config(cwd: Path, env: Mapping[str, str], explicit: Path | None = None) -> Config:
    """Find the config, read it, apply the environment, and validate everything."""
    path, table = find_config(cwd, explicit)
    if path is None and "BUILDCACHE_IMAGES" not in env:
        raise ConfigError(
            f"no config found: looked for {CONFIG_FILE} and [tool.buildcache] in {PYPROJECT} in {cwd}",
            hint="write one (see the README), give --config PATH, or set BUILDCACHE_IMAGES",
        )
    return parse_config(table, env, path=path, root=path.parent if path else cwd)


def parse_config(
    table: Mapping[str, Any], env: Mapping[str, str], *, path: Path | None, root: Path
) -> Config:
    source = str(path) if path else "the environment"
    prefix = "tool.buildcache." if path and path.name == PYPROJECT else ""
    reader = _Reader(source, prefix)
    reader.check_keys(table, TOP_KEYS, "")
    sources: dict[str, str] = {}

    def origin(key: str, env_name: str | None = None) -> str:
        if env_name and env_name in env:
            sources[key] = f"env {env_name}"
        elif key in table:
            sources[key] = f"file {path.name if path else ''}".strip()
        else:
            sources[key] = "default"
        return sources[key]

    if "BUILDCACHE_IMAGES" in env:
        raw_images: Any = _split_env(env["BUILDCACHE_IMAGES"])
        origin("images", "BUILDCACHE_IMAGES")
        images = tuple(reader.image(i, "BUILDCACHE_IMAGES") for i in raw_images)
    else:
        raw_images = reader.string_list(table, "images", required=True)
        origin("images")
        images = tuple(reader.image(i, "images") for i in raw_images)
    if not images:
        raise ConfigError("must name at least one image", source=source, key=prefix + "images")
    if len(set(images)) != len(images):
        raise ConfigError("names the same image twice", source=source, key=prefix + "images")

    if "BUILDCACHE_PLATFORMS" in env:
        platforms = tuple(
            reader.platform(p, "BUILDCACHE_PLATFORMS")
            for p in _split_env(env["BUILDCACHE_PLATFORMS"])
        )
    else:
        platforms = tuple(
            reader.platform(p, "platforms")
            for p in reader.string_list(table, "platforms") or DEFAULT_PLATFORMS
        )
    origin("platforms", "BUILDCACHE_PLATFORMS")
    if not platforms:
        raise ConfigError(
            "must name at least one platform", source=source, key=prefix + "platforms"
        )

    context = root / reader.string(table, "context", default=".")
    origin("context")
    dockerfile = root / reader.string(table, "dockerfile", default="Dockerfile")
    origin("dockerfile")
    target = reader.optional_string(table, "target")
    origin("target")
    build_args = reader.build_args(table, "build-args")
    origin("build-args")

    cache_table = reader.table(table, "cache")
    reader.check_keys(cache_table, CACHE_KEYS, "cache.")
    cache_image = reader.optional_string(cache_table, "image", "cache.")
    if "BUILDCACHE_CACHE_IMAGE" in env:
        cache_image = env["BUILDCACHE_CACHE_IMAGE"].strip() or None
    origin("cache.image", "BUILDCACHE_CACHE_IMAGE")
    if cache_image is not None:
        cache_image = reader.image(cache_image, "cache.image")
    tag_prefix = reader.string(cache_table, "tag-prefix", "cache.", default="buildcache-")
    if tag_prefix and not TAG.match(tag_prefix + "x"):
        raise ConfigError(
            f"{tag_prefix!r} cannot start a Docker tag (letters, digits, '_', '.', '-')",
            source=source,
            key=prefix + "cache.tag-prefix",
        )
    mode = reader.string(cache_table, "mode", "cache.", default="max")
    if mode not in ("max", "min"):
        raise ConfigError(
            f"must be 'max' or 'min', not {mode!r}", source=source, key=prefix + "cache.mode"
        )
    options = reader.options(cache_table, "options", "cache.")
    cache = CacheConfig(image=cache_image, tag_prefix=tag_prefix, mode=mode, options=options)  # type: ignore[arg-type]

    tags_table = reader.table(table, "tags")
    reader.check_keys(tags_table, TAGS_KEYS, "tags.")
    tags = TagsConfig(
        semver=reader.boolean(tags_table, "semver", "tags."),
        sha=reader.boolean(tags_table, "sha", "tags."),
    )

    publish_table = reader.table(table, "publish")
    reader.check_keys(publish_table, PUBLISH_KEYS, "publish.")
    publish = PublishConfig(
        retries=reader.number(
            publish_table, "retries", "publish.", default=3, integer=True, high=20
        ),
        backoff=reader.number(publish_table, "backoff", "publish.", default=2.0, high=300),
    )
    builder = reader.builder(reader.table(table, "builder"))

    variants = reader.variants(reader.table(table, "variants"), root)
    version = env.get("BUILDCACHE_VERSION", "").strip() or None
    if version:
        sources["version"] = "env BUILDCACHE_VERSION"
    return Config(
        path=path,
        images=images,
        platforms=platforms,
        context=context,
        dockerfile=dockerfile,
        target=target,
        build_args=build_args,
        cache=cache,
        tags=tags,
        publish=publish,
        builder=builder,
        variants=variants,
        version=version,
        sources=sources,
    )


def _split_env(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def normalize_image(name: str) -> str:
    """Lowercase, and spell out Docker Hub's short names (`acme/widget` is docker.io/acme/widget)."""
    name = name.strip().lower()
    first, _, rest = name.partition("/")
    if not rest or not ("." in first or ":" in first or first == "localhost"):
        if "/" not in name:
            name = f"library/{name}"
        name = f"docker.io/{name}"
    return name


def registry_of(image: str) -> str:
    return image.split("/", 1)[0]


class _Reader:
    """Typed access to the TOML table that raises ConfigError naming the file and the key."""

    def __init__(self, source: str, prefix: str) -> None:
        self.source = source
        self.prefix = prefix

    def error(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, source=self.source, key=self.prefix + key, hint=hint)

    def check_keys(self, table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = (
                    f"perhaps you meant '{where}{close[0]}'?"
                    if close
                    else f"known keys: {', '.join(known)}"
                )
                raise self.error(where + key, "is not a known setting", hint=hint)

    def table(self, table: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise self.error(where + key, f"must be a table, not {_kind(value)}")
        return value

    def string(self, table: Mapping[str, Any], key: str, where: str = "", *, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.error(where + key, f"must be a string, not {_kind(value)}")
        return value

    def boolean(self, table: Mapping[str, Any], key: str, where: str = "") -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise self.error(where + key, f"must be true or false, not {_kind(value)}")
        return value

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        *,
        default: float,
        high: float,
        integer: bool = False,
    ) -> Any:
        value = table.get(key, default)
        kind_ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not kind_ok or not 0 <= value <= high:
            kind = "a whole number" if integer else "a number"
            raise self.error(where + key, f"must be {kind} from 0 to {high:g}, not {value!r}")
        return value

    def builder(self, table: Mapping[str, Any]) -> BuilderConfig | None:
        if not table:
            return None
        self.check_keys(table, BUILDER_KEYS, "builder.")
        name = self.optional_string(table, "name", "builder.") or "buildcache"
        if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", name):
            raise self.error("builder.name", f"{name!r} is not a valid builder name")
        driver = self.string(table, "driver", "builder.", default="docker-container")
        if driver not in DRIVERS:
            close = difflib.get_close_matches(driver, DRIVERS, n=1)
            raise self.error(
                "builder.driver",
                f"{driver!r} is not a buildx driver ({', '.join(DRIVERS)})",
                hint=f"perhaps you meant '{close[0]}'?" if close else None,
            )
        nodes_raw = table.get("nodes", [])
        if not isinstance(nodes_raw, list) or not all(isinstance(n, dict) for n in nodes_raw):
            raise self.error("builder.nodes", "must be a list of tables ([[builder.nodes]])")
        nodes = []
        for n, node in enumerate(nodes_raw):
            where = f"builder.nodes[{n}]."
            self.check_keys(node, NODE_KEYS, where)
            endpoint = self.optional_string(node, "endpoint", where)
            if endpoint is None:
                raise self.error(
                    where + "endpoint",
                    "is required (e.g. ssh://user@arm64-host or tcp://host:1234)",
                )
            nodes.append(
                NodeConfig(
                    endpoint=endpoint,
                    platforms=tuple(
                        self.platform(p, where + "platforms")
                        for p in self.string_list(node, "platforms", where)
                    ),
                    name=self.optional_string(node, "name", where),
                    driver_opts=self.options_table(node, "driver-opts", where),
                )
            )
        return BuilderConfig(
            name=name,
            driver=driver,
            driver_opts=self.options_table(table, "driver-opts", "builder."),
            nodes=tuple(nodes),
        )

    def options_table(self, table: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, value in self.table(table, key, where).items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            if not isinstance(value, str | int):
                raise self.error(f"{where}{key}.{name}", "must be a string")
            values[name] = str(value)
        return values

    def optional_string(self, table: Mapping[str, Any], key: str, where: str = "") -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.error(where + key, f"must be a non-empty string, not {_kind(value)}")
        return value

    def string_list(
        self, table: Mapping[str, Any], key: str, where: str = "", *, required: bool = False
    ) -> list[str]:
        if key not in table:
            if required:
                raise self.error(
                    where + key, "is required", hint='e.g. images = ["ghcr.io/acme/widget"]'
                )
            return []
        value = table[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(where + key, f"must be a list of strings, not {_kind(value)}")
        return value

    def image(self, value: str, key: str) -> str:
        raw = value.strip()
        if "@" in raw or ":" in raw.rsplit("/", 1)[-1]:
            raise self.error(
                key,
                f"{raw!r} must be an image name without a tag or digest",
                hint="buildcache makes the tags",
            )
        image = normalize_image(raw)
        if not IMAGE_NAME.match(image):
            raise self.error(key, f"{raw!r} is not a valid image name")
        return image

    def platform(self, value: str, key: str) -> str:
        if not PLATFORM.match(value.strip()):
            raise self.error(
                key, f"{value!r} is not a platform like 'linux/amd64' or 'linux/arm/v7'"
            )
        return value.strip()

    def build_args(self, table: Mapping[str, Any], key: str, where: str = "") -> dict[str, str]:
        args: dict[str, str] = {}
        for name, value in self.table(table, key, where).items():
            if not BUILD_ARG_NAME.match(name):
                raise self.error(f"{where}{key}.{name}", "is not a valid build argument name")
            if isinstance(value, bool | float):
                # 3.10 in TOML is the float 3.1: refuse rather than build the wrong thing.
                raise self.error(
                    f"{where}{key}.{name}",
                    f"must be a string, not {_kind(value)}",
                    hint=f'quote it: {name} = "{value}"',
                )
            if not isinstance(value, str | int):
                raise self.error(f"{where}{key}.{name}", f"must be a string, not {_kind(value)}")
            args[name] = str(value)
        return args

    def options(self, table: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
        options: dict[str, str] = {}
        for name, value in self.table(table, key, where).items():
            if name in ("type", "ref", "mode"):
                raise self.error(
                    f"{where}{key}.{name}",
                    "is set by buildcache itself",
                    hint="use cache.image, cache.tag-prefix and cache.mode",
                )
            if isinstance(value, bool):
                value = "true" if value else "false"
            if not isinstance(value, str | int) or "," in str(value):
                raise self.error(f"{where}{key}.{name}", "must be a string without commas")
            options[name] = str(value)
        return options

    def variants(self, table: Mapping[str, Any], root: Path) -> tuple[VariantConfig, ...]:
        if not table:
            return (VariantConfig(name=DEFAULT_VARIANT, default=True),)
        variants = []
        for name, body in table.items():
            where = f"variants.{name}."
            if not VARIANT_NAME.match(name):
                raise self.error(
                    f"variants.{name}",
                    "is not a valid variant name (lowercase letters, digits, '_' and '-', starting with a letter or digit)",
                )
            if not isinstance(body, dict):
                raise self.error(f"variants.{name}", f"must be a table, not {_kind(body)}")
            self.check_keys(body, VARIANT_KEYS, where)
            default = body.get("default", False)
            if not isinstance(default, bool):
                raise self.error(where + "default", f"must be true or false, not {_kind(default)}")
            platforms = self.string_list(body, "platforms", where)
            dockerfile = body.get("dockerfile")
            if dockerfile is not None and not isinstance(dockerfile, str):
                raise self.error(where + "dockerfile", f"must be a string, not {_kind(dockerfile)}")
            variants.append(
                VariantConfig(
                    name=name,
                    default=default,
                    build_args=self.build_args(body, "build-args", where),
                    target=self.optional_string(body, "target", where),
                    platforms=tuple(self.platform(p, where + "platforms") for p in platforms)
                    or None,
                    dockerfile=root / dockerfile if dockerfile else None,
                )
            )
        defaults = [v.name for v in variants if v.default]
        if len(defaults) > 1:
            raise self.error(
                "variants", f"only one variant may say default = true, not {', '.join(defaults)}"
            )
        if not defaults:
            # With none marked, the first one listed is the default (TOML keeps the file's order).
            first = variants[0]
            variants[0] = VariantConfig(
                name=first.name,
                default=True,
                build_args=first.build_args,
                target=first.target,
                platforms=first.platforms,
                dockerfile=first.dockerfile,
            )
        return tuple(variants)


def _kind(value: object) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
