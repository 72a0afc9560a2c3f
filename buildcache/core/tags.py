"""Pure: the version a run tags its images with, and the tags each variant gets from it.

For version V on every image: the default variant gets `V` and `latest`, any other variant `x`
gets `V-x` and `x`. With `[tags] semver`, v1.2.3 gives 1.2.3, 1.2 and 1; `sha` adds sha-<7 hex>.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from buildcache.core.config import VariantConfig
from buildcache.errors import UsageError

LATEST = "latest"
SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
# versions that come from a tag: a release, which writes the cache under --cache auto
TAG_SOURCES = ("GITHUB_REF_NAME (a tag build)", "CI_COMMIT_TAG", "the git tag at HEAD")


def resolve_version(
    *, flag: str | None, env: Mapping[str, str], git_tag: str | None
) -> tuple[str, str]:
    """The version and where it came from: --version, BUILDCACHE_VERSION, the CI's tag, git."""
    candidates = [
        (flag, "--version"),
        (env.get("BUILDCACHE_VERSION"), "BUILDCACHE_VERSION"),
        (
            env.get("GITHUB_REF_NAME") if env.get("GITHUB_REF_TYPE") == "tag" else None,
            "GITHUB_REF_NAME (a tag build)",
        ),
        (env.get("CI_COMMIT_TAG"), "CI_COMMIT_TAG"),
        (git_tag, "the git tag at HEAD"),
    ]
    for value, source in candidates:
        if value and value.strip():
            return value.strip(), source
    raise UsageError(
        "no version to tag the images with: HEAD has no git tag",
        hint="give one with --version V (e.g. --version test --no-latest) or BUILDCACHE_VERSION",
    )


def version_names(version: str, *, semver: bool, sha: str | None = None) -> tuple[list[str], bool]:
    """The version's tag names, and whether it is a release that may move `latest`.

    With semver, v1.2.3 gives 1.2.3, 1.2 and 1; a pre-release (1.3.0-rc.1) gives only itself and
    never moves 1.3, 1 or latest. `sha` adds sha-<7 hex>, which never moves anything.
    """
    names = [version]
    release = True
    if semver:
        match = SEMVER.match(version)
        if not match:
            raise UsageError(
                f"{version!r} is not a semantic version (like 1.2.3 or v1.2.3-rc.1), and tags.semver is on",
                hint="give --version X.Y.Z, or turn tags.semver off",
            )
        core = f"{match['major']}.{match['minor']}.{match['patch']}"
        if match["pre"]:
            release = False
            full = f"{core}-{match['pre']}"
            names = [full + (f"_{match['build']}" if match["build"] else "")]
        else:
            # Docker tags cannot hold '+': build metadata is kept after '_'
            names = [core + (f"_{match['build']}" if match["build"] else "")]
            names += [f"{match['major']}.{match['minor']}", match["major"]]
    if sha:
        names.append(f"sha-{sha[:7]}")
    return names, release


def moving_tag(variant: VariantConfig) -> str:
    """The tag that follows the newest release: `latest` for the default variant, else its name."""
    return LATEST if variant.default else variant.name


def variant_tags(
    variant: VariantConfig, *, version: str | Sequence[str], latest: bool, extra: Sequence[str]
) -> list[str]:
    """The tags of one variant: `V` and `latest` for the default, `V-x` and `x` for variant x."""
    names = [version] if isinstance(version, str) else list(version)
    names = list(dict.fromkeys([*names, *extra]))
    if not variant.default:
        names = [f"{name}-{variant.name}" for name in names]
    return [*names, moving_tag(variant)] if latest else names
