"""Pure: a Config, the variant selection and the version -> a BuildPlan.

Nothing here touches the engine, the network, git or os.environ; every input is an argument, so
every tag and cache rule is tested without docker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildcache.ci import MAX_TAG, CachePolicy, branch_slug
from buildcache.config import TAG, Config, VariantConfig
from buildcache.errors import ConfigError, UsageError

LATEST = "latest"
SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)


@dataclass(frozen=True, kw_only=True)
class VariantPlan:
    name: str
    default: bool
    tags: tuple[str, ...]  # full references, image:tag, on every registry
    platforms: tuple[str, ...]
    build_args: Mapping[str, str]
    target: str | None
    dockerfile: Path
    context: Path
    cache_ref: str
    cache_from: tuple[str, ...]
    cache_to: tuple[str, ...]
    # what the build itself pushes: the version tags on the first image; the rest is copied by
    # digest afterwards, the moving tag last (publish.py)
    push_tags: tuple[str, ...] = ()
    # --push-by-digest on a builder that cannot push untagged (buildx's docker driver): the
    # platform's image goes under this tag of the cache image instead, for `merge` to use
    staging_tag: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "tags": list(self.tags),
            "platforms": list(self.platforms),
            "build_args": dict(self.build_args),
            "target": self.target,
            "dockerfile": str(self.dockerfile),
            "context": str(self.context),
            "cache_from": list(self.cache_from),
            "cache_to": list(self.cache_to),
        }


@dataclass(frozen=True, kw_only=True)
class BuildPlan:
    version: str
    version_source: str
    variants: tuple[VariantPlan, ...]
    push: bool = False
    load: bool = False
    push_by_digest: bool = False  # one platform, pushed untagged; `buildcache merge` tags it
    cache_write: bool = False
    cache_policy: CachePolicy | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "variants": [v.to_json() for v in self.variants],
        }
        data["version_source"] = self.version_source
        if self.push_by_digest:
            data["push_by_digest"] = True
        if self.cache_policy is not None:
            data["cache_policy"] = {
                "mode": self.cache_policy.mode,
                "reason": self.cache_policy.reason,
            }
        return data


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


def variant_tags(
    variant: VariantConfig, *, version: str | Sequence[str], latest: bool, extra: Sequence[str]
) -> list[str]:
    """The tags of one variant: `V` and `latest` for the default, `V-x` and `x` for variant x."""
    names = [version] if isinstance(version, str) else list(version)
    names = list(dict.fromkeys([*names, *extra]))
    if variant.default:
        return [*names, LATEST] if latest else names
    tags = [f"{name}-{variant.name}" for name in names]
    return [*tags, variant.name] if latest else tags


def cache_refs(
    config: Config, variant: str, policy: CachePolicy | None, platform: str | None = None
) -> tuple[str, str | None]:
    """The variant's main cache ref, and its own ref where a branch, or a runner building one
    platform by digest, keeps one (`buildcache-<variant>[-<branch>][-<os>-<arch>]`)."""
    main = f"{config.cache_image}:{config.cache.tag_prefix}{variant}"
    platform_part = "-" + platform.replace("/", "-") if platform else ""
    if (policy is None or policy.branch_slug is None) and not platform:
        return main, None
    stem = f"{config.cache.tag_prefix}{variant}-"
    if policy is not None and policy.branch_slug is not None:
        stem += (
            branch_slug(policy.branch_slug, MAX_TAG - len(stem) - len(platform_part))
            + platform_part
        )
    else:
        stem += platform_part[1:]
    return main, f"{config.cache_image}:{stem}"


def cache_strings(
    config: Config, ref: str, *, write: bool, read: Sequence[str] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    cache_from = tuple(f"type=registry,ref={r}" for r in (read if read is not None else [ref]))
    if not write:
        return cache_from, ()
    # ignore-error: a cache registry that refuses the write must not fail a build whose image
    # was built and pushed; the cache report says the cache was not saved.
    options = {"mode": config.cache.mode, **config.cache.options, "ignore-error": "true"}
    cache_to = "type=registry,ref=" + ref + "".join(f",{k}={v}" for k, v in options.items())
    return cache_from, (cache_to,)


def make_plan(
    config: Config,
    *,
    selected: Sequence[str] = (),
    version: str,
    version_source: str = "--version",
    latest: bool = True,
    extra_tags: Sequence[str] = (),
    platforms: Sequence[str] = (),
    push: bool = False,
    load: bool = False,
    cache_write: bool | None = None,
    cache_policy: CachePolicy | None = None,
    sha: str | None = None,
    push_by_digest: bool = False,
    staging: bool = False,
) -> BuildPlan:
    known = [v.name for v in config.variants]
    unknown = [name for name in selected if name not in known]
    if unknown:
        raise UsageError(
            f"unknown variant {', '.join(map(repr, unknown))}; the config has {', '.join(known)}"
        )
    if push and load:
        raise UsageError(
            "--push and --load cannot be combined: push to the registries, or load locally"
        )
    chosen = [v for v in config.variants if not selected or v.name in selected]
    for platform in platforms:
        if not any(platform in (v.platforms or config.platforms) for v in chosen):
            raise UsageError(f"--platform {platform} is not one of the configured platforms")

    # with semver the version is checked as one, and '+' becomes '_' in its tags
    for tag in (*([] if config.tags.semver else [version]), *extra_tags):
        if not TAG.match(tag):
            raise UsageError(
                f"{tag!r} is not a valid Docker tag (up to 128 letters, digits, '_', '.' and '-', "
                "not starting with '.' or '-')"
            )
    if config.tags.sha and not sha:
        raise UsageError(
            "tags.sha is on, but the commit is unknown (no git repository, no GITHUB_SHA)"
        )
    names, release = version_names(
        version, semver=config.tags.semver, sha=sha if config.tags.sha else None
    )
    if cache_policy is not None:
        write = cache_policy.mode == "rw"
    else:
        write = push if cache_write is None else cache_write
    variants: list[VariantPlan] = []
    notes: list[str] = []
    for variant in chosen:
        variant_platforms = variant.platforms or config.platforms
        if platforms:
            narrowed = tuple(p for p in variant_platforms if p in platforms)
            if not narrowed:
                notes.append(
                    f"variant {variant.name} is left out: it is not built for {', '.join(platforms)}"
                )
                continue
            variant_platforms = narrowed
        tags = variant_tags(variant, version=names, latest=latest and release, extra=extra_tags)
        for tag in tags:
            if not TAG.match(tag):
                raise ConfigError(f"{tag!r} (variant {variant.name}) is not a valid Docker tag")
        if push_by_digest and len(variant_platforms) != 1:
            raise UsageError(
                f"--push-by-digest builds one platform per run, and {variant.name} has {len(variant_platforms)}",
                hint="add --platform, e.g. --platform linux/arm64",
            )
        own_platform = variant_platforms[0] if push_by_digest else None
        main_ref, branch_ref = cache_refs(config, variant.name, cache_policy, own_platform)
        cache_ref = branch_ref or main_ref
        # a branch reads its own ref first, then the variant's main one; --cache off reads none
        read = [branch_ref, main_ref] if branch_ref else [main_ref]
        if cache_policy is not None and cache_policy.mode == "off":
            read = []
        cache_from, cache_to = cache_strings(config, cache_ref, write=write, read=read)
        variants.append(
            VariantPlan(
                name=variant.name,
                default=variant.default,
                tags=tuple(f"{image}:{tag}" for tag in tags for image in config.images),
                staging_tag=f"{config.cache_image}:{config.cache.tag_prefix}{variant.name}-"
                f"{own_platform.replace('/', '-')}-image"
                if own_platform and staging
                else None,
                # with one registry there is nothing to be missing from: the build pushes it all
                push_tags=tuple(
                    f"{config.images[0]}:{tag}"
                    for tag in tags
                    if len(config.images) == 1
                    or tag != (LATEST if variant.default else variant.name)
                ),
                platforms=variant_platforms,
                build_args={**config.build_args, **variant.build_args},
                target=variant.target or config.target,
                dockerfile=variant.dockerfile or config.dockerfile,
                context=config.context,
                cache_ref=cache_ref,
                cache_from=cache_from,
                cache_to=cache_to,
            )
        )
    if not variants:
        raise UsageError(f"nothing to build for {', '.join(platforms)}")
    if staging and push_by_digest:
        notes.append(
            "this builder (docker driver) cannot push an image untagged: each platform's image goes "
            f"under a staging tag of {config.cache_image} for `buildcache merge`"
        )
    if load and any(len(v.platforms) > 1 for v in variants):
        raise UsageError(
            "--load loads one platform into the local image store",
            hint="pick one with --platform, e.g. --platform linux/amd64",
        )
    all_tags = {tag for v in variants for tag in v.tags}
    for v in variants:
        if v.cache_ref in all_tags:
            raise ConfigError(
                f"the cache ref {v.cache_ref} is also an image tag, so a release would overwrite the cache",
                key="cache.tag-prefix",
                hint="use a different cache.image or cache.tag-prefix",
            )
    return BuildPlan(
        version=version,
        version_source=version_source,
        variants=tuple(variants),
        push=push or push_by_digest,
        load=load,
        push_by_digest=push_by_digest,
        cache_write=write,
        cache_policy=cache_policy,
        notes=tuple(notes),
    )
