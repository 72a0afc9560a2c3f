"""Pure: image references as objects, parsed in one place by distribution's reference grammar.

A reference travels through the plan as an `ImageRef` (registry, repository, tag or digest) and a
cache destination as a `CacheSpec`; they become strings only where a string leaves buildcache (the
bake file, a command line, JSON, a table). Nothing re-parses a string that buildcache made.

Grammar and limits: github.com/distribution/reference (reference.go, normalize.go): a name of at
most 255 characters, lowercase path components, a tag of at most 128 characters, Docker Hub's
short names (`acme/widget` is `docker.io/acme/widget`, `python` is `docker.io/library/python`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")
MAX_NAME = 255
MAX_TAG = 128

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$"
)
PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")


class ReferenceError(ValueError):
    """A string that is not an image reference; the message says what is wrong with it."""


@dataclass(frozen=True, order=True)
class ImageRef:
    registry: str  # docker.io, ghcr.io, 127.0.0.1:5000
    repository: str  # acme/widget (library/python on Docker Hub)
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """registry/repository: the image without its tag or digest."""
        return f"{self.registry}/{self.repository}"

    def with_tag(self, tag: str) -> ImageRef:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> ImageRef:
        return replace(self, tag=None, digest=digest)

    def bare(self) -> ImageRef:
        return replace(self, tag=None, digest=None)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """`[registry/]repository[:tag][@digest]`, normalized as docker does; raises
        ReferenceError with the reason."""
        raw = text
        if not raw or any(c.isspace() for c in raw):
            raise ReferenceError(f"{text!r} is not a valid image name (it is empty or has spaces)")
        rest, _, digest = raw.partition("@")
        if digest and not DIGEST.fullmatch(digest):
            raise ReferenceError(f"{digest!r} is not a digest (like sha256:<64 hex>)")
        name, tag = _name_and_tag(rest)
        registry, repository = split_name(name)
        return cls(registry, repository, tag, digest or None)


def _name_and_tag(text: str) -> tuple[str, str | None]:
    """`ghcr.io/x:1.0` -> (ghcr.io/x, 1.0); a colon before the last slash is a port's."""
    colon = text.rfind(":")
    if colon <= text.rfind("/"):
        return text, None
    tag = text[colon + 1 :]
    if not TAG.fullmatch(tag):
        raise ReferenceError(
            f"{tag!r} is not a valid tag (up to {MAX_TAG} letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-')"
        )
    return text[:colon], tag


def split_name(name: str) -> tuple[str, str]:
    """An image name without tag -> (registry, repository), with Docker Hub's defaults."""
    registry, repository = _registry_and_path(name)
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    # upper case is not allowed in a repository (docker refuses it after the build);
    # metadata-action lowers `images` for the user, and so does buildcache (config: with a note)
    repository = repository.lower()
    _check_components(name, repository)
    if len(f"{registry}/{repository}") > MAX_NAME:
        raise ReferenceError(f"{name!r} is longer than the {MAX_NAME} characters a name may have")
    return registry, repository


def _registry_and_path(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    # docker's rule: the first component is a registry when it has a '.' or ':' or is localhost
    if not sep or not ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB, name
    if not DOMAIN.fullmatch(first):
        raise ReferenceError(f"{first!r} is not a registry host name")
    # Docker Hub's other names: one image, whichever is written
    registry = first.lower()
    return (DOCKER_HUB if registry in DOCKER_HUB_ALIASES else registry), rest


def _check_components(name: str, repository: str) -> None:
    for component in repository.split("/"):
        if not PATH_COMPONENT.fullmatch(component):
            raise ReferenceError(
                f"{name!r} is not a valid image name: {component!r} must be lowercase letters and "
                "digits, separated by '.', '_', '__' or '-'"
            )


def parse_image_name(text: str) -> ImageRef:
    """An image name that must carry neither a tag nor a digest (buildcache makes the tags)."""
    ref = ImageRef.parse(text)
    if ref.tag or ref.digest:
        raise ReferenceError(f"{text!r} must be an image name without a tag or digest")
    return ref


CacheMode = Literal["max", "min"]


@dataclass(frozen=True)
class CacheSpec:
    """Where a variant writes its registry cache, and how."""

    ref: ImageRef
    mode: CacheMode = "max"
    options: Mapping[str, str] = field(default_factory=dict)

    def to_option(self) -> str:
        """buildx's --cache-to value."""
        # ignore-error: a cache registry that refuses the write must not fail a build whose
        # image was built and pushed; the cache report says the cache was not saved.
        options = {"mode": self.mode, **self.options, "ignore-error": "true"}
        return f"type=registry,ref={self.ref}" + "".join(f",{k}={v}" for k, v in options.items())


def content_digest(data: bytes) -> str:
    """A blob's or a manifest's digest, as registries name it: the SHA-256 of its bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def platform_name(os: str, architecture: str, variant: str | None = None) -> str:
    """`linux/arm64/v8`: a platform as buildx writes it, from an index entry's fields."""
    return f"{os}/{architecture}" + (f"/{variant}" if variant else "")


def platform_images(index: Mapping[str, Any]) -> dict[str, str]:
    """Each platform's image digest in an index (`linux/arm64/v8` -> digest); BuildKit's
    attestation manifests (platform `unknown/unknown`) aside."""
    found = {}
    for entry in index.get("manifests") or []:
        platform = entry.get("platform") or {}
        if platform.get("os") not in (None, "unknown"):
            name = platform_name(
                platform["os"], platform.get("architecture", ""), platform.get("variant")
            )
            found[name] = str(entry["digest"])
    return found


def cache_source(ref: ImageRef) -> str:
    """buildx's --cache-from value for a registry cache ref."""
    return f"type=registry,ref={ref}"
