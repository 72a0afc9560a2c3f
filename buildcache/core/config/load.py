"""Find, read and validate the config, and apply the environment over it.

The settings are declared once, as the fields of model.py (key, kind, default, environment
variable, doc; listed by schema.py).
The cascade, each layer over the one before:
defaults < the config file < environment (`BUILDCACHE_*`) < command line (core/plan). The
environment is passed in as a mapping, never read from os.environ here, so tests pass their own.
Every key records where its value came from, for `plan --verbose` and for errors that name the
file and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from buildcache.core.config.kinds import CONVERTERS
from buildcache.core.config.model import (
    BUILDER_NAME,
    CONFIG_FILE,
    DEFAULT_VARIANT,
    VARIANT_NAME,
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
    mark_bare,
)
from buildcache.core.config.reader import Reader, kind_of
from buildcache.core.config.schema import (
    BUILDER_SCHEMA,
    NODE_SCHEMA,
    PYPROJECT,
    SCHEMA,
    TOP_KEYS,
    VARIANT_SCHEMA,
    VARIANT_TABLES,
    VARIANT_TAGS_SCHEMA,
)
from buildcache.core.reference import ImageRef
from buildcache.errors import ConfigError

# Finding and reading the file


def find_config(cwd: Path, explicit: Path | None = None) -> tuple[Path | None, dict[str, Any]]:
    """The config file and its buildcache table: --config, else buildcache.toml or a
    pyproject.toml with [tool.buildcache] here or in a folder above, as git finds `.git` (a
    command run in a subfolder builds the project's images); the search stops at the
    repository's root."""
    if explicit is not None:
        return explicit, _explicit_config(explicit)
    for folder in _upward(cwd):
        found = _config_in(folder)
        if found is not None:
            return found
    return None, {}


def _upward(cwd: Path) -> list[Path]:
    """cwd and the folders above it, up to the first that holds `.git` (the repository's root)
    or the filesystem's root."""
    folders = []
    for folder in [cwd, *cwd.absolute().parents]:
        folders.append(folder)
        if (folder / ".git").exists():
            break
    return folders


def _config_in(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    """The folder's buildcache.toml, else its pyproject.toml's [tool.buildcache]."""
    candidate = folder / CONFIG_FILE
    if candidate.is_file():
        return candidate, _read_toml(candidate)
    candidate = folder / PYPROJECT
    if candidate.is_file():
        table = _pyproject_table(candidate, _read_toml(candidate), required=False)
        if table is not None:
            return candidate, table
    return None


def _explicit_config(path: Path) -> Any:
    """The buildcache table of --config PATH: a buildcache.toml, or a pyproject.toml's."""
    if path.is_dir():
        raise ConfigError(f"the config file {path} is a directory")
    if not path.is_file():
        raise ConfigError(f"the config file {path} does not exist")
    table = _read_toml(path)
    if path.name == PYPROJECT:
        return _pyproject_table(path, table, required=True)
    return table


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
    if path is None and not env.get("BUILDCACHE_IMAGES", "").strip():
        raise ConfigError(
            f"no config found: looked for {CONFIG_FILE} and [tool.buildcache] in {PYPROJECT} in {cwd} "
            "and the folders above it",
            hint="write one (see the README or `buildcache init`), give --config PATH, or set BUILDCACHE_IMAGES",
        )
    root = path.parent if path else cwd
    return parse_config(table, env, path=path, root=root, project=_project_table(root))


def _project_table(root: Path) -> Mapping[str, Any]:
    """pyproject.toml's [project] beside the config, for the image's title, description, licenses
    and URL; nothing where there is none or it cannot be read."""
    try:
        data = tomllib.loads((root / PYPROJECT).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    project = data.get("project")
    return project if isinstance(project, dict) else {}


def _one_tag_language(reader: Reader, tags: Mapping[str, Any], where: str = "tags.") -> None:
    """metadata-action's rules, or buildcache's shorthand keys: both would leave the reader
    guessing which one made a tag."""
    if not (tags["rules"] or tags["flavor"]):
        return
    short = [key for key in tags if key not in ("rules", "flavor") and reader.given(where + key)]
    if short:
        raise reader.error(
            where + short[0],
            "is a shorthand, and tags.rules/tags.flavor are given: they make every tag",
            hint="write it as a rule (see docs/tags.md), or drop tags.rules and tags.flavor",
        )


def fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """A section's values under their dataclass fields' names: each key is declared once, as
    its field, named as the key with `_` for `-` (tests/unit/core/config check that every
    schema key has its field)."""
    return {key.replace("-", "_"): value for key, value in values.items()}


def _env_version(reader: Reader, env: Mapping[str, str]) -> str | None:
    """BUILDCACHE_VERSION, where it is set and not empty."""
    version = env.get("BUILDCACHE_VERSION", "").strip() or None
    if version:
        reader.sources["version"] = "env BUILDCACHE_VERSION"
    return version


def parse_config(
    table: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    path: Path | None,
    root: Path,
    project: Mapping[str, Any] | None = None,
) -> Config:
    reader = Reader(path, root, env, CONVERTERS)
    top = reader.section(table, tuple(s for s in SCHEMA if "." not in s.key), "", known=TOP_KEYS)
    sections = {
        name: reader.section(
            reader.table(table, name),
            tuple(s for s in SCHEMA if s.key.startswith(name + ".")),
            name + ".",
        )
        for name in ("cache", "tags", "build", "publish", "base", "attest")
    }
    version = _env_version(reader, env)
    _one_tag_language(reader, sections["tags"])
    tags = TagsConfig(**fields(sections["tags"]))
    return Config(
        path=path,
        project=project or {},
        **fields(top),
        attest=AttestConfig(**fields(sections["attest"])),
        cache=_cache(reader, sections["cache"]),
        tags=tags,
        publish=PublishConfig(**fields(sections["publish"])),
        build=BuildConfig(**fields(sections["build"])),
        base=BaseConfig(**fields(sections["base"])),
        builder=_builder(reader, reader.table(table, "builder")),
        variants=_variants(
            reader, reader.table(table, "variants"), sections["tags"], top["images"]
        ),
        version=version,
        sources=reader.sources,
        notes=tuple(reader.notes),
    )


def _cache(reader: Reader, cache: Mapping[str, Any]) -> CacheConfig:
    if not cache["tag-prefix"]:
        raise reader.error(
            "cache.tag-prefix",
            "must not be empty: every tag of the cache image would look like a cache tag, and "
            "`cache prune` could take a release for one",
            hint='keep the default, "buildcache-"',
        )
    return CacheConfig(
        image=cache["image"],
        tag_prefix=cache["tag-prefix"],
        mode=cache["mode"],
        options=cache["options"],
        sources=cache["from"],
    )


def _reserved(name: str) -> str | None:
    """Why a name cannot be a variant's: its alias tag would collide with a release's tags."""
    if name == "latest":
        return "'latest' is the default variant's moving tag"
    if re.fullmatch(r"v?\d[\w.-]*", name):
        return f"{name!r} reads as a version, and its alias tag would be taken for a release's"
    return None


def _builder(reader: Reader, table: Mapping[str, Any]) -> BuilderConfig | None:
    if not table:
        return None
    values = reader.section(
        {k: v for k, v in table.items() if k != "nodes"}, BUILDER_SCHEMA, "builder."
    )
    if not BUILDER_NAME.fullmatch(values["name"]):
        raise reader.error("builder.name", f"{values['name']!r} is not a valid builder name")
    return BuilderConfig(**fields(values), nodes=_nodes(reader, table.get("nodes", [])))


def _nodes(reader: Reader, nodes: Any) -> tuple[NodeConfig, ...]:
    """`[[builder.nodes]]`: one table per machine of the builder."""
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise reader.error(
            "builder.nodes",
            "must be a list of tables ([[builder.nodes]])",
            hint='e.g. endpoint = "ssh://user@arm64-host"',
        )
    return tuple(
        NodeConfig(**fields(reader.section(node, NODE_SCHEMA, f"builder.nodes[{n}].")))
        for n, node in enumerate(nodes)
    )


def _variant(reader: Reader, name: str, body: Any, config_tags: Mapping[str, Any]) -> VariantConfig:
    _check_variant_name(reader, name)
    if not isinstance(body, dict):
        raise reader.error(f"variants.{name}", f"must be a table, not {kind_of(body)}")
    own = {k: v for k, v in body.items() if k not in VARIANT_TABLES}
    values = reader.section(own, VARIANT_SCHEMA, f"variants.{name}.", known=VARIANT_TABLES)
    # an empty list of platforms or latest-tag is none: the config's own apply
    values |= {"platforms": values["platforms"] or None, "latest-tag": values["latest-tag"] or None}
    tags = _variant_tags(reader, name, reader.table(body, "tags"), config_tags)
    return VariantConfig(name=name, tags=tags, **fields(values))


def _variant_tags(
    reader: Reader, name: str, table: Mapping[str, Any], config_tags: Mapping[str, Any]
) -> TagsConfig | None:
    """`[variants.NAME.tags]`: the keys it gives over the config's [tags]; None where it has
    none (the variant takes the config's tags, suffixed `-NAME` unless it is the default)."""
    if not table:
        return None
    where = f"variants.{name}.tags."
    values = reader.section(table, VARIANT_TAGS_SCHEMA, where)
    given = {key: value for key, value in values.items() if reader.given(where + key)}
    merged = {**config_tags, **given}
    _one_tag_language(reader, merged, where)
    return TagsConfig(**fields(merged))


def _check_variant_name(reader: Reader, name: str) -> None:
    if not VARIANT_NAME.fullmatch(name):
        raise reader.error(
            f"variants.{name}",
            "is not a valid variant name (lowercase letters, digits, '_' and '-', starting with a letter or digit)",
        )
    reserved = _reserved(name)
    if reserved:
        raise reader.error(f"variants.{name}", f"cannot name a variant: {reserved}")


def _variants(
    reader: Reader,
    table: Mapping[str, Any],
    config_tags: Mapping[str, Any],
    images: tuple[ImageRef, ...],
) -> tuple[VariantConfig, ...]:
    if not table:
        return (VariantConfig(name=DEFAULT_VARIANT, default=True),)
    variants = [_variant(reader, name, body, config_tags) for name, body in table.items()]
    said = [v for v in variants if v.default]
    for n, variant in enumerate(said):
        twice = [v.name for v in said[n:] if (v.images or images) == (variant.images or images)]
        if len(twice) > 1:
            raise reader.error(
                "variants",
                f"only one variant of an image may say default = true, not {', '.join(twice)}",
            )
    return mark_bare(variants, images, {v.name for v in said})
