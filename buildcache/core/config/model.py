"""Find, read and validate the config, and apply the environment over it.

The settings are described once, in core/config/schema.py (key, kind, default, environment variable).
The cascade, each layer over the one before:
defaults < the config file < environment (`BUILDCACHE_*`) < command line (core/plan/make.py). The
environment is passed in as a mapping, never read from os.environ here, so tests pass their own.
Every key records where its value came from, for `plan --verbose` and for errors that name the
file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from buildcache.core.build_inputs import Secret
from buildcache.core.reference import ImageRef

CONFIG_FILE = "buildcache.toml"
DEFAULT_VARIANT = "default"
# A variant name becomes a bake target name and part of Docker tags: keep it safe for both.
VARIANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
BUILDER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


# The settings


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    image: ImageRef | None = None  # None: the first of `images`
    tag_prefix: str = "buildcache-"
    mode: Literal["max", "min"] = "max"
    options: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[ImageRef, ...] = ()  # cache.from: read after the variant's own refs


@dataclass(frozen=True, kw_only=True)
class AttestConfig:
    # auto: max on a public repository when the CI says so, min otherwise (build-push-action's)
    provenance: Literal["auto", "off", "min", "max"] = "auto"
    sbom: bool = False
    sbom_generator: str | None = None  # the scanner image; None: BuildKit's default


@dataclass(frozen=True, kw_only=True)
class TagsConfig:
    """Which tags a run gets, by its event (docker/metadata-action's rules are the model)."""

    semver: bool = False  # a release v1.2.3 -> 1.2.3, 1.2, 1
    pep440: bool = False  # a release 1.2.3 -> 1.2.3, 1.2, 1; 1.3.0rc1 is a pre-release
    sha: bool = False  # also sha-<7 hex of HEAD> (sha-format = "long": all 40)
    sha_format: Literal["short", "long"] = "short"
    branch: bool = True  # a branch run (push, manual, laptop): <branch slug>
    pr: bool = True  # a pull/merge request: pr-<number>
    schedule: str = "nightly"  # a scheduled run; {{date 'YYYYMMDD'}} is today's date
    edge: bool = False  # a run on the default branch also tags edge
    raw: tuple[str, ...] = ()  # tags every run gets
    latest: Literal["auto", "true", "false"] = "auto"  # auto: on the highest final release
    prefix: str = ""  # before every tag but latest and the variant's alias
    suffix: str = ""  # after every tag but latest and the variant's alias
    # docker/metadata-action's `tags` and `flavor` lines (core/plan/rules.py): where either is
    # given, they make the tags and the keys above are not read
    rules: tuple[str, ...] = ()
    flavor: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BuildConfig:
    keep_going: bool = False  # when a variant fails, publish the others (and still fail)
    reproducible: bool = False  # SOURCE_DATE_EPOCH from the commit: a re-run, the same digests
    # a build argument no ARG declares stops the plan (False: a note), core/plan/inputs.py
    check_build_args: bool = True


@dataclass(frozen=True, kw_only=True)
class BaseConfig:
    # "cache": while a base tag has moved since the cache was built, keep building on the
    # cache's digest, for up to max_age; "always": take the tag's digest of the day
    refresh: Literal["always", "cache"] = "always"
    max_age: timedelta = timedelta(days=30)


@dataclass(frozen=True, kw_only=True)
class PublishConfig:
    retries: int = 3  # tries after the first, for transient registry failures
    backoff: float = 2.0  # seconds before the first retry; doubled each time


@dataclass(frozen=True, kw_only=True)
class NodeConfig:
    endpoint: str
    platforms: tuple[str, ...] = ()
    name: str | None = None
    driver_opts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BuilderConfig:
    name: str
    driver: str = "docker-container"
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    nodes: tuple[NodeConfig, ...] = ()


@dataclass(frozen=True, kw_only=True)
class VariantConfig:
    name: str
    default: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    contexts: Mapping[str, str] = field(default_factory=dict)
    cache_from: tuple[ImageRef, ...] = ()
    target: str | None = None
    platforms: tuple[str, ...] | None = None
    dockerfile: Path | None = None
    # the tag that follows its newest release: its name (`latest` for the default variant),
    # or another (`latest-full`, as a metadata-action flavor suffix with onlatest makes it)
    latest_tag: str | None = None
    # from a bake file's target (core/config/bakefile.py)
    context: Path | None = None
    secrets: tuple[Secret, ...] = ()
    ssh: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Config:
    path: Path | None  # the file read, None when everything came from the environment
    images: tuple[ImageRef, ...]
    platforms: tuple[str, ...] = ("linux/amd64",)
    context: Path
    dockerfile: Path
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)  # [labels]: over the OCI defaults
    annotations: Mapping[str, str] = field(default_factory=dict)
    project: Mapping[str, Any] = field(default_factory=dict)  # pyproject.toml [project]
    secrets: tuple[Secret, ...] = ()
    ssh: tuple[str, ...] = ()
    contexts: Mapping[str, str] = field(default_factory=dict)  # named build contexts
    attest: AttestConfig = field(default_factory=AttestConfig)
    bake_file: Path | None = None  # a team's docker-bake.hcl, whose targets are the variants
    bake_targets: tuple[str, ...] = ()  # default: its group "default"
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

    @property
    def builder_name(self) -> str | None:
        """The buildx builder builds run on; None: the engine's own (the docker driver)."""
        return self.builder.name if self.builder and self.builder.driver != "docker" else None

    @property
    def registries(self) -> list[str]:
        """Every registry of `images` and the cache image, in order, once."""
        return list(dict.fromkeys(image.registry for image in (*self.images, self.cache_image)))

    def wanted_platforms(self) -> list[str]:
        """Every platform some variant is built for, sorted."""
        return sorted({p for v in self.variants for p in (v.platforms or self.platforms)})
