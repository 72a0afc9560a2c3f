"""Find, read and validate the config, and apply the environment over it.

The settings are described once, in `SCHEMA` (key, kind, default, environment variable), as
cibuildwheel's defaults and pre-commit's cfgv do. The cascade, each layer over the one before:
defaults < the config file < environment (`BUILDCACHE_*`) < command line (core/plan.py). The
environment is passed in as a mapping, never read from os.environ here, so tests pass their own.
Every key records where its value came from, for `plan --verbose` and for errors that name the
file and the key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from buildcache.core.reference import ImageRef, ReferenceError, parse_image_name
from buildcache.errors import ConfigError

CONFIG_FILE = "buildcache.toml"
PYPROJECT = "pyproject.toml"
DEFAULT_VARIANT = "default"
DRIVERS = ("docker", "docker-container", "kubernetes", "remote")

TAG_CHARS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
# A variant name becomes a bake target name and part of Docker tags: keep it safe for both.
VARIANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BUILDER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


# The settings


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    image: ImageRef | None = None  # None: the first of `images`
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
    images: tuple[ImageRef, ...]
    platforms: tuple[str, ...] = ("linux/amd64",)
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
    sources: Mapping[str, str] = field(default_factory=dict)  # key -> where its value came from

    @property
    def default_variant(self) -> VariantConfig:
        return next(v for v in self.variants if v.default)

    @property
    def cache_image(self) -> ImageRef:
        return self.cache.image or self.images[0]

    @property
    def builder_name(self) -> str | None:
        """The buildx builder builds run on; None: the engine's own (the docker driver)."""
        return self.builder.name if self.builder and self.builder.driver != "docker" else None

    @property
    def registries(self) -> list[str]:
        """Every registry of `images` and the cache image, in order, once."""
        return list(dict.fromkeys(image.registry for image in (*self.images, self.cache_image)))

    def wanted_platforms(self) -> list[str]:
        """Every platform some variant is built for, sorted."""
        return sorted({p for v in self.variants for p in (v.platforms or self.platforms)})


# The schema: each key once, with its kind, default and environment variable


Kind = Literal[
    "images", "platforms", "path", "name", "args", "image", "tag-prefix", "choice", "bool",
    "int", "number", "cache-options", "options",
]  # fmt: skip


@dataclass(frozen=True)
class Setting:
    key: str  # as written in the file, dotted for tables: "cache.mode"
    kind: Kind
    default: Any = None
    env: str | None = None  # the BUILDCACHE_* variable that overrides the file
    required: bool = False
    choices: tuple[str, ...] = ()
    high: float = 0  # the largest number allowed, for int and number


SCHEMA = (
    Setting("images", "images", required=True, env="BUILDCACHE_IMAGES"),
    Setting("platforms", "platforms", ("linux/amd64",), env="BUILDCACHE_PLATFORMS"),
    Setting("context", "path", "."),
    Setting("dockerfile", "path", "Dockerfile"),
    Setting("target", "name"),
    Setting("build-args", "args", {}),
    Setting("cache.image", "image", env="BUILDCACHE_CACHE_IMAGE"),
    Setting("cache.tag-prefix", "tag-prefix", "buildcache-"),
    Setting("cache.mode", "choice", "max", choices=("max", "min")),
    Setting("cache.options", "cache-options", {}),
    Setting("tags.semver", "bool", False),
    Setting("tags.sha", "bool", False),
    Setting("publish.retries", "int", 3, high=20),
    Setting("publish.backoff", "number", 2.0, high=300),
)
VARIANT_SCHEMA = (
    Setting("default", "bool", False),
    Setting("build-args", "args", {}),
    Setting("target", "name"),
    Setting("platforms", "platforms"),
    Setting("dockerfile", "path"),
)
BUILDER_SCHEMA = (
    Setting("name", "name", "buildcache"),
    Setting("driver", "choice", "docker-container", choices=DRIVERS),
    Setting("driver-opts", "options", {}),
)
NODE_SCHEMA = (
    Setting("endpoint", "name", required=True),
    Setting("platforms", "platforms", ()),
    Setting("name", "name"),
    Setting("driver-opts", "options", {}),
)
TABLES = ("builder", "variants")  # sections with a structure of their own, read below
TOP_KEYS = tuple(dict.fromkeys([s.key.split(".")[0] for s in SCHEMA] + list(TABLES)))


