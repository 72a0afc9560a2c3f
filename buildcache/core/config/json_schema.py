"""Pure: the JSON Schema of buildcache.toml (and of `[tool.buildcache]`), made from the one
declaration of its keys (the fields of model.py, listed by schema.py), for editors (taplo, SchemaStore). `buildcache schema`
prints it; buildcache/config.schema.json is it, kept current by a test."""

from __future__ import annotations

from typing import Any

from buildcache.core.config.schema import (
    BUILDER_SCHEMA,
    NODE_SCHEMA,
    SCHEMA,
    VARIANT_SCHEMA,
    VARIANT_TAGS_SCHEMA,
    Kind,
    Setting,
)

_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_TABLE_OF_STRINGS = {"type": "object", "additionalProperties": _STRING}
_ARG = {
    "oneOf": [
        _STRING,
        {
            "type": "object",
            "properties": {"env": _STRING, "default": _STRING},
            "required": ["env"],
            "additionalProperties": False,
        },
    ]
}
_SECRET = {
    "type": "object",
    "properties": {"env": _STRING, "file": _STRING, "required": {"type": "boolean"}},
    "additionalProperties": False,
}
_KINDS: dict[Kind, dict[str, Any]] = {
    "images": {"oneOf": [_STRING, {**_STRINGS, "minItems": 1}]},
    "platforms": {
        **_STRINGS,
        "items": {"type": "string", "pattern": "^[A-Za-z0-9_]+/[A-Za-z0-9_-]+(/[A-Za-z0-9]+)?$"},
    },
    "path": _STRING,
    "name": _STRING,
    "image": _STRING,
    "tag-prefix": _STRING,
    "tag-suffix": _STRING,
    "tag-pattern": _STRING,
    "tags": _STRINGS,
    "tag-rules": _STRINGS,
    "tag-flavor": _STRINGS,
    "names": _STRINGS,
    "refs": _STRINGS,
    "ssh": _STRINGS,
    "args": {"type": "object", "additionalProperties": _ARG},
    "labels": _TABLE_OF_STRINGS,
    "options": _TABLE_OF_STRINGS,
    "cache-options": _TABLE_OF_STRINGS,
    "contexts": _TABLE_OF_STRINGS,
    "secrets": {"type": "object", "additionalProperties": _SECRET},
    "latest": {"enum": ["auto", "true", "false", True, False]},
    "bool": {"type": "boolean"},
    "int": {"type": "integer", "minimum": 0},
    "number": {"type": "number", "minimum": 0},
    "duration": {"type": "string", "pattern": "^[0-9]+[hdw]$"},
    "provenance": {"enum": ["auto", "min", "max", "off", False]},
    "choice": _STRING,
}


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a buildcache config table."""
    top = {s.key: s for s in SCHEMA if "." not in s.key}
    properties: dict[str, Any] = {key: _property(s) for key, s in top.items()}
    properties |= {name: _object(keys) for name, keys in _sections().items()}
    variant = _object({s.key: s for s in VARIANT_SCHEMA})
    variant["properties"]["tags"] = _object(
        {s.key.split(".", 1)[1]: s for s in VARIANT_TAGS_SCHEMA}
    )
    variant["properties"]["tags"]["description"] = "The keys of [tags], over the config's."
    properties["variants"] = {
        "type": "object",
        "description": "The variants: each built and tagged on its own, in the config's images "
        "or its own.",
        "additionalProperties": variant,
    }
    builder = _object({s.key: s for s in BUILDER_SCHEMA})
    builder["properties"]["nodes"] = {
        "type": "array",
        "items": _object({s.key: s for s in NODE_SCHEMA}),
    }
    properties["builder"] = builder
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "buildcache.toml",
        "description": "buildcache's config: buildcache.toml, or [tool.buildcache] in pyproject.toml.",
        "type": "object",
        "properties": properties,
        "required": [key for key, s in top.items() if s.required],
        "additionalProperties": False,
    }


def _sections() -> dict[str, dict[str, Setting]]:
    """The settings of each [section] (cache, tags, ...), by their key in it."""
    sections: dict[str, dict[str, Setting]] = {}
    for setting in (s for s in SCHEMA if "." in s.key):
        section, key = setting.key.split(".", 1)
        sections.setdefault(section, {})[key] = setting
    return sections


def _object(settings: dict[str, Setting]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: _property(s) for key, s in settings.items()},
        "required": [key for key, s in settings.items() if s.required],
        "additionalProperties": False,
    }


def _property(setting: Setting) -> dict[str, Any]:
    found = dict(_KINDS[setting.kind])
    if setting.choices:
        found = {"enum": list(setting.choices)}
    if setting.high:
        found["maximum"] = setting.high
    if setting.default not in (None, {}, ()):
        found["default"] = (
            list(setting.default) if isinstance(setting.default, tuple) else setting.default
        )
    said = [setting.doc]
    if setting.env:
        said.append(f"Overridden by the environment variable {setting.env}.")
    if any(said):
        found["description"] = " ".join(s for s in said if s)
    return found
