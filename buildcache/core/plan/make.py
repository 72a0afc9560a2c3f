"""Pure: a Config and a PlanRequest, in the RunFacts of a checkout -> a BuildPlan.

Nothing here touches the engine, the network, git or os.environ; every input is a value (the
environment as a mapping, git's facts as values), so every tag and cache rule is tested without
docker. `plan_run` holds the rules of a run (where the version comes from, the cache policy, a
fork that cannot push); `make_plan` turns them into variants, tags and cache refs; `describe`
adds what each variant hands BuildKit besides (labels, build arguments, secrets, attestations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from buildcache.core.build_inputs import parse_build_arg, parse_key_values
from buildcache.core.cache import cache_refs, staging_run, staging_tag
from buildcache.core.config.model import Config, TagsConfig, VariantConfig
from buildcache.core.dockerfile.stages import Dockerfile, Needed
from buildcache.core.plan.ci import CachePolicy, RunContext, cache_policy
from buildcache.core.plan.inputs import (
    UndeclaredArg,
    attest_of,
    builtin_args,
    check_inputs,
    declared_args,
    target_needs,
    undeclared_args,
    unmet_mounts,
    variant_inputs,
)
from buildcache.core.plan.invariants import (
    check_dockerfiles,
    check_invariants,
    check_paths,
    outside_notes,
)
from buildcache.core.plan.metadata import (
    source_date_epoch,
    variant_metadata,
    with_command_line,
)
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.plan.request import PlanRequest, RunFacts
from buildcache.core.plan.tags import (
    RunTags,
    TagName,
    given_tags,
    moving_tag,
    not_this_release,
    run_tags,
    variant_tags,
    written_latest,
)
from buildcache.core.platforms import PlatformError, normal_platform
from buildcache.core.redact import secret_looking_args
from buildcache.core.reference import TAG, CacheSpec, ImageRef
from buildcache.errors import ConfigError, UsageError

FORK_NOTE = "a pull request from a fork has no token to push with: building without pushing"


def plan_run(config: Config, request: PlanRequest, facts: RunFacts) -> BuildPlan:
    """The plan of one run: its tags and where they came from (plan/tags.py), the cache policy
    of this CI event (or laptop), and what a fork may not do. The repository's git tags are
    asked for only for a release, to keep an older one from moving latest."""
    request = _platforms_named(_cache_flag(request))
    context = facts.context
    version, source = _version(request, facts.env)
    release = version is not None or context.event == "tag"
    extra, tag_notes = given_tags(request.tags, config.all_images)
    known = facts.known_versions() if release else ()
    # `-<variant>` on every tag of a variant that is not the default (core/plan/tags.py)
    suffix = max((len(v.name) + 1 for v in config.variants if not v.default), default=0)

    def tags_of(tags: TagsConfig) -> RunTags:
        return run_tags(
            tags,
            context=context,
            given=None if version is None else (version, source),
            extra=extra,
            no_latest=request.no_latest,
            known_versions=known,
            now=facts.now,
            variant_suffix=suffix,
        )

    run = tags_of(config.tags)
    own_runs = {v.name: tags_of(v.tags) for v in _chosen(config, request) if v.tags is not None}
    policy = cache_policy(
        request.cache,
        push=request.push or request.push_by_digest,
        context=context,
        release=context.event == "tag",
    )
    notes = [*config.notes, *tag_notes]
    if run.untagged is not None:  # as metadata-action's no tag and build-push-action's push: false
        # it builds (a check of the Dockerfile) and pushes nothing
        what = "building without pushing" if request.push else "nothing would be pushed"
        notes.append(f"no rule of tags.rules gives {run.untagged} a tag: {what}")
        request = dataclasses.replace(request, push=False)
    if context.fork and request.push:
        # Say so, rather than fail on the registry's permission error.
        request = dataclasses.replace(request, push=False)
        notes.append(FORK_NOTE)
    built = make_plan(config, run, request, policy, own_runs)
    check_paths(built.variants, facts.exists)
    notes += checkout_notes(run, context, facts)
    return attach_build_inputs(config, built, request, facts, context, notes)


SHALLOW_NOTE = (
    "shallow clone: latest decided without the repository's tags; fetch tags (fetch-depth: 0)"
)
DIRTY_NOTE = (
    "the working tree has uncommitted changes: the revision label names HEAD, not what is built"
)


def checkout_notes(run: RunTags, context: RunContext, facts: RunFacts) -> list[str]:
    """Where the checkout changes the plan: latest decided against the tags of a clone that may
    lack them, a revision label of a commit the tree is not."""
    notes = []
    if run.latest_by_tags and facts.shallow():
        notes.append(SHALLOW_NOTE)
    if context.sha and facts.git.dirty:
        notes.append(DIRTY_NOTE)
    return notes


def _cache_flag(request: PlanRequest) -> PlanRequest:
    """--cache-write/--no-cache-write, the older spelling, as --cache rw/ro."""
    if request.cache_write is None:
        return request
    if request.cache != "auto":
        raise UsageError("give --cache or --cache-write/--no-cache-write, not both")
    return dataclasses.replace(
        request, cache="rw" if request.cache_write else "ro", cache_write=None
    )


def _version(request: PlanRequest, env: Mapping[str, str]) -> tuple[str | None, str]:
    if request.version is None and env.get("BUILDCACHE_VERSION", "").strip():
        return env["BUILDCACHE_VERSION"].strip(), "BUILDCACHE_VERSION"
    return request.version, "--version"


# Variants, tags and cache refs


def make_plan(
    config: Config,
    run: RunTags,
    request: PlanRequest,
    policy: CachePolicy | None = None,
    own_runs: Mapping[str, RunTags] | None = None,
) -> BuildPlan:
    """The variants asked for, each with its tags on every registry of its images and its cache
    refs; a `policy` of None writes the cache when the run pushes (or as --cache-write says).
    `own_runs`: the tags of each variant with [variants.NAME.tags] of its own."""
    chosen = _chosen(config, request)
    for each in (run, *(own_runs or {}).values()):
        _refuse_release_tags(config, each)
    notes = secret_looking_args(
        [*config.build_args, *(a for v in config.variants for a in v.build_args)]
    )
    variants: list[VariantPlan] = []
    for variant in chosen:
        platforms = _platforms(config, variant, request.platforms)
        if platforms and request.load and not request.platforms:
            platforms = _loaded_platform(platforms, request.host_platform)
        if not platforms:
            notes.append(
                f"variant {variant.name} is left out: it is not built for {', '.join(request.platforms)}"
            )
            continue
        own = (own_runs or {}).get(variant.name)
        variants.append(_variant_plan(config, variant, platforms, own or run, request, policy))
    _check_selection(variants, request)
    notes += _staging_note(variants, request)
    check_invariants(config, variants)
    return BuildPlan(
        version=run.version,
        version_source=run.source,
        latest=run.latest,
        latest_reason=run.latest_reason,
        release=run.release,
        variants=tuple(variants),
        push=request.push or request.push_by_digest,
        load=request.load,
        push_by_digest=request.push_by_digest,
        export=request.export,
        cache_policy=policy,
        notes=tuple(notes),
    )


def _staging_note(variants: Sequence[VariantPlan], request: PlanRequest) -> list[str]:
    if not request.staging or not (request.push or request.push_by_digest) or not variants:
        return []
    return [
        "this builder (docker driver) cannot push an image untagged: each variant goes to "
        f"every registry under buildcache's own tag ({variants[0].staging_tag}, ...) before "
        "its tags are written"
    ]


def _platforms_named(request: PlanRequest) -> PlanRequest:
    """--platform as BuildKit names it (linux/x86_64 is linux/amd64), or a usage error."""
    try:
        platforms = tuple(normal_platform(p) for p in request.platforms)
    except PlatformError as error:
        raise UsageError(f"--platform {error}") from None
    return dataclasses.replace(request, platforms=platforms)


def _chosen(config: Config, request: PlanRequest) -> list[VariantConfig]:
    """The variants asked for (all where none is named); a usage error for what cannot be."""
    _check_names([v.name for v in config.variants], request.variants)
    if request.push and request.load:
        raise UsageError(
            "--push and --load cannot be combined: push to the registries, or load locally"
        )
    chosen = [v for v in config.variants if not request.variants or v.name in request.variants]
    for platform in request.platforms:
        if not any(platform in (v.platforms or config.platforms) for v in chosen):
            raise UsageError(f"--platform {platform} is not one of the configured platforms")
    return chosen


def _check_names(known: Sequence[str], asked: Sequence[str]) -> None:
    unknown = [name for name in asked if name not in known]
    if unknown:
        raise UsageError(
            f"unknown variant {', '.join(map(repr, unknown))}; the config has {', '.join(known)}"
        )


def _refuse_release_tags(config: Config, run: RunTags) -> None:
    """A release is written only by a release: no other rule may make a moving tag (latest, a
    variant's own name) or a tag that reads as a version (a branch named 1.0.0, 1.0 or v2)."""
    _refuse_moving_tags(config, run)
    for name in not_this_release(run):
        raise UsageError(
            f"{name.name!r} ({name.rule}) reads as a release, and this run is not that release: "
            "it would overwrite or pre-empt the published one",
            hint="a release is a tag build or --version X; a branch named like one is tagged "
            'with [tags] prefix = "branch-" (or renamed, e.g. release/1.0.0); a series tag '
            "(1.0, 1) moves with [tags] semver = true",
        )


def _refuse_moving_tags(config: Config, run: RunTags) -> None:
    suffixed = [v for v in config.variants if v.tags is None]  # named by the `-NAME` shorthand
    moving_names = {"latest", *(moving_tag(v) for v in suffixed)}
    moving_names |= {v.name for v in suffixed if not v.default}
    for name in run.names:
        if name.name in moving_names and not written_latest(name, run):
            raise UsageError(
                f"{name.name!r} ({name.rule}) is a moving tag, which only a release moves: "
                "latest, or a variant's own name",
                hint="give a version, e.g. --version 1.2.3, and leave latest to the release rules",
            )


def _platforms(
    config: Config, variant: VariantConfig, asked: Sequence[str]
) -> tuple[str, ...] | None:
    """The variant's platforms, narrowed to --platform; None: it builds none of them."""
    own = variant.platforms or config.platforms
    if not asked:
        return own
    return tuple(p for p in own if p in asked) or None


def _loaded_platform(platforms: tuple[str, ...], host: str | None) -> tuple[str, ...]:
    """--load without --platform: the host's platform, where the variant builds it among
    others (a variant of one platform loads that one)."""
    if len(platforms) > 1 and host in platforms:
        return (host,)
    return platforms


def _check_selection(variants: Sequence[VariantPlan], request: PlanRequest) -> None:
    if not variants:
        raise UsageError(f"nothing to build for {', '.join(request.platforms)}")
    if request.export is not None and len(variants) > 1:
        raise UsageError(
            f"--output type={request.export.kind} writes one variant's files to "
            f"{request.export.dest}, and this run builds {len(variants)}",
            hint=f"name the variant, e.g. buildcache build {variants[0].name} --output ...",
        )
    if request.load and any(len(v.platforms) > 1 for v in variants):
        raise UsageError(
            "--load loads one platform into the local image store",
            hint="pick one with --platform, e.g. --platform linux/amd64",
        )


def _tag_names(variant: VariantConfig, run: RunTags) -> list[TagName]:
    named = own_tags(variant, run) if variant.tags is not None else variant_tags(variant, run)
    for name in named:
        if not TAG.fullmatch(name.name):
            raise ConfigError(f"{name.name!r} (variant {variant.name}) is not a valid Docker tag")
    return named


def own_tags(variant: VariantConfig, run: RunTags) -> list[TagName]:
    """The tags of a variant with [variants.NAME.tags] of its own: exactly what its rules and
    flavor make (a suffix of its flavor, none added), then its moving tag where the run moves
    it: its `latest-tag`, else latest as its flavor writes it (`latest-alpine` with onlatest)."""
    names = list(run.names)
    if run.latest:
        moving = variant.latest_tag or run.latest_name
        names.append(TagName(moving, f"latest: {run.latest_reason}"))
    return names


def _own_platform(variant: str, platforms: tuple[str, ...], by_digest: bool) -> str | None:
    """The one platform of a --push-by-digest run."""
    if not by_digest:
        return None
    if len(platforms) != 1:
        raise UsageError(
            f"--push-by-digest builds one platform per run, and {variant} has {len(platforms)}",
            hint="add --platform, e.g. --platform linux/arm64",
        )
    return platforms[0]


def _writes_cache(request: PlanRequest, policy: CachePolicy | None) -> bool:
    if policy is not None:
        return policy.mode == "rw"
    return request.push if request.cache_write is None else request.cache_write


@dataclass(frozen=True)
class _CacheRefs:
    written: ImageRef  # the variant's own ref, or its branch's
    read: tuple[ImageRef, ...]


def _cache_of(
    config: Config, variant: VariantConfig, policy: CachePolicy | None, platform: str | None
) -> _CacheRefs:
    """A branch reads its own ref first, then the variant's main one, then others' caches;
    --cache off reads none."""
    main_ref, branch_ref = cache_refs(config, variant.name, policy, platform)
    read: tuple[ImageRef, ...] = (branch_ref, main_ref) if branch_ref else (main_ref,)
    read = (*read, *config.cache.sources, *variant.cache_from)
    if policy is not None and policy.mode == "off":
        read = ()
    return _CacheRefs(written=branch_ref or main_ref, read=read)


def _variant_plan(
    config: Config,
    variant: VariantConfig,
    platforms: tuple[str, ...],
    run: RunTags,
    request: PlanRequest,
    policy: CachePolicy | None,
) -> VariantPlan:
    named = _tag_names(variant, run)
    images = config.images_of(variant.name)
    own_platform = _own_platform(variant.name, platforms, request.push_by_digest)
    cache = _cache_of(config, variant, policy, own_platform)
    written = _writes_cache(request, policy)
    return VariantPlan(
        name=variant.name,
        default=variant.default,
        tags=tuple(image.with_tag(n.name) for n in named for image in images),
        tag_rules={n.name: n.rule for n in named},
        floating=frozenset(n.name for n in named if n.floating),  # 1.2, 1: only move forward
        release_tags={n.name: n.version for n in named if n.version},
        images=images,
        staging_tag=(
            staging_tag(
                config.cache.tag_prefix,
                variant.name,
                own_platform,
                staging_run(run.version, request.run_id),
            )
            if request.staging
            else None
        ),
        platforms=platforms,
        build_args={**config.build_args, **variant.build_args},
        target=variant.target or config.target,
        dockerfile=variant.dockerfile or config.dockerfile,
        context=variant.context or config.context,
        cache_ref=cache.written,
        cache_from=cache.read,
        cache_to=CacheSpec(cache.written, config.cache.mode, config.cache.options)
        if written
        else None,
    )


# What each variant hands BuildKit besides its context


def attach_build_inputs(
    config: Config,
    built: BuildPlan,
    request: PlanRequest,
    facts: RunFacts,
    context: RunContext,
    notes: Sequence[str],
) -> BuildPlan:
    """Each variant's labels and annotations, its build arguments (the run's, the built-in ones
    its Dockerfile declares, SOURCE_DATE_EPOCH), its secrets, SSH and contexts, and its
    attestations; what is missing before a build starts is an error, what is odd a note."""
    env = facts.env
    epoch = source_date_epoch(env, facts.git.commit_time, reproducible=config.build.reproducible)
    metadata = variant_metadata(
        config,
        repository=context.repository,
        remote=facts.git.remote_url,
        sha=context.sha,
        version=built.version,
        now=facts.now,
        epoch=epoch,
    )
    run_args = dict(parse_build_arg(text, env) for text in request.inputs.build_args)
    run_labels = parse_key_values("--label", request.inputs.labels)
    run_annotations = parse_key_values("--annotation", request.inputs.annotations)
    notes = [*notes, *secret_looking_args(set(run_args) - set(config.build_args))]
    if epoch and config.build.reproducible:  # BuildKit reads it itself
        run_args["SOURCE_DATE_EPOCH"] = epoch
    attest = attest_of(config.attest, request.inputs, push=built.push, context=context)
    read = facts.read_text  # each Dockerfile once: variants mostly share one
    texts = {p: read(p) if read else None for p in {v.dockerfile for v in built.variants}}
    check_dockerfiles(texts)
    notes += outside_notes(built.variants, config.path.parent if config.path else None)
    described = []
    for v in built.variants:
        given = variant_inputs(
            config, config.variant(v.name), request.inputs, cwd=facts.cwd, attest=attest
        )
        args = {**v.build_args, **run_args}
        needs = target_needs(texts[v.dockerfile], v.target, args)
        if needs is not None:  # the built-in args a Dockerfile declares; its unmet mounts
            builtin = builtin_args(
                declared_args(*needs), version=built.version, revision=context.sha, variant=v.name
            )
            notes += _check_build_args(config, _undeclared(config, v.name, needs, run_args))
            args = {**builtin, **args}
            notes += unmet_mounts(needs[1], given.secrets, given.ssh)
        labels, annotations = with_command_line(metadata[v.name], run_labels, run_annotations)
        described.append(
            dataclasses.replace(
                v, labels=labels, annotations=annotations, build_args=args, inputs=given
            )
        )
    if facts.exists is not None:
        notes += check_inputs([v.inputs for v in described], env, facts.exists)
    notes = list(dict.fromkeys(notes))  # a step every variant runs, named once
    return dataclasses.replace(built, variants=tuple(described), notes=(*notes, *built.notes))


def _undeclared(
    config: Config, variant: str, needs: tuple[Dockerfile, Needed], run_args: Mapping[str, str]
) -> list[UndeclaredArg]:
    """The build arguments given (each where it was given) that no ARG of the target declares."""
    by_origin = {
        "build-args": config.build_args,
        f"variants.{variant}.build-args": config.variant(variant).build_args,
        "--build-arg": run_args,
    }
    return undeclared_args(*needs, variant, by_origin)


def _check_build_args(config: Config, undeclared: Sequence[UndeclaredArg]) -> list[str]:
    """The first build argument no ARG declares stops the plan; notes instead, where the
    config says `[build] check-build-args = false`."""
    if not undeclared or not config.build.check_build_args:
        return [u.note() for u in undeclared]
    raise _undeclared_error(config, undeclared[0])


def _undeclared_error(config: Config, first: UndeclaredArg) -> UsageError | ConfigError:
    """A usage error where the argument came from the command line, else the config's."""
    hint = "passed on purpose? set [build] check-build-args = false (a note instead)"
    if first.where.startswith("--"):
        return UsageError(f"{first.where}: {first.sentence()}", hint=hint)
    source = str(config.path) if config.path else None
    return ConfigError(first.sentence(), source=source, key=first.where, hint=hint)
