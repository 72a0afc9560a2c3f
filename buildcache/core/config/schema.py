"""Pure: the config's settings, as lists of keys for the reader (load.py) and the JSON Schema
(json_schema.py), read from their one declaration: the fields of core/config/model.py
(`setting(...)`, core/config/declare.py: key, kind, TOML default, environment variable, doc).

As cibuildwheel's defaults and pre-commit's cfgv do: each key is declared once, with its kind
(which says how it is checked and converted), its default and the BUILDCACHE_* variable that
overrides it. The reader records where every value came from (`sources`), and every error it
raises names the file (or variable) and the key. Each kind's converter is in core/config/kinds.py.
"""

from __future__ import annotations

from buildcache.core.config.declare import Kind, Setting, declared
from buildcache.core.config.model import (
    DRIVERS,
    REFRESH,
    AttestConfig,
    BaseConfig,
    BuildConfig,
    BuilderConfig,
    CacheConfig,
    Config,
    NodeConfig,
    PublishConfig,
    TagsConfig,
    VariantConfig,
)

PYPROJECT = "pyproject.toml"
# the [section]s of plain keys, each a dataclass of its own
SECTIONS = {
    "cache": CacheConfig,
    "tags": TagsConfig,
    "build": BuildConfig,
    "publish": PublishConfig,
    "base": BaseConfig,
    "attest": AttestConfig,
}
SCHEMA = declared(Config) + tuple(
    each for name, section in SECTIONS.items() for each in declared(section, name + ".")
)
VARIANT_SCHEMA = declared(VariantConfig)
BUILDER_SCHEMA = declared(BuilderConfig)
NODE_SCHEMA = declared(NodeConfig)
# [variants.NAME.tags]: the keys of [tags], over the config's for that variant
VARIANT_TAGS_SCHEMA = tuple(s for s in SCHEMA if s.key.startswith("tags."))
VARIANT_TABLES = ("tags",)
TABLES = ("builder", "variants")  # sections with a structure of their own, read below
TOP_KEYS = tuple(dict.fromkeys([s.key.split(".")[0] for s in SCHEMA] + list(TABLES)))

__all__ = [
    "BUILDER_SCHEMA",
    "DRIVERS",
    "NODE_SCHEMA",
    "PYPROJECT",
    "REFRESH",
    "SCHEMA",
    "TABLES",
    "TOP_KEYS",
    "VARIANT_SCHEMA",
    "VARIANT_TABLES",
    "VARIANT_TAGS_SCHEMA",
    "Kind",
    "Setting",
]
