"""Pure: the typed config, each key declared once as the field that holds it (`setting(...)`:
its kind, TOML default, environment variable and documentation; core/config/declare.py).
The cascade, each layer over the one before:
defaults < the config file < environment (`BUILDCACHE_*`) < command line (core/plan/make.py). The
environment is passed in as a mapping, never read from os.environ here, so tests pass their own.
Every key records where its value came from, for `plan --verbose` and for errors that name the
file and the key.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from buildcache.core.build_inputs import Secret
from buildcache.core.config.declare import NO_DEFAULT, REQUIRED, setting
from buildcache.core.reference import ImageRef

CONFIG_FILE = "buildcache.toml"
DEFAULT_VARIANT = "default"
# A variant name becomes a bake target name and part of Docker tags: keep it safe for both.
VARIANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
BUILDER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


# The settings: each key declared once, as the field that holds it (core/config/declare.py)

REFRESH = ("always", "cache")
DRIVERS = ("docker", "docker-container", "kubernetes", "remote")


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    image: ImageRef | None = setting(
        "image",
        env="BUILDCACHE_CACHE_IMAGE",
        doc="The cache's image; default: the first of images.",
    )
    tag_prefix: str = setting(
        "tag-prefix", "buildcache-", doc="A variant's cache tag is tag-prefix + its name."
    )
    mode: Literal["max", "min"] = setting(
        "choice", "max", choices=("max", "min"), doc="BuildKit's cache mode."
    )
    options: Mapping[str, str] = setting("cache-options", {}, doc="More cache-to options.")
    sources: tuple[ImageRef, ...] = setting(
        "refs", (), key="from", doc="More caches to read, after the variant's own."
    )


@dataclass(frozen=True, kw_only=True)
class AttestConfig:
    provenance: Literal["auto", "off", "min", "max"] = setting(
        "provenance",
        "auto",
        env="BUILDCACHE_PROVENANCE",
        doc="auto: max on a public repository when the CI says so, min otherwise "
        "(build-push-action's).",
    )
    sbom: bool = setting("bool", False, doc="An SBOM attestation.")
    sbom_generator: str | None = setting("name", doc="The SBOM scanner image; default: BuildKit's.")


@dataclass(frozen=True, kw_only=True)
class TagsConfig:
    """Which tags a run gets, by its event (docker/metadata-action's rules are the model)."""

    semver: bool = setting("bool", False, doc="A release v1.2.3 -> 1.2.3, 1.2, 1.")
    pep440: bool = setting(
        "bool", False, doc="A release 1.2.3 -> 1.2.3, 1.2, 1; 1.3.0rc1 is a pre-release."
    )
    sha: bool = setting("bool", False, doc="Also sha-<7 hex of HEAD> (sha-format long: all 40).")
    sha_format: Literal["short", "long"] = setting("choice", "short", choices=("short", "long"))
    branch: bool = setting("bool", True, doc="A branch run (push, manual, laptop): its slug.")
    pr: bool = setting("bool", True, doc="A pull/merge request: pr-<number>.")
    schedule: str = setting(
        "tag-pattern", "nightly", doc="A scheduled run's tag; {{date 'YYYYMMDD'}} is today's."
    )
    edge: bool = setting("bool", False, doc="A run on the default branch also tags edge.")
    raw: tuple[str, ...] = setting("tags", (), doc="Tags every run gets.")
    latest: Literal["auto", "true", "false"] = setting(
        "latest", "auto", doc="auto: on the highest final release."
    )
    prefix: str = setting(
        "tag-prefix", "", doc="Before every tag but latest and the variant's alias."
    )
    suffix: str = setting(
        "tag-suffix", "", doc="After every tag but latest and the variant's alias."
    )
    # docker/metadata-action's `tags` and `flavor` lines (core/plan/rules.py): where either is
    # given, they make the tags and the keys above are not read
    rules: tuple[str, ...] = setting("tag-rules", (), doc="docker/metadata-action's tags lines.")
    flavor: tuple[str, ...] = setting(
        "tag-flavor", (), doc="docker/metadata-action's flavor lines."
    )


@dataclass(frozen=True, kw_only=True)
class BuildConfig:
    keep_going: bool = setting(
        "bool", False, doc="When a variant fails, publish the others (and still fail)."
    )
    reproducible: bool = setting(
        "bool",
        False,
        env="BUILDCACHE_REPRODUCIBLE",
        doc="SOURCE_DATE_EPOCH from the commit: a re-run, the same digests.",
    )
    check_build_args: bool = setting(
        "bool", True, doc="A build argument no ARG declares stops the plan (false: a note)."
    )


@dataclass(frozen=True, kw_only=True)
class BaseConfig:
    refresh: Literal["always", "cache"] = setting(
        "choice",
        "always",
        env="BUILDCACHE_BASE_REFRESH",
        choices=REFRESH,
        doc="cache: keep building on the base the cache was built on, up to max-age.",
    )
    max_age: timedelta = setting(
        "duration",
        "30d",
        env="BUILDCACHE_BASE_MAX_AGE",
        typed=timedelta(days=30),
        doc="How long refresh = cache keeps a base its tag has moved away from.",
    )


@dataclass(frozen=True, kw_only=True)
class PublishConfig:
    retries: int = setting(
        "int", 3, high=20, doc="Tries after the first, for transient registry failures."
    )
    backoff: float = setting(
        "number", 2.0, high=300, doc="Seconds before the first retry; doubled each time."
    )


@dataclass(frozen=True, kw_only=True)
class NodeConfig:
    endpoint: str = setting("name", REQUIRED)
    platforms: tuple[str, ...] = setting("platforms", ())
    name: str | None = setting("name")
    driver_opts: Mapping[str, str] = setting("options", {})


@dataclass(frozen=True, kw_only=True)
class BuilderConfig:
    name: str = setting("name", "buildcache", typed=NO_DEFAULT)
    driver: str = setting("choice", "docker-container", choices=DRIVERS)
    driver_opts: Mapping[str, str] = setting("options", {})
    nodes: tuple[NodeConfig, ...] = ()


@dataclass(frozen=True, kw_only=True)
class VariantConfig:
    name: str
    default: bool = setting("bool", False, doc="This variant gets the bare tags of its images.")
    # its own images (an -enterprise image, one image per package of a monorepo); empty: the
    # config's. Its cache lives in the first of them, unless cache.image names one for all.
    images: tuple[ImageRef, ...] = setting(
        "images", typed=(), doc="Its own images; default: the config's."
    )
    context: Path | None = setting("path")
    build_args: Mapping[str, str] = setting("args", {}, doc="Merged over the shared build-args.")
    labels: Mapping[str, str] = setting("labels", {})
    annotations: Mapping[str, str] = setting("labels", {})
    contexts: Mapping[str, str] = setting("contexts", {})
    cache_from: tuple[ImageRef, ...] = setting("refs", ())
    target: str | None = setting("name")
    platforms: tuple[str, ...] | None = setting("platforms")
    dockerfile: Path | None = setting("path")
    # the tag that follows its newest release: its name (`latest` for the default variant),
    # or another (`latest-full`, as a metadata-action flavor suffix with onlatest makes it)
    latest_tag: str | None = setting(
        "tag-prefix", "", typed=None, doc="Its moving tag; default: its name, or latest."
    )
    # its own [variants.NAME.tags] over the config's [tags]: its tags are exactly what they
    # make (no `-NAME` suffix is added); None: the config's, suffixed unless it is the default
    tags: TagsConfig | None = None
    # from a bake file's target (core/config/bakefile.py)
    secrets: tuple[Secret, ...] = ()
    ssh: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Config:
    path: Path | None  # the file read, None when everything came from the environment
    images: tuple[ImageRef, ...] = setting(
        "images", REQUIRED, env="BUILDCACHE_IMAGES", doc="One image per registry."
    )
    platforms: tuple[str, ...] = setting("platforms", ("linux/amd64",), env="BUILDCACHE_PLATFORMS")
    context: Path = setting("path", ".", env="BUILDCACHE_CONTEXT", typed=NO_DEFAULT)
    dockerfile: Path = setting("path", "Dockerfile", env="BUILDCACHE_DOCKERFILE", typed=NO_DEFAULT)
    target: str | None = setting("name", env="BUILDCACHE_TARGET", doc="A Dockerfile stage.")
    build_args: Mapping[str, str] = setting("args", {}, doc="Shared by every variant.")
    labels: Mapping[str, str] = setting("labels", {}, doc="Image labels, over the OCI defaults.")
    annotations: Mapping[str, str] = setting(
        "labels", {}, doc="On the index and each platform's manifest."
    )
    project: Mapping[str, Any] = field(default_factory=dict)  # pyproject.toml [project]
    secrets: tuple[Secret, ...] = setting(
        "secrets", {}, typed=(), doc="For RUN --mount=type=secret; BuildKit reads them."
    )
    ssh: tuple[str, ...] = setting("ssh", (), doc="SSH agents for RUN --mount=type=ssh.")
    contexts: Mapping[str, str] = setting("contexts", {}, doc="Named build contexts.")
    attest: AttestConfig = field(default_factory=AttestConfig)
    bake_file: Path | None = setting(
        "path", doc="A team's docker-bake.hcl, whose targets are the variants."
    )
    bake_targets: tuple[str, ...] = setting("names", (), doc='Default: its group "default".')
    cache: CacheConfig = field(default_factory=CacheConfig)
    tags: TagsConfig = field(default_factory=TagsConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)
    build: BuildConfig = field(default_factory=BuildConfig)
    base: BaseConfig = field(default_factory=BaseConfig)
    builder: BuilderConfig | None = None
    variants: tuple[VariantConfig, ...]
    version: str | None = None  # BUILDCACHE_VERSION
    sources: Mapping[str, str] = field(default_factory=dict)  # key -> where its value came from
    notes: tuple[str, ...] = ()  # what was read differently from how it was written

    @property
    def default_variant(self) -> VariantConfig:
        return next(v for v in self.variants if v.default)

    def variant(self, name: str) -> VariantConfig:
        return next(v for v in self.variants if v.name == name)

    @property
    def cache_image(self) -> ImageRef:
        return self.cache.image or self.images[0]

    def images_of(self, variant: str) -> tuple[ImageRef, ...]:
        """The images a variant is pushed to: its own, else the config's."""
        own = next((v.images for v in self.variants if v.name == variant), ())
        return own or self.images

    def cache_image_of(self, variant: str) -> ImageRef:
        """Where a variant's cache lives: cache.image where given, else the first of its
        images (a variant with an image of its own keeps its cache beside it)."""
        return self.cache.image or self.images_of(variant)[0]

    @property
    def all_images(self) -> tuple[ImageRef, ...]:
        """Every image some variant is pushed to, the config's first, in order, once."""
        found = (*self.images, *(i for v in self.variants for i in v.images))
        return tuple(dict.fromkeys(found))

    @property
    def cache_images(self) -> tuple[ImageRef, ...]:
        """Every image some variant's cache lives in, in order, once."""
        return tuple(dict.fromkeys(self.cache_image_of(v.name) for v in self.variants))

    @property
    def builder_name(self) -> str | None:
        """The buildx builder builds run on; None: the engine's own (the docker driver)."""
        return self.builder.name if self.builder and self.builder.driver != "docker" else None

    @property
    def registries(self) -> list[str]:
        """Every registry of every variant's images and caches, in order, once: a login and the
        pre-flight cover them all."""
        found = (*self.all_images, self.cache_image, *self.cache_images)
        return list(dict.fromkeys(image.registry for image in found))

    def wanted_platforms(self) -> list[str]:
        """Every platform some variant is built for, sorted."""
        return sorted({p for v in self.variants for p in (v.platforms or self.platforms)})


def mark_bare(
    variants: Sequence[VariantConfig], images: tuple[ImageRef, ...], said: Collection[str]
) -> tuple[VariantConfig, ...]:
    """The variants with `default` set on those whose tags carry no suffix, among the variants
    pushed to the same images: those that say `default = true` (`said`: the shorthand); else
    those whose own [variants.NAME.tags] give them no prefix or suffix; else the first listed
    of those without tags of their own (the others are suffixed `-NAME`). Two bare variants of
    one image are refused when their tags are planned (core/plan/invariants.py)."""
    groups: dict[tuple[ImageRef, ...], list[VariantConfig]] = {}
    for variant in variants:
        groups.setdefault(variant.images or images, []).append(variant)
    bare = {v.name for group in groups.values() for v in _bare_in(group, said)}
    return tuple(dataclasses.replace(v, default=v.name in bare) for v in variants)


def _bare_in(group: Sequence[VariantConfig], said: Collection[str]) -> Sequence[VariantConfig]:
    if any(v.name in said for v in group):
        return [v for v in group if v.name in said]
    own_bare = [v for v in group if v.tags is not None and not _affixed(v.tags)]
    return own_bare or [v for v in group if v.tags is None][:1]


def _affixed(tags: TagsConfig) -> bool:
    """Whether a variant's own tags carry a prefix or a suffix (metadata-action's flavor, or
    the shorthand's)."""
    if tags.prefix or tags.suffix:
        return True
    if not tags.flavor:
        return False
    from buildcache.core.plan.rules import parse_flavor  # a config with a flavor only

    flavor = parse_flavor(tags.flavor)
    return bool(flavor.prefix or flavor.suffix)
