"""Pure: the reader that resolves the schema's settings from a TOML table and the environment,
recording where each value came from; every error names the file (or variable) and the key.
Each kind's converter is in kinds.py, handed to the reader by load.py."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from buildcache.core.config.declare import Setting
from buildcache.core.config.schema import PYPROJECT
from buildcache.errors import ConfigError

Converter = Callable[["Reader", Setting, str, Any], Any]


class Reader:
    """Reads schema settings from a TOML table; errors name the file (or variable) and the key."""

    def __init__(
        self,
        path: Path | None,
        root: Path,
        env: Mapping[str, str],
        converters: Mapping[str, Converter],
    ) -> None:
        self.converters = converters
        self.source = str(path) if path else "the environment"
        self.file = path.name if path else None
        self.prefix = "tool.buildcache." if path and path.name == PYPROJECT else ""
        self.root = root
        self.env = env
        self.sources: dict[str, str] = {}
        self.notes: list[str] = []  # what was read differently from how it was written

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
        named = [(setting.key.rsplit(".", 1)[-1], setting) for setting in schema]
        return {name: self._value(setting, table, where, name) for name, setting in named}

    def _value(self, setting: Setting, table: Mapping[str, Any], where: str, name: str) -> Any:
        """One setting: from its environment variable, else the file, else its default."""
        key = where + name
        # a variable set to nothing is unset (a CI's empty input), never a value
        if setting.env and self.env.get(setting.env, "").strip():
            self.sources[key] = f"env {setting.env}"
            return self._from_env(setting, key)
        if name in table:
            self.sources[key] = f"file {self.file}"
            return self._convert(setting, key, table[name])
        if setting.required:
            raise self.error(key, "is required", hint='e.g. images = ["ghcr.io/acme/widget"]')
        self.sources[key] = "default"
        return self._convert(setting, key, setting.default)

    def given(self, key: str) -> bool:
        """Whether a setting read so far was written (in the file or the environment)."""
        return self.sources.get(key, "default") != "default"

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
        return self.converters[setting.kind](self, setting, key, value)


def as_written(value: object) -> str:
    """A value as TOML writes it (true, 3, "x"), for an error that shows it; an environment
    variable set to nothing is `empty`."""
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def kind_of(value: object) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