# Finding and reading the file


def find_config(cwd: Path, explicit: Path | None = None) -> tuple[Path | None, dict[str, Any]]:
    """The config file and its buildcache table: --config, buildcache.toml, pyproject.toml."""
    if explicit is not None:
        if explicit.is_dir():
            raise ConfigError(f"the config file {explicit} is a directory")
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
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot be read ({error})", source=str(path)) from None


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
            hint="write one (see the README or `buildcache init`), give --config PATH, or set BUILDCACHE_IMAGES",
        )
    return parse_config(table, env, path=path, root=path.parent if path else cwd)


# Resolving the schema


class _Reader:
    """Reads schema settings from a TOML table; errors name the file (or variable) and the key."""

    def __init__(self, path: Path | None, root: Path, env: Mapping[str, str]) -> None:
        self.source = str(path) if path else "the environment"
        self.file = path.name if path else None
        self.prefix = "tool.buildcache." if path and path.name == PYPROJECT else ""
        self.root = root
        self.env = env
        self.sources: dict[str, str] = {}

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

    def table(self, table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, not {_kind(value)}")
        return value

    def section(
        self,
        table: Mapping[str, Any],
        schema: tuple[Setting, ...],
        where: str,
        *,
        known: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Every setting of `schema` from `table` (its keys prefixed by `where` in messages and
        in `sources`), the environment over the file; keys checked against the schema and
        `known` (the keys read elsewhere)."""
        self.check_keys(table, (*(s.key.rsplit(".", 1)[-1] for s in schema), *known), where)
        values: dict[str, Any] = {}
        for setting in schema:
            name = setting.key.rsplit(".", 1)[-1]
            key = where + name
            if setting.env and setting.env in self.env:
                self.sources[key] = f"env {setting.env}"
                values[name] = self._from_env(setting, key)
            elif name in table:
                self.sources[key] = f"file {self.file}"
                values[name] = self._convert(setting, key, table[name])
            elif setting.required:
                raise self.error(key, "is required", hint='e.g. images = ["ghcr.io/acme/widget"]')
            else:
                self.sources[key] = "default"
                values[name] = self._convert(setting, key, setting.default)
        return values

    def _from_env(self, setting: Setting, key: str) -> Any:
        assert setting.env is not None
        raw = self.env[setting.env]
        try:
            if setting.kind in ("images", "platforms"):
                return self._convert(setting, key, [p.strip() for p in raw.split(",") if p.strip()])
            return self._convert(setting, key, raw.strip() or None)
        except ConfigError as error:
            # blame the variable, not the file
            raise ConfigError(
                error.reason, source=f"environment {setting.env}", hint=error.hint
            ) from None

    def _convert(self, setting: Setting, key: str, value: Any) -> Any:
        return _CONVERTERS[setting.kind](self, setting, key, value)

    # converters, one per kind

    def _images(self, setting: Setting, key: str, value: Any) -> tuple[ImageRef, ...]:
        names = self._string_list(key, value)
        if not names:
            raise self.error(key, "must name at least one image")
        images = tuple(self._image_ref(key, name) for name in names)
        if len(set(images)) != len(images):
            raise self.error(key, "names the same image twice")
        return images

    def _image(self, setting: Setting, key: str, value: Any) -> ImageRef | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_kind(value)}")
        return self._image_ref(key, value)

    def _image_ref(self, key: str, value: str) -> ImageRef:
        try:
            return parse_image_name(value.strip())
        except ReferenceError as error:
            raise self.error(key, str(error), hint="buildcache makes the tags") from None

    def _platforms(self, setting: Setting, key: str, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        platforms = tuple(self._string_list(key, value))
        for platform in platforms:
            if not PLATFORM.match(platform):
                raise self.error(
                    key, f"{platform!r} is not a platform like 'linux/amd64' or 'linux/arm/v7'"
                )
        if not platforms and setting.default:
            raise self.error(key, "must name at least one platform")
        return platforms

    def _path(self, setting: Setting, key: str, value: Any) -> Path | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_kind(value)}")
        if not value.strip():
            raise self.error(key, "must not be empty")
        return self.root / value

    def _name(self, setting: Setting, key: str, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            raise self.error(
                key, f"must be a non-empty string without surrounding spaces, not {value!r}"
            )
        return value

    def _args(self, setting: Setting, key: str, value: Any) -> dict[str, str]:
        args: dict[str, str] = {}
        for name, arg in self._mapping(key, value).items():
            if not BUILD_ARG_NAME.match(name):
                raise self.error(f"{key}.{name}", "is not a valid build argument name")
            if isinstance(arg, bool | float):
                # 3.10 in TOML is the float 3.1: refuse rather than build the wrong thing.
                raise self.error(
                    f"{key}.{name}",
                    f"must be a string, not {_kind(arg)}",
                    hint=f'quote it: {name} = "{arg}"',
                )
            if not isinstance(arg, str | int):
                raise self.error(f"{key}.{name}", f"must be a string, not {_kind(arg)}")
            args[name] = str(arg)
        return args

    def _tag_prefix(self, setting: Setting, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_kind(value)}")
        if value and not TAG_CHARS.match(value + "x"):
            raise self.error(
                key, f"{value!r} cannot start a Docker tag (letters, digits, '_', '.', '-')"
            )
        return value

    def _choice(self, setting: Setting, key: str, value: Any) -> str:
        if value not in setting.choices:
            close = difflib.get_close_matches(str(value), setting.choices, n=1)
            raise self.error(
                key,
                f"must be {' or '.join(repr(c) for c in setting.choices)}, not {value!r}",
                hint=f"perhaps you meant '{close[0]}'?" if close else None,
            )
        return str(value)

    def _bool(self, setting: Setting, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {_kind(value)}")
        return value

    def _number(self, setting: Setting, key: str, value: Any) -> float:
        integer = setting.kind == "int"
        kind_ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not kind_ok or not 0 <= value <= setting.high:
            kind = "a whole number" if integer else "a number"
            raise self.error(key, f"must be {kind} from 0 to {setting.high:g}, not {value!r}")
        return value  # type: ignore[no-any-return]

    def _options(self, setting: Setting, key: str, value: Any) -> dict[str, str]:
        options: dict[str, str] = {}
        for name, option in self._mapping(key, value).items():
            if setting.kind == "cache-options" and name in ("type", "ref", "mode"):
                raise self.error(
                    f"{key}.{name}",
                    "is set by buildcache itself",
                    hint="use cache.image, cache.tag-prefix and cache.mode",
                )
            if isinstance(option, bool):
                option = "true" if option else "false"
            if not isinstance(option, str | int) or "," in str(option):
                raise self.error(f"{key}.{name}", "must be a string without commas")
            options[name] = str(option)
        return options

    # shapes

    def _mapping(self, key: str, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, not {_kind(value)}")
        return value

    def _string_list(self, key: str, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            raise self.error(key, f"must be a list of strings, not {_kind(value)}")
        return [v.strip() for v in value]


_CONVERTERS: dict[str, Callable[[_Reader, Setting, str, Any], Any]] = {
    "images": _Reader._images,
    "image": _Reader._image,
    "platforms": _Reader._platforms,
    "path": _Reader._path,
    "name": _Reader._name,
    "args": _Reader._args,
    "tag-prefix": _Reader._tag_prefix,
    "choice": _Reader._choice,
    "bool": _Reader._bool,
    "int": _Reader._number,
    "number": _Reader._number,
    "options": _Reader._options,
    "cache-options": _Reader._options,
}


def parse_config(
    table: Mapping[str, Any], env: Mapping[str, str], *, path: Path | None, root: Path
) -> Config:
    reader = _Reader(path, root, env)
    top = reader.section(table, tuple(s for s in SCHEMA if "." not in s.key), "", known=TOP_KEYS)
    sections = {
        name: reader.section(
            reader.table(table, name), tuple(s for s in SCHEMA if s.key.startswith(name + ".")), name + "."
        )
        for name in ("cache", "tags", "publish")
    }  # fmt: skip
    version = env.get("BUILDCACHE_VERSION", "").strip() or None
    if version:
        reader.sources["version"] = "env BUILDCACHE_VERSION"
    cache = sections["cache"]
    return Config(
        path=path,
        images=top["images"],
        platforms=top["platforms"],
        context=top["context"],
        dockerfile=top["dockerfile"],
        target=top["target"],
        build_args=top["build-args"],
        cache=CacheConfig(
            image=cache["image"],
            tag_prefix=cache["tag-prefix"],
            mode=cache["mode"],
            options=cache["options"],
        ),
        tags=TagsConfig(**sections["tags"]),
        publish=PublishConfig(**sections["publish"]),
        builder=_builder(reader, reader.table(table, "builder")),
        variants=_variants(reader, reader.table(table, "variants")),
        version=version,
        sources=reader.sources,
    )


def _builder(reader: _Reader, table: Mapping[str, Any]) -> BuilderConfig | None:
    if not table:
        return None
    values = reader.section(
        {k: v for k, v in table.items() if k != "nodes"}, BUILDER_SCHEMA, "builder."
    )
    if not BUILDER_NAME.match(values["name"]):
        raise reader.error("builder.name", f"{values['name']!r} is not a valid builder name")
    nodes_raw = table.get("nodes", [])
    if not isinstance(nodes_raw, list) or not all(isinstance(n, dict) for n in nodes_raw):
        raise reader.error(
            "builder.nodes",
            "must be a list of tables ([[builder.nodes]])",
            hint='e.g. endpoint = "ssh://user@arm64-host"',
        )
    nodes = []
    for n, node in enumerate(nodes_raw):
        fields = reader.section(node, NODE_SCHEMA, f"builder.nodes[{n}].")
        nodes.append(
            NodeConfig(
                endpoint=fields["endpoint"],
                platforms=fields["platforms"],
                name=fields["name"],
                driver_opts=fields["driver-opts"],
            )
        )
    return BuilderConfig(
        name=values["name"],
        driver=values["driver"],
        driver_opts=values["driver-opts"],
        nodes=tuple(nodes),
    )


def _variants(reader: _Reader, table: Mapping[str, Any]) -> tuple[VariantConfig, ...]:
    if not table:
        return (VariantConfig(name=DEFAULT_VARIANT, default=True),)
    variants = []
    for name, body in table.items():
        if not VARIANT_NAME.match(name):
            raise reader.error(
                f"variants.{name}",
                "is not a valid variant name (lowercase letters, digits, '_' and '-', starting with a letter or digit)",
            )
        if not isinstance(body, dict):
            raise reader.error(f"variants.{name}", f"must be a table, not {_kind(body)}")
        values = reader.section(body, VARIANT_SCHEMA, f"variants.{name}.")
        variants.append(
            VariantConfig(
                name=name,
                default=values["default"],
                build_args=values["build-args"],
                target=values["target"],
                platforms=values["platforms"] or None,
                dockerfile=values["dockerfile"],
            )
        )
    defaults = [v.name for v in variants if v.default]
    if len(defaults) > 1:
        raise reader.error(
            "variants", f"only one variant may say default = true, not {', '.join(defaults)}"
        )
    if not defaults:
        # With none marked, the first one listed is the default (TOML keeps the file's order).
        variants[0] = replace(variants[0], default=True)
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
