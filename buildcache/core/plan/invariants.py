"""Pure: what must hold of every plan (one writer per tag, no image tag on a cache tag, valid
cache refs, a Dockerfile and context that exist)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from buildcache.core.cache import RECORD_SUFFIX, NameOwner, owned_names, record_ref, variant_of
from buildcache.core.config.model import Config
from buildcache.core.dockerfile.syntax import unknown_instruction
from buildcache.core.plan.model import VariantPlan
from buildcache.core.reference import TAG, ImageRef
from buildcache.errors import ConfigError, UsageError


def _one_writer_each(variants: Sequence[VariantPlan]) -> dict[ImageRef, str]:
    """Each tag and the one variant that writes it; a usage error where two would."""
    writers: dict[ImageRef, str] = {}
    for variant in variants:
        for tag in variant.tags:
            other = writers.setdefault(tag, variant.name)
            if other != variant.name:
                raise UsageError(
                    f"the variants {other} and {variant.name} would both write {tag}: whichever "
                    "ran last would win",
                    hint="give one of them a suffix of its own ([variants.NAME.tags] flavor "
                    '= ["suffix=-NAME,onlatest=true"]), or drop the --tag or tags.raw that '
                    "repeats a variant's name",
                )
    return writers


def _written_names(variant: VariantPlan) -> list[tuple[ImageRef, NameOwner]]:
    """The names a run of the variant writes besides its staging tags (which it owns in any
    run): its cache (a branch's, a platform's, or the main one), the record beside it, and its
    tags."""
    names = [
        (variant.cache_ref, NameOwner(variant.name, "the cache")),
        (record_ref(variant.cache_ref), NameOwner(variant.name, "the cache record")),
    ]
    return names + [(tag, NameOwner(variant.name, "a tag")) for tag in variant.tags]


def check_namespace(config: Config, variants: Sequence[VariantPlan]) -> None:
    """Every name this run writes into a registry is its own: never another variant's cache,
    record or staging tag (`slim` on branch `dev` would write `buildcache-slim-dev`, the cache
    of a variant `slim-dev`), and no tag is a name buildcache keeps for itself."""
    owners = owned_names(config)
    for variant in variants:
        for ref, writer in _written_names(variant):
            owner = owners.get(ref)
            if owner is not None and owner != writer:
                raise UsageError(
                    f"{ref} would be written as {writer} and is {owner}: one would overwrite "
                    "the other",
                    hint="rename the variant, the branch or the tag",
                )


def check_invariants(config: Config, variants: Sequence[VariantPlan]) -> None:
    """What must hold of every plan, or a release could overwrite what another one wrote:
    each tag is written by one variant, no name written is another's, no image tag is a cache
    tag, every cache ref is a valid tag. Broken, it is a usage error naming the variants and
    the tag."""
    writers = _one_writer_each(variants)
    cache_repos = {image.bare() for image in config.cache_images}
    names = [v.name for v in config.variants]
    for tag in writers:
        owner = variant_of(tag.tag or "", config.cache.tag_prefix, names)
        if tag.bare() in cache_repos and owner:
            raise ConfigError(
                f"the image tag {tag} (of {writers[tag]}) is shaped like a cache tag of {owner}, "
                "so publishing it could overwrite a cache",
                key="cache.tag-prefix",
                hint="use a cache.image of its own (e.g. <image>-cache), or a different cache.tag-prefix",
            )
    for variant in variants:
        # the record beside the cache (core/bases.py) takes a suffix of the same tag
        if not TAG.fullmatch(f"{variant.cache_ref.tag}{RECORD_SUFFIX}"):
            raise ConfigError(
                f"the cache ref {variant.cache_ref} is not a valid Docker tag, or is too long to "
                f"keep a record beside it (at most {128 - len(RECORD_SUFFIX)} characters)",
                key="cache.tag-prefix",
            )
    check_namespace(config, variants)


def check_dockerfiles(texts: Mapping[Path, str | None]) -> None:
    """A file that is not a Dockerfile is refused before BuildKit parses it: its parse error
    would print the file's first unknown line (a `dockerfile` pointed at a password file
    would show a password hash). The line itself is never shown."""
    for path, text in texts.items():
        line = unknown_instruction(text) if text is not None else None
        if line is not None:
            raise ConfigError(
                f"{path} is not a Dockerfile: line {line} is no instruction BuildKit knows (not "
                "shown: the file may hold anything)",
                key="dockerfile",
            )


def outside_notes(variants: Sequence[VariantPlan], root: Path | None) -> list[str]:
    """A note for each Dockerfile or context outside the project's folder: a context of `/`
    or `..` sends the engine everything under it."""
    if root is None:
        return []
    notes = []
    for variant in variants:
        for what, path in (("context", variant.context), ("Dockerfile", variant.dockerfile)):
            if not path.resolve().is_relative_to(root.resolve()):
                notes.append(
                    f"the {what} of {variant.name}, {path}, is outside the project ({root})"
                )
    return list(dict.fromkeys(notes))


def check_paths(variants: Sequence[VariantPlan], exists: Callable[[Path], bool] | None) -> None:
    """A Dockerfile or context that is not there fails a build late: say so at the plan (where
    the caller can look: `exists`)."""
    if exists is None:
        return
    for variant in variants:
        for what, path in (("context", variant.context), ("Dockerfile", variant.dockerfile)):
            if not exists(path):
                raise UsageError(
                    f"the {what} of {variant.name}, {path}, does not exist",
                    hint="paths in the config are relative to the config file",
                )
