"""Pure: the config's settings described once (key, kind, default, environment variable), and
the reader that resolves them from a TOML table and the environment.

As cibuildwheel's defaults and pre-commit's cfgv do: each key is declared once, with its kind
(which says how it is checked and converted), its default and the BUILDCACHE_* variable that
overrides it. The reader records where every value came from (`sources`), and every error it
raises names the file (or variable) and the key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from buildcache.core.reference import ImageRef, ReferenceError, parse_image_name
from buildcache.errors import ConfigError

PYPROJECT = "pyproject.toml"
REFRESH = ("always", "cache")
DRIVERS = ("docker", "docker-container", "kubernetes", "remote")
TAG_CHARS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
DURATION = re.compile(r"(\d{1,4})([hdw])")
BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


Kind = Literal[
    "images", "platforms", "path", "name", "args", "image", "tag-prefix", "tag-suffix",
    "tag-pattern", "tags", "latest", "choice", "bool", "int", "number", "cache-options", "options", "duration", "labels",
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
    Setting("labels", "labels", {}),
    Setting("annotations", "labels", {}),
    Setting("cache.image", "image", env="BUILDCACHE_CACHE_IMAGE"),
    Setting("cache.tag-prefix", "tag-prefix", "buildcache-"),
    Setting("cache.mode", "choice", "max", choices=("max", "min")),
    Setting("cache.options", "cache-options", {}),
    Setting("tags.semver", "bool", False),
    Setting("tags.pep440", "bool", False),
    Setting("tags.sha", "bool", False),
    Setting("tags.sha-format", "choice", "short", choices=("short", "long")),
    Setting("tags.branch", "bool", True),
    Setting("tags.pr", "bool", True),
    Setting("tags.schedule", "tag-pattern", "nightly"),
    Setting("tags.edge", "bool", False),
    Setting("tags.raw", "tags", ()),
    Setting("tags.latest", "latest", "auto"),
    Setting("tags.prefix", "tag-prefix", ""),
    Setting("tags.suffix", "tag-suffix", ""),
    Setting("build.keep-going", "bool", False),
    Setting("publish.retries", "int", 3, high=20),
    Setting("publish.backoff", "number", 2.0, high=300),
    Setting("base.refresh", "choice", "always", env="BUILDCACHE_BASE_REFRESH", choices=REFRESH),
    Setting("base.max-age", "duration", "30d", env="BUILDCACHE_BASE_MAX_AGE"),
)
VARIANT_SCHEMA = (
    Setting("default", "bool", False),
    Setting("build-args", "args", {}),
    Setting("labels", "labels", {}),
    Setting("annotations", "labels", {}),
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


class Reader:
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
            raise self.error(key, f"must be a table, not {kind_of(value)}")
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
            raise self.error(key, f"must be a string, not {kind_of(value)}")
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
            if not PLATFORM.fullmatch(platform):
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
            raise self.error(key, f"must be a string, not {kind_of(value)}")
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
            if not BUILD_ARG_NAME.fullmatch(name):
                raise self.error(f"{key}.{name}", "is not a valid build argument name")
            if isinstance(arg, bool | float):
                # 3.10 in TOML is the float 3.1: refuse rather than build the wrong thing.
                raise self.error(
                    f"{key}.{name}",
                    f"must be a string, not {kind_of(arg)}",
                    hint=f'quote it: {name} = "{arg}"',
                )
            if not isinstance(arg, str | int):
                raise self.error(f"{key}.{name}", f"must be a string, not {kind_of(arg)}")
            args[name] = str(arg)
        return args

    def _tag_prefix(self, setting: Setting, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {kind_of(value)}")
        if value and not TAG_CHARS.fullmatch(value + "x"):
            raise self.error(
                key, f"{value!r} cannot start a Docker tag (letters, digits, '_', '.', '-')"
            )
        return value

    def _tag_suffix(self, setting: Setting, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {kind_of(value)}")
        if value and not TAG_CHARS.fullmatch("x" + value):
            raise self.error(
                key, f"{value!r} cannot end a Docker tag (letters, digits, '_', '.', '-')"
            )
        return value

    def _tag_pattern(self, setting: Setting, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, not {value!r}")
        if not TAG_CHARS.fullmatch(re.sub(r"\{\{\s*date\s+'[^']*'\s*\}\}", "0", value)):
            raise self.error(
                key,
                f"{value!r} is not a Docker tag pattern (letters, digits, '_', '.', '-', and {{{{date 'YYYYMMDD'}}}})",
            )
        return value

    def _tags(self, setting: Setting, key: str, value: Any) -> tuple[str, ...]:
        tags = tuple(self._string_list(key, value))
        for tag in tags:
            if not TAG_CHARS.fullmatch(tag) or len(tag) > 128:
                raise self.error(key, f"{tag!r} is not a valid Docker tag")
        return tags

    def _latest(self, setting: Setting, key: str, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if value != "auto":
            raise self.error(key, f'must be "auto", true or false, not {value!r}')
        return "auto"

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
            raise self.error(key, f"must be true or false, not {kind_of(value)}")
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
            if setting.kind == "labels":  # any text, under a label key
                if not LABEL_KEY.fullmatch(name) or not isinstance(option, str):
                    raise self.error(f"{key}.{name}", "must be a string, under a label key")
            elif isinstance(option, bool):
                option = "true" if option else "false"
            if not isinstance(option, str | int) or (
                "," in str(option) and setting.kind != "labels"
            ):
                raise self.error(f"{key}.{name}", "must be a string without commas")
            options[name] = str(option)
        return options

    def _duration(self, setting: Setting, key: str, value: Any) -> timedelta:
        match = DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise self.error(key, f'must be a duration such as "30d", "2w" or "12h", not {value!r}')
        hours = {"h": 1, "d": 24, "w": 24 * 7}[match.group(2)]
        return timedelta(hours=int(match.group(1)) * hours)

    # shapes

    def _mapping(self, key: str, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, not {kind_of(value)}")
        return value

    def _string_list(self, key: str, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            shown = (
                "a list with an empty string" if isinstance(value, list | tuple) else kind_of(value)
            )
            raise self.error(key, f"must be a list of non-empty strings, not {shown}")
        return [v.strip() for v in value]


_CONVERTERS: dict[str, Callable[[Reader, Setting, str, Any], Any]] = {
    "images": Reader._images,
    "image": Reader._image,
    "platforms": Reader._platforms,
    "path": Reader._path,
    "name": Reader._name,
    "args": Reader._args,
    "tag-prefix": Reader._tag_prefix,
    "tag-suffix": Reader._tag_suffix,
    "tag-pattern": Reader._tag_pattern,
    "tags": Reader._tags,
    "latest": Reader._latest,
    "choice": Reader._choice,
    "bool": Reader._bool,
    "int": Reader._number,
    "number": Reader._number,
    "options": Reader._options,
    "cache-options": Reader._options,
    "duration": Reader._duration,
    "labels": Reader._options,
}


def kind_of(value: object) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
