"""Pure: the config's settings described once (key, kind, default, environment variable), and
the reader that resolves them from a TOML table and the environment.

As cibuildwheel's defaults and pre-commit's cfgv do: each key is declared once, with its kind
(which says how it is checked and converted), its default and the BUILDCACHE_* variable that
overrides it. The reader records where every value came from (`sources`), and every error it
raises names the file (or variable) and the key. Each kind's converter is in core/config/kinds.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

PYPROJECT = "pyproject.toml"
REFRESH = ("always", "cache")
DRIVERS = ("docker", "docker-container", "kubernetes", "remote")


Kind = Literal[
    "images", "platforms", "path", "name", "args", "image", "tag-prefix", "tag-suffix",
    "tag-pattern", "tags", "latest", "choice", "bool", "int", "number", "cache-options", "options", "duration", "labels",
    "secrets", "ssh", "contexts", "refs", "provenance", "names", "tag-rules", "tag-flavor",
]  # fmt: skip


@dataclass(frozen=True)
class Setting:
    key: str  # as written in the file, dotted for tables: "cache.mode"
    kind: Kind
    default: Any = None
    env: str | None = None  # the BUILDCACHE_* variable that overrides the file
    required: bool = False
    choices: tuple[str, ...] = ()
    high: float = 0  # the largest number allowed, for int and number


SCHEMA = (
    Setting("images", "images", required=True, env="BUILDCACHE_IMAGES"),
    Setting("platforms", "platforms", ("linux/amd64",), env="BUILDCACHE_PLATFORMS"),
    Setting("context", "path", ".", env="BUILDCACHE_CONTEXT"),
    Setting("dockerfile", "path", "Dockerfile", env="BUILDCACHE_DOCKERFILE"),
    Setting("target", "name", env="BUILDCACHE_TARGET"),
    Setting("build-args", "args", {}),
    Setting("labels", "labels", {}),
    Setting("annotations", "labels", {}),
    Setting("secrets", "secrets", {}),
    Setting("ssh", "ssh", ()),
    Setting("contexts", "contexts", {}),
    Setting("bake-file", "path"),
    Setting("bake-targets", "names", ()),
    Setting("cache.image", "image", env="BUILDCACHE_CACHE_IMAGE"),
    Setting("cache.tag-prefix", "tag-prefix", "buildcache-"),
    Setting("cache.mode", "choice", "max", choices=("max", "min")),
    Setting("cache.options", "cache-options", {}),
    Setting("cache.from", "refs", ()),
    Setting("tags.semver", "bool", False),
    Setting("tags.pep440", "bool", False),
    Setting("tags.sha", "bool", False),
    Setting("tags.sha-format", "choice", "short", choices=("short", "long")),
    Setting("tags.branch", "bool", True),
    Setting("tags.pr", "bool", True),
    Setting("tags.schedule", "tag-pattern", "nightly"),
    Setting("tags.edge", "bool", False),
    Setting("tags.raw", "tags", ()),
    Setting("tags.latest", "latest", "auto"),
    Setting("tags.prefix", "tag-prefix", ""),
    Setting("tags.suffix", "tag-suffix", ""),
    Setting("tags.rules", "tag-rules", ()),  # metadata-action's `tags` lines
    Setting("tags.flavor", "tag-flavor", ()),  # metadata-action's `flavor` lines
    Setting("build.keep-going", "bool", False),
    Setting("build.reproducible", "bool", False, env="BUILDCACHE_REPRODUCIBLE"),
    Setting("build.check-build-args", "bool", True),
    Setting("publish.retries", "int", 3, high=20),
    Setting("publish.backoff", "number", 2.0, high=300),
    Setting("base.refresh", "choice", "always", env="BUILDCACHE_BASE_REFRESH", choices=REFRESH),
    Setting("base.max-age", "duration", "30d", env="BUILDCACHE_BASE_MAX_AGE"),
    Setting("attest.provenance", "provenance", "auto", env="BUILDCACHE_PROVENANCE"),
    Setting("attest.sbom", "bool", False),
    Setting("attest.sbom-generator", "name"),
)
VARIANT_SCHEMA = (
    Setting("default", "bool", False),
    Setting("images", "images"),  # its own images (default: the config's)
    Setting("context", "path"),
    Setting("build-args", "args", {}),
    Setting("labels", "labels", {}),
    Setting("annotations", "labels", {}),
    Setting("contexts", "contexts", {}),
    Setting("cache-from", "refs", ()),
    Setting("target", "name"),
    Setting("platforms", "platforms"),
    Setting("dockerfile", "path"),
    Setting("latest-tag", "tag-prefix", ""),  # its moving tag (default: its name; latest)
)
BUILDER_SCHEMA = (
    Setting("name", "name", "buildcache"),
    Setting("driver", "choice", "docker-container", choices=DRIVERS),
    Setting("driver-opts", "options", {}),
)
NODE_SCHEMA = (
    Setting("endpoint", "name", required=True),
    Setting("platforms", "platforms", ()),
    Setting("name", "name"),
    Setting("driver-opts", "options", {}),
)
# [variants.NAME.tags]: the keys of [tags], over the config's for that variant
VARIANT_TAGS_SCHEMA = tuple(s for s in SCHEMA if s.key.startswith("tags."))
VARIANT_TABLES = ("tags",)
TABLES = ("builder", "variants")  # sections with a structure of their own, read below
TOP_KEYS = tuple(dict.fromkeys([s.key.split(".")[0] for s in SCHEMA] + list(TABLES)))
