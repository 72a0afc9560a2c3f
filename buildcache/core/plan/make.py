"""Pure: a Config, the variant selection and the version -> a BuildPlan.

Nothing here touches the engine, the network, git or os.environ; every input is an argument (the
environment as a mapping, git's facts as values), so every tag and cache rule is tested without
docker. `plan_run` holds the rules of a run (where the version comes from, the cache policy, a
fork that cannot push); `make_plan` turns them into variants, tags and cache refs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from buildcache.core.cache import cache_refs
from buildcache.core.config.model import Config
from buildcache.core.inputs import RunInputs, parse_build_arg
from buildcache.core.plan.ci import (
    CacheFlag,
    CachePolicy,
    GitFacts,
    RunContext,
    cache_policy,
    run_context,
)
from buildcache.core.plan.inputs import (
    attest_of,
    builtin_args,
    check_inputs,
    declared_args,
    target_needs,
    unmet_mounts,
    variant_inputs,
)
from buildcache.core.plan.invariants import check_invariants, check_paths
from buildcache.core.plan.metadata import source_date_epoch, variant_metadata
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.plan.tags import RunTags, run_tags, variant_tags
from buildcache.core.redact import secret_looking_args
from buildcache.core.reference import TAG, CacheSpec, ImageRef
from buildcache.errors import ConfigError, UsageError


def plan_run(
    config: Config,
    *,
    env: Mapping[str, str],
    git: GitFacts,
    known_versions: Callable[[], Sequence[str]] = tuple,
    now: datetime | None = None,
    variants: Sequence[str] = (),
    version: str | None = None,
    no_latest: bool = False,
    tags: Sequence[str] = (),
    cache: CacheFlag = "auto",
    cache_write: bool | None = None,
    push: bool = False,
    load: bool = False,
    platforms: Sequence[str] = (),
    push_by_digest: bool = False,
    staging: bool = False,
    exists: Callable[[Path], bool] | None = None,
    inputs: RunInputs | None = None,
    read_text: Callable[[Path], str | None] | None = None,
    cwd: Path = Path(),
) -> BuildPlan:
    """The plan of one run: its tags and where they came from (core/tags.py), the cache policy of
    this CI event (or laptop), and what a fork may not do. `known_versions` (the repository's git
    tags) is asked only for a release, to keep an older one from moving latest."""
    if cache_write is not None:
        if cache != "auto":
            raise UsageError("give --cache or --cache-write/--no-cache-write, not both")
        cache = "rw" if cache_write else "ro"
    context = run_context(env, git)
    now = now or datetime.now(UTC)  # one time for the whole run (tags, the created label)
    source = "--version"
    if version is None and env.get("BUILDCACHE_VERSION", "").strip():
        version, source = env["BUILDCACHE_VERSION"].strip(), "BUILDCACHE_VERSION"
    release = version is not None or context.event == "tag"
    run = run_tags(
        config.tags,
        context=context,
        version=version,
        version_source=source,
        extra=tags,
        no_latest=no_latest,
        known_versions=known_versions() if release else (),
        now=now,
    )
    policy = cache_policy(
        cache, push=push or push_by_digest, context=context, release=context.event == "tag"
    )
    notes = []
    if context.fork and push:
        # Say so, rather than fail on the registry's permission error.
        push = False
        notes.append(
            "a pull request from a fork has no token to push with: building without pushing"
        )
    built = make_plan(
        config,
        run=run,
        selected=variants,
        platforms=platforms,
        push=push,
        load=load,
        cache_policy=policy,
        push_by_digest=push_by_digest,
        staging=staging,
    )
    check_paths(built.variants, exists)
    epoch = source_date_epoch(env, git.commit_time, reproducible=config.build.reproducible)
    times = {"SOURCE_DATE_EPOCH": epoch} if epoch and config.build.reproducible else {}
    metadata = variant_metadata(
        config,
        env=env,
        remote=git.remote_url,
        sha=context.sha,
        version=built.version,
        now=now,
        epoch=epoch,
    )
    given_run = inputs or RunInputs()
    run_args = dict(parse_build_arg(text, env) for text in given_run.build_args)
    notes += secret_looking_args(set(run_args) - set(config.build_args))
    attest = attest_of(config.attest, given_run, push=built.push, context=context, env=env)
    described = []
    texts: dict[Path, str | None] = {}  # variants mostly share one Dockerfile: read it once
    for v in built.variants:
        given = variant_inputs(config, config.variant(v.name), given_run, cwd=cwd, attest=attest)
        args = {**v.build_args, **run_args, **times}  # BuildKit reads SOURCE_DATE_EPOCH itself
        if read_text is not None and v.dockerfile not in texts:
            texts[v.dockerfile] = read_text(v.dockerfile)
        needs = target_needs(texts.get(v.dockerfile), v.target, args)
        if needs is not None:  # the built-in args a Dockerfile declares; its unmet mounts
            builtin = builtin_args(
                declared_args(*needs), version=built.version, revision=context.sha, variant=v.name
            )
            args = {**builtin, **args}
            notes += unmet_mounts(needs[1], given.secrets, given.ssh)
        described.append(
            dataclasses.replace(
                v,
                labels=metadata[v.name][0],
                annotations=metadata[v.name][1],
                build_args=args,
                inputs=given,
            )
        )
    if exists is not None:
        notes += check_inputs([v.inputs for v in described], env, exists)
    notes = list(dict.fromkeys(notes))  # a step every variant runs, named once
    return dataclasses.replace(built, variants=tuple(described), notes=(*notes, *built.notes))


def make_plan(
    config: Config,
    *,
    run: RunTags | None = None,
    selected: Sequence[str] = (),
    version: str | None = None,
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

    if run is None:
        # a version given outright, as on a laptop (tests and `plan_run` say more)
        local = RunContext(
            ci=None,
            branch=None,
            default_branch="main",
            default_branch_source="the default, main",
            tag_build=False,
            pull_request=False,
            fork=False,
            sha=sha,
        )
        run = run_tags(
            config.tags,
            context=local,
            version=version,
            version_source=version_source,
            extra=extra_tags,
            no_latest=not latest,
            now=datetime.now(UTC),
        )
    if cache_policy is not None:
        write = cache_policy.mode == "rw"
    else:
        write = push if cache_write is None else cache_write
    moving_names = {"latest", *(v.name for v in config.variants if not v.default)}
    for name in run.names:
        if name.name in moving_names:
            raise UsageError(
                f"{name.name!r} ({name.rule}) is a moving tag, which only a release moves: "
                "latest, or a variant's own name",
                hint="give a version, e.g. --version 1.2.3, and leave latest to the release rules",
            )
    variants: list[VariantPlan] = []
    notes: list[str] = secret_looking_args(
        [*config.build_args, *(a for v in config.variants for a in v.build_args)]
    )
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
        named = variant_tags(variant, run)
        tags = [n.name for n in named]
        for tag in tags:
            if not TAG.fullmatch(tag):
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
        read: tuple[ImageRef, ...] = (branch_ref, main_ref) if branch_ref else (main_ref,)
        read = (*read, *config.cache.sources, *variant.cache_from)  # others' caches, after
        if cache_policy is not None and cache_policy.mode == "off":
            read = ()
        variants.append(
            VariantPlan(
                name=variant.name,
                default=variant.default,
                tags=tuple(image.with_tag(tag) for tag in tags for image in config.images),
                tag_rules={n.name: n.rule for n in named},
                floating=frozenset(n.name for n in named if n.floating),
                staging_tag=config.cache_image.with_tag(
                    f"{config.cache.tag_prefix}{variant.name}-{own_platform.replace('/', '-')}-image"
                )
                if own_platform and staging
                else None,
                # the moving tag is copied last, once the version tags are everywhere and no
                # higher release holds it (core/publish.py), even with one registry
                push_tags=tuple(config.images[0].with_tag(n.name) for n in named if not n.floating),
                platforms=variant_platforms,
                build_args={**config.build_args, **variant.build_args},
                target=variant.target or config.target,
                dockerfile=variant.dockerfile or config.dockerfile,
                context=variant.context or config.context,
                cache_ref=cache_ref,
                cache_from=read,
                cache_to=CacheSpec(cache_ref, config.cache.mode, config.cache.options)
                if write
                else None,
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
    check_invariants(config, variants)
    return BuildPlan(
        version=run.version,
        version_source=run.source,
        latest=run.latest,
        latest_reason=run.latest_reason,
        release=run.release,
        variants=tuple(variants),
        push=push or push_by_digest,
        load=load,
        push_by_digest=push_by_digest,
        cache_policy=cache_policy,
        notes=tuple(notes),
    )
