"""Pure: a team's own bake file (docker-bake.hcl, as `docker buildx bake --print` resolves it:
variables, functions, inheritance, matrix targets and --set already applied by buildx) ->
buildcache's variants.

Each bake target of the group (or the listed targets; a group of groups is followed down to its
targets, as bake does) becomes a variant with its context, Dockerfile, target, platforms, build
args, named contexts, secrets and SSH, pushed to the images its own `tags` name (each target its
own image; the config's `images` for a target that names none). The tags themselves are
buildcache's to make, as are cache-from/cache-to and outputs: replaced, and a note says so. A
`[variants.NAME]` table in the config adds to the target of that name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from buildcache.core.build_inputs import context_value, parse_secret
from buildcache.core.config.model import (
    DEFAULT_VARIANT,
    VARIANT_NAME,
    Config,
    VariantConfig,
    mark_bare,
)
from buildcache.core.platforms import PlatformError, normal_platform
from buildcache.core.reference import ImageRef, ReferenceError
from buildcache.errors import ConfigError, UsageError

REPLACED = ("tags", "cache-from", "cache-to", "output")


def parse_sets(overrides: Sequence[str]) -> dict[str, str]:
    """`--set target.key=value` (buildx's syntax) -> {"target.key": "value"}."""
    found = {}
    for text in overrides:
        key, sep, value = text.partition("=")
        if not sep or "." not in key:
            raise UsageError(
                f"--set {text!r} is not TARGET.KEY=VALUE", hint="e.g. --set slim.args.PY=3.13"
            )
        found[key] = value
    return found


def bake_variants(
    config: Config, definition: Mapping[str, Any], targets: Sequence[str], cwd: Path
) -> tuple[Config, list[str]]:
    """The config with the bake file's targets as its variants, and notes on what buildcache
    replaced. `targets` empty: the group "default". Relative paths are buildx's: from `cwd`."""
    all_targets: Mapping[str, Any] = definition.get("target") or {}
    names = _target_names(definition, targets, all_targets)
    own = _own_variants(config, names)
    variants = [
        _with_own(_variant(name, all_targets[name], cwd, config.images), own.get(name))
        for name in names
    ]
    said = [n for n in own if config.sources.get(f"variants.{n}.default", "default") != "default"]
    said = [n for n in said if own[n].default]
    marked = mark_bare(variants, config.images, said)
    notes = [note for name in names for note in _replaced_note(name, all_targets[name])]
    return dataclasses.replace(config, variants=marked), notes


def _replaced_note(name: str, target: Mapping[str, Any]) -> list[str]:
    """What a bake target sets that buildcache makes itself (tags, cache, output, ...)."""
    replaced = [key for key in REPLACED if target.get(key)]
    if not replaced:
        return []
    return [f"bake target {name}: its {', '.join(replaced)} are buildcache's to make, and replaced"]


def _own_variants(config: Config, names: Sequence[str]) -> dict[str, VariantConfig]:
    """The config's [variants.NAME] tables, each for a target the bake file builds here."""
    # a config without [variants.NAME] tables has the default variant alone
    only_default = len(config.variants) == 1 and config.variants[0].name == DEFAULT_VARIANT
    own = {} if only_default else {v.name: v for v in config.variants}
    strays = [name for name in own if name not in names]
    if strays:
        raise ConfigError(
            f"[variants.{strays[0]}] is not a target the bake file builds here",
            key=f"variants.{strays[0]}",
            hint=f"the targets: {', '.join(names)}",
        )
    return own


def _target_names(
    definition: Mapping[str, Any], asked: Sequence[str], all_targets: Mapping[str, Any]
) -> list[str]:
    """The targets asked for, else those of the group "default", else all; each one there and
    fit to name a variant."""
    groups: Mapping[str, Any] = definition.get("group") or {}
    if asked:
        names = _expanded(list(asked), groups)
    elif "default" in groups:
        names = _expanded(["default"], groups)
    else:
        names = list(all_targets)
    _check_there(names, all_targets)
    unfit = [name for name in names if not VARIANT_NAME.fullmatch(name)]
    if unfit:
        raise ConfigError(
            f"the bake target {unfit[0]!r} cannot name a variant (lowercase letters, digits, '_', '-')",
            key="bake-targets",
        )
    return names


def _expanded(names: Sequence[str], groups: Mapping[str, Any]) -> list[str]:
    """Group names replaced by their targets, down to targets (a matrix target is the group of
    the targets it makes), each once, in order; a group that holds itself is followed once."""
    found: dict[str, None] = {}
    seen: set[str] = set()
    pending = list(reversed(names))
    while pending:
        name = pending.pop()
        if name in groups and name not in seen:
            seen.add(name)
            pending += reversed(list(groups[name].get("targets") or ()))
        elif name not in groups:
            found.setdefault(name)
    return list(found)


def _check_there(names: Sequence[str], all_targets: Mapping[str, Any]) -> None:
    """Some targets, each one the bake file has."""
    unknown = [n for n in names if n not in all_targets]
    if unknown or not names:
        missing = f"no target {', '.join(map(repr, unknown))}" if unknown else "no targets"
        raise ConfigError(
            f"the bake file has {missing}",
            key="bake-targets",
            hint=f"its targets: {', '.join(all_targets) or 'none'}",
        )


def _strings(table: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (table or {}).items() if v is not None}


def _variant(
    name: str, target: Mapping[str, Any], bake_dir: Path, images: tuple[ImageRef, ...]
) -> VariantConfig:
    context = bake_dir / str(target.get("context") or ".")
    # buildx reads a relative Dockerfile from the context
    dockerfile = context / str(target.get("dockerfile") or "Dockerfile")
    own = _images(name, target.get("tags") or ())
    return VariantConfig(
        name=name,
        images=() if own == images else own,
        build_args=_strings(target.get("args")),
        labels=_strings(target.get("labels")),
        contexts={
            k: context_value(str(v), bake_dir) for k, v in (target.get("contexts") or {}).items()
        },
        target=target.get("target") or None,
        platforms=_platforms(name, target.get("platforms") or ()),
        dockerfile=dockerfile,
        context=context,
        secrets=tuple(parse_secret(str(entry), bake_dir) for entry in target.get("secret") or []),
        ssh=tuple(str(s) for s in target.get("ssh") or ()),
    )


def _images(name: str, tags: Sequence[str]) -> tuple[ImageRef, ...]:
    """The images a target's tags name, in order, once (the tags are buildcache's to make)."""
    try:
        return tuple(dict.fromkeys(ImageRef.parse(str(tag)).bare() for tag in tags))
    except ReferenceError as error:
        raise ConfigError(f"the bake target {name!r}: {error}", key="bake-file") from None


def _platforms(name: str, platforms: Sequence[str]) -> tuple[str, ...] | None:
    try:
        return tuple(normal_platform(str(p)) for p in platforms) or None
    except PlatformError as error:
        raise ConfigError(f"the bake target {name!r}: {error}", key="bake-file") from None


def _with_own(base: VariantConfig, own: VariantConfig | None) -> VariantConfig:
    """A target with what the config's [variants.NAME] adds to it."""
    if own is None:
        return base
    return dataclasses.replace(
        base,
        build_args={**base.build_args, **own.build_args},
        labels={**base.labels, **own.labels},
        annotations=own.annotations,
        contexts={**base.contexts, **own.contexts},
        cache_from=own.cache_from,
        target=own.target or base.target,
        platforms=own.platforms or base.platforms,
        dockerfile=own.dockerfile or base.dockerfile,
        context=own.context or base.context,
        images=own.images or base.images,
        tags=own.tags,
        latest_tag=own.latest_tag,
    )
