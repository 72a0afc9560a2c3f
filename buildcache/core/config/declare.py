"""Pure: how a config key is declared, once, as the dataclass field that holds it.

`setting(...)` is a dataclass field whose metadata carries the key's kind (which says how it is
checked and converted, core/config/kinds.py), the default as TOML writes it, the BUILDCACHE_*
variable that overrides it and one line of documentation; the field's own default is the
typed value. `declared(cls, prefix)` reads the declarations of a dataclass back as Settings:
the reader (reader.py), the JSON Schema (json_schema.py) and the key lists (schema.py) are
made from them, so a key is never declared twice (issue 39).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal[
    "images", "platforms", "path", "name", "args", "image", "tag-prefix", "tag-suffix",
    "tag-pattern", "tags", "latest", "choice", "bool", "int", "number", "cache-options", "options", "duration", "labels",
    "secrets", "ssh", "contexts", "refs", "provenance", "names", "tag-rules", "tag-flavor",
]  # fmt: skip
_SETTING = "buildcache.setting"
# the field has no default of its own: the reader always gives it (a path relative to the
# config's folder), or a caller must (a required key)
NO_DEFAULT: Any = object()
REQUIRED: Any = object()  # a key the config must give: no default at all
_SAME: Any = object()


@dataclass(frozen=True)
class Setting:
    key: str  # as written in the file, dotted for tables: "cache.mode"
    kind: Kind
    default: Any = None  # as TOML writes it; converted by its kind like a written value
    env: str | None = None  # the BUILDCACHE_* variable that overrides the file
    required: bool = False
    choices: tuple[str, ...] = ()
    high: float = 0  # the largest number allowed, for int and number
    doc: str = ""  # one line, for the JSON Schema's description
    field: str = ""  # the dataclass field that holds it


def setting(
    kind: Kind,
    default: Any = None,
    *,
    doc: str = "",
    env: str | None = None,
    choices: tuple[str, ...] = (),
    high: float = 0,
    key: str = "",
    typed: Any = _SAME,
) -> Any:
    """A dataclass field that declares a config key: `key` (default: the field's name, `-` for
    `_`), its kind, its TOML `default` (or REQUIRED), and `typed`, the field's default where it
    differs from the TOML one ("30d" is timedelta(days=30)), or NO_DEFAULT."""
    required = default is REQUIRED
    if required:
        default = None
    declared = Setting(key, kind, default, env, required, choices, high, doc)
    metadata = {_SETTING: declared}
    value = default if typed is _SAME else typed
    if required or value is NO_DEFAULT:
        return field(metadata=metadata)
    if isinstance(value, dict):
        return field(default_factory=dict, metadata=metadata)
    return field(default=value, metadata=metadata)


def declared(cls: type, prefix: str = "") -> tuple[Setting, ...]:
    """The settings a dataclass declares, in its fields' order, each keyed `prefix` + its key."""
    found = []
    for each in dataclasses.fields(cls):
        own = each.metadata.get(_SETTING)
        if own is not None:
            key = prefix + (own.key or each.name.replace("_", "-"))
            found.append(dataclasses.replace(own, key=key, field=each.name))
    return tuple(found)
