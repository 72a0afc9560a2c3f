"""Pure: what must hold of every plan (one writer per tag, no image tag on a cache tag, valid
cache refs, a Dockerfile and context that exist), and the build arguments that look like
secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildcache.core.cache_tags import variant_of
from buildcache.core.config import Config
from buildcache.core.reference import TAG, ImageRef
from buildcache.core.upstream import RECORD_SUFFIX, looks_secret
from buildcache.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from buildcache.core.plan import VariantPlan


def secret_looking_args(names: Iterable[str]) -> list[str]:
    """Build arguments named like secrets: their values end up in the image's history and its
    provenance, where anyone who can pull the image reads them. buildcache shows them as ***."""
    return [
        f"the build argument {name} looks like a secret: build arguments are kept in the image's "
        "history; pass secrets with [secrets] or --secret and RUN --mount=type=secret instead"
        for name in sorted(set(names))
        if looks_secret(name)
    ]


def redactor(args: Iterable[Mapping[str, str]]) -> Callable[[str], str]:
    """What hides the values of secret-looking build arguments in BuildKit's own text (it
    expands arguments into step names: `RUN login "hunter2"`) before buildcache shows or logs
    it; values under 4 characters are left, they would hide too much else."""
    values = {v for given in args for k, v in given.items() if looks_secret(k) and len(v) >= 4}
    forms = sorted({form for v in values for form in (v, json.dumps(v)[1:-1])}, key=len)
    if not forms:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(form) for form in reversed(forms)))
    return lambda text: pattern.sub("***", text)


def shown_args(args: Mapping[str, str]) -> dict[str, str]:
    """Build arguments as buildcache prints them: a secret-looking one's value hidden."""
    return {name: "***" if looks_secret(name) else value for name, value in args.items()}


def check_invariants(config: Config, variants: Sequence[VariantPlan]) -> None:
    """What must hold of every plan, or a release could overwrite what another one wrote:
    each tag is written by one variant, no image tag is a cache tag, every cache ref is a valid
    tag. Broken, it is a usage error naming the variants and the tag."""
    writers: dict[ImageRef, str] = {}
    for variant in variants:
        for tag in variant.tags:
            other = writers.setdefault(tag, variant.name)
            if other != variant.name:
                raise UsageError(
                    f"the variants {other} and {variant.name} would both write {tag}: whichever "
                    "ran last would win",
                    hint="rename a variant, or drop the --tag or tags.raw that repeats a variant's name",
                )
    cache_repo = config.cache_image.bare()
    names = [v.name for v in config.variants]
    for tag in writers:
        if tag.bare() == cache_repo and variant_of(tag.tag or "", config.cache.tag_prefix, names):
            raise ConfigError(
                f"the image tag {tag} is also a cache tag ({writers[tag]}), so publishing it would "
                "overwrite a variant's cache",
                key="cache.tag-prefix",
                hint="use a cache.image of its own (e.g. <image>-cache), or a different cache.tag-prefix",
            )
    for variant in variants:
        # the record beside the cache (core/upstream.py) takes a suffix of the same tag
        if not TAG.fullmatch(f"{variant.cache_ref.tag}{RECORD_SUFFIX}"):
            raise ConfigError(
                f"the cache ref {variant.cache_ref} is not a valid Docker tag, or is too long to "
                f"keep a record beside it (at most {128 - len(RECORD_SUFFIX)} characters)",
                key="cache.tag-prefix",
            )


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
