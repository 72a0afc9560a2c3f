"""The bases of a plan, resolved once over the registry API, and the records beside the caches.

Before a build: every external image the selected variants are built on is resolved to its digest
(each name once, in parallel, with docker's credentials), the record of each variant's cache is
read, and core/bases.py decides what each variant builds on; the plan then carries it (the bake
file pins every base by digest through a named context). After a build that wrote a cache, the
record is written beside it. The files a step reads are hashed here, with the context's
.dockerignore, so that a miss can be blamed on them.

None of this may fail a plan or a build: a base that cannot be resolved is "unresolved" with the
reason, and a record that cannot be read or written is a note.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildcache.core.bases import (
    FILE_LIST_LIMIT,
    GIT_NOTE,
    GIT_NOTE_MOUNTED,
    RECORD_TYPE,
    CacheRecord,
    MissCause,
    RecordedStep,
    Refresh,
    ResolvedBase,
    Upstream,
    decide,
    first_cause,
    layer_sizes,
    new_record,
    predictions,
)
from buildcache.core.cache import record_ref, variant_project
from buildcache.core.dockerfile.ignore import DockerIgnore, IgnoreError
from buildcache.core.dockerfile.stages import (
    Dockerfile,
    Needed,
    Stage,
    StepView,
    chain_bases,
    needed,
    read_dockerfile,
    step_views,
)
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.redact import kept_value
from buildcache.core.reference import ImageRef, ReferenceError, platform_images
from buildcache.errors import BuildcacheError, ConfigError, RegistryError
from buildcache.registry.client import Connect, RegistryClient, at_once

if TYPE_CHECKING:
    from buildcache.buildkit.report import CacheReport  # after a build only

EMPTY_CONFIG = {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2}
EMPTY_BYTES = b"{}"
# files hashed per build at most; a context larger than this is not blamed by its files
HASH_LIMIT = 256 * 1024 * 1024


def resolve(names: Iterable[str], connect: Connect = RegistryClient) -> dict[str, ResolvedBase]:
    """Each name's digest and per-platform digests, one manifest request per name, in parallel;
    an error becomes the base's `error`, never an exception."""
    unique = list(dict.fromkeys(names))

    def one(name: str) -> ResolvedBase:
        try:
            ref = ImageRef.parse(name)
        except ReferenceError as error:
            return ResolvedBase(name, None, error=str(error))
        try:
            with connect(ref.registry) as client:
                found = client.manifest(ref.repository, ref.digest or ref.tag or "latest")
        except RegistryError as error:
            return ResolvedBase(name, None, error=error.message)
        if found is None:
            return ResolvedBase(name, None, error="no such image on its registry")
        return ResolvedBase(name, ref.digest or found.digest, platform_images(found.body))

    return {base.name: base for base in at_once(one, unique)}


# a record names a few bases and steps: kilobytes. Far more is not one buildcache wrote
RECORD_LIMIT = 1 << 20


def read_record(
    cache_ref: ImageRef, connect: Connect = RegistryClient
) -> tuple[CacheRecord | None, str | None]:
    """The record beside a cache ref, or None and why not."""
    ref = record_ref(cache_ref)
    try:
        with connect(ref.registry) as client:
            found = client.manifest(ref.repository, ref.tag or "")
            if found is None:
                return None, f"{cache_ref} has no record yet"
            layer = _record_layer(found.body)
            if layer is None:
                return None, f"{ref} is not a buildcache record"
            data = client.blob(ref.repository, layer, limit=RECORD_LIMIT)
            record = CacheRecord.from_json(json.loads(data))
            cache_digest = client.digest(cache_ref.repository, cache_ref.tag or "")
    # a record is read from a registry anyone with push rights writes: bounded in size, and
    # JSON nested past Python's recursion limit is unreadable, not a traceback
    except (RegistryError, ValueError, KeyError, RecursionError) as error:
        reason = error.message if isinstance(error, RegistryError) else "unreadable"
        return None, f"the record of {cache_ref} could not be read ({reason})"
    return _describing(record, cache_ref, cache_digest)


def _record_layer(manifest: Mapping[str, Any]) -> str | None:
    """The digest of a record's one layer; None where the manifest is not a record."""
    layers = manifest.get("layers") or []
    if manifest.get("artifactType") != RECORD_TYPE or not layers:
        return None
    return str(layers[0]["digest"])


def _describing(
    record: CacheRecord | None, cache_ref: ImageRef, cache_digest: str | None
) -> tuple[CacheRecord | None, str | None]:
    """The record where this version reads it and it names the cache manifest there now."""
    if record is None:
        return None, f"the record of {cache_ref} was written by another version of buildcache"
    if cache_digest != record.cache_digest:
        return None, f"{cache_ref} was rewritten by a build that left no record"
    return record, None


def first_record(
    refs: Sequence[ImageRef], connect: Connect = RegistryClient
) -> tuple[CacheRecord | None, str | None]:
    """The record of the first cache ref read (a branch's own, then the variant's) that has one."""
    record, note = None, None
    for ref in refs:
        record, note = read_record(ref, connect)
        if record is not None:
            break
    return record, note


def write_record(
    cache_ref: ImageRef, record: CacheRecord, connect: Connect = RegistryClient
) -> CacheRecord:
    """Beside the cache ref, as an OCI artifact (an empty config and one JSON layer), naming the
    cache manifest it describes. Raises RegistryError."""
    ref = record_ref(cache_ref)
    with connect(ref.registry) as client:
        cache_digest = client.digest(cache_ref.repository, cache_ref.tag or "")
        record = dataclasses.replace(record, cache_digest=cache_digest)
        data = json.dumps(record.to_json(), sort_keys=True).encode()
        config_digest = client.put_blob(ref.repository, EMPTY_BYTES)
        layer_digest = client.put_blob(ref.repository, data)
        client.put_manifest(
            ref.repository,
            ref.tag or "",
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": RECORD_TYPE,
                "config": {**EMPTY_CONFIG, "digest": config_digest},
                "layers": [{"mediaType": RECORD_TYPE, "digest": layer_digest, "size": len(data)}],
                "annotations": {"org.opencontainers.image.created": record.written.isoformat()},
            },
        )
    return record


@dataclass(frozen=True)
class Hashed:
    """A step's source, hashed: the whole, and each file where there are few."""

    digest: str
    each_file: Mapping[str, str]  # context-relative path -> its hash; empty past the limit
    reads_git: bool = False  # it takes files under the context's .git


def hash_sources(context: Path, sources: Sequence[str], ignore: DockerIgnore) -> dict[str, Hashed]:
    """Each source path (as a step names it, globs allowed) -> a hash of the files it takes from
    the context, .dockerignore applied: names and contents, so a rename is a change too."""
    try:
        return _hashed(context, sources, ignore)
    except IgnoreError as error:  # docker refuses the build too: it says why
        return dict.fromkeys(sources, Hashed(f"not hashed ({error.message})", {}))


def _hashed(context: Path, sources: Sequence[str], ignore: DockerIgnore) -> dict[str, Hashed]:
    hashes: dict[str, Hashed] = {}
    budget = HASH_LIMIT
    for source in sources:
        digest, each_file = hashlib.sha256(), {}
        for relative, path in _source_files(context, source, ignore):
            budget -= path.stat().st_size
            if budget < 0:
                return dict.fromkeys(sources, Hashed("not hashed (context too large)", {}))
            content = hashlib.sha256(path.read_bytes()).digest()
            digest.update(relative.encode() + b"\0")
            digest.update(content)
            each_file[relative] = content.hex()[:16]
        listed = each_file if len(each_file) <= FILE_LIST_LIMIT else {}
        reads_git = any(path.startswith(".git/") for path in each_file)
        hashes[source] = Hashed("sha256:" + digest.hexdigest()[:32], listed, reads_git)
    return hashes


def _source_files(context: Path, source: str, ignore: DockerIgnore) -> Iterator[tuple[str, Path]]:
    """The files of the context a source names, .dockerignore applied, in a stable order."""
    pattern = source.lstrip("/").removeprefix("./") or "."
    matches = sorted(context.glob(pattern)) if pattern != "." else [context]
    for path in (path for match in matches for path in _files_under(match)):
        relative = path.relative_to(context).as_posix()
        if not ignore.excludes(relative):
            yield relative, path


def _files_under(path: Path) -> list[Path]:
    """The files of a folder (all the way down, in order), or the file itself."""
    if path.is_dir():
        return [found for found in sorted(path.rglob("*")) if found.is_file()]
    return [path] if path.is_file() else []


def _steps(
    dockerfile: Dockerfile,
    stages: Sequence[Stage],
    variant: VariantPlan,
    hashed: dict[tuple[Path, str], Hashed],
    key: str,
) -> tuple[RecordedStep, ...]:
    """The variant's steps as the record keeps them (secret-looking arguments hashed under
    `key`); `hashed` holds the file hashes already taken in this run (variants share a
    context, and mostly its COPY sources)."""
    ignore = dockerignore(variant.context, variant.dockerfile)
    steps = []
    for view in step_views(dockerfile, stages, variant.build_args):
        missing = [s for s in view.sources if (variant.context, s) not in hashed]
        for source, found in hash_sources(variant.context, missing, ignore).items():
            hashed[(variant.context, source)] = found
        steps.append(_recorded(view, [hashed[(variant.context, s)] for s in view.sources], key))
    return tuple(steps)


def dockerignore(context: Path, dockerfile: Path) -> DockerIgnore:
    """The ignore file BuildKit applies: `<Dockerfile>.dockerignore` beside the Dockerfile where
    there is one, else the context's .dockerignore. One docker refuses ignores nothing here (its
    first use says why the files were not hashed)."""
    beside = dockerfile.with_name(dockerfile.name + ".dockerignore")
    ignore_file = beside if beside.is_file() else context / ".dockerignore"
    if not ignore_file.is_file():
        return DockerIgnore.parse("")
    try:
        return DockerIgnore.parse(ignore_file.read_bytes().decode(errors="replace"))
    except IgnoreError as error:
        return DockerIgnore.refusing(error)


def _recorded(view: StepView, sources: Sequence[Hashed], key: str) -> RecordedStep:
    """A step with the hashes of its sources (`sources`, in the order the step names them)."""
    each_file = {path: h for found in sources for path, h in found.each_file.items()}
    return RecordedStep(
        stage=view.stage,
        text=view.text,
        args={k: kept_value(k, v, key) for k, v in view.args.items()},
        files={s: found.digest for s, found in zip(view.sources, sources, strict=True)},
        shown=view.shown,
        each_file=each_file if len(each_file) <= FILE_LIST_LIMIT else {},
        # a bind mount of .git is read on purpose (a version from git): only a COPY or ADD
        # takes it into a layer, where every commit changes it
        reads_git=view.instruction in ("COPY", "ADD") and any(f.reads_git for f in sources),
        mounts_git=view.instruction == "RUN" and any(f.reads_git for f in sources),
    )


def attach(
    plan: BuildPlan,
    *,
    refresh: Refresh,
    max_age: timedelta,
    refresh_now: bool,
    now: datetime,
    connect: Connect = RegistryClient,
) -> BuildPlan:
    """The plan with each variant's bases, record and inputs, and a note for each prediction."""
    wanted, notes = _needs(plan)
    # the bases and every variant's record, asked at the same time: a plan waits for the slowest
    with ThreadPoolExecutor(max_workers=1 + len(wanted)) as pool:
        names = [n for _, found in wanted.values() for n in found.images]
        bases = pool.submit(resolve, names, connect)
        records = {
            v.name: pool.submit(first_record, v.cache_from, connect)
            for v in plan.variants
            if v.name in wanted
        }
        resolved = bases.result()
    upstreams: dict[str, Upstream] = {}
    hashed: dict[tuple[Path, str], Hashed] = {}
    foreign: dict[str, str] = {}  # variant -> the other project whose record is on its cache
    for variant in plan.variants:
        if variant.name not in wanted:
            continue
        dockerfile, found = wanted[variant.name]
        record, record_note = records[variant.name].result()
        if record is not None and variant_project(variant).wrote(record.owner) is False:
            # another project's inputs: no base, step or key of it is this build's to compare
            foreign[variant.name] = owner = record.owner or ""
            record, record_note = None, f"its record was written by another project, {owner}"
        # hashed under the record's key, to compare with it; a record without one: a random key
        key = record.key if record is not None and record.key else secrets.token_hex(16)
        upstream = Upstream(
            bases=decide(
                found.images,
                resolved,
                record,
                refresh=refresh,
                max_age=max_age,
                refresh_now=refresh_now,
                now=now,
                final_base=found.final_base,
            ),
            steps=_steps(dockerfile, found.stages, variant, hashed, key),
            key=key,
            record=record,
            record_note=record_note,
            chain_bases=chain_bases(dockerfile, found.stages, variant.build_args),
            refresh=refresh,
            max_age=max_age,
        )
        notes += predictions(variant.name, upstream, now)
        upstreams[variant.name] = upstream
    notes += _git_note([step for upstream in upstreams.values() for step in upstream.steps])
    if foreign:  # once, however many variants it hits
        notes.append(_shared_cache_note(plan, foreign))
    return plan.with_upstreams(upstreams, notes)


def _shared_cache_note(plan: BuildPlan, foreign: Mapping[str, str]) -> str:
    """Two projects writing the same cache tags: each build replaces the other's cache."""
    ours = variant_project(plan.variants[0]).name
    theirs = ", ".join(sorted(set(foreign.values())))
    return (
        f"the cache of {', '.join(foreign)} was last written by another project ({theirs}; this "
        f"one is {ours}): two projects writing the same cache tags replace each other's cache "
        "at every build; give this project a cache image of its own (cache.image) or a "
        "tag-prefix of its own (cache.tag-prefix)"
    )


def _git_note(steps: Sequence[RecordedStep]) -> list[str]:
    """Once, however many variants copy .git: where a step copies it, and what to do about it
    (a bind mount that reads it on purpose rules out .dockerignore)."""
    if not any(step.reads_git for step in steps):
        return []
    return [GIT_NOTE_MOUNTED if any(step.mounts_git for step in steps) else GIT_NOTE]


def _needs(plan: BuildPlan) -> tuple[dict[str, tuple[Dockerfile, Needed]], list[str]]:
    """Each variant's Dockerfile and what it needs (bases, stages); a note for each variant
    whose Dockerfile cannot be read."""
    notes: list[str] = []
    read: dict[Path, Dockerfile] = {}  # variants mostly share one Dockerfile: read it once
    wanted: dict[str, tuple[Dockerfile, Needed]] = {}
    for variant in plan.variants:
        try:
            if variant.dockerfile not in read:
                read[variant.dockerfile] = read_dockerfile(variant.dockerfile.read_text())
            dockerfile = read[variant.dockerfile]
            found = needed(dockerfile, variant.target, variant.build_args, variant.inputs.contexts)
        except (OSError, ConfigError) as error:
            reason = error.message if isinstance(error, BuildcacheError) else str(error)
            notes.append(f"{variant.name}: its bases are not known ({reason})")
            continue
        wanted[variant.name] = (dockerfile, found)
    return wanted, notes


def after_build(
    plan: BuildPlan,
    reports: Mapping[str, CacheReport],
    *,
    now: datetime,
    connect: Connect = RegistryClient,
    digests: Mapping[str, str | None] | None = None,
) -> tuple[dict[str, MissCause], list[str]]:
    """For each variant: why its chain of reuse broke (from the record read before the build),
    and the new record beside each cache this build wrote (with each layer's size where the
    build pushed its image: `digests`). Never raises: a record that cannot be written is a
    note."""
    causes: dict[str, MissCause] = {}
    writes: list[Callable[[], list[str]]] = []
    for variant in plan.variants:
        upstream, report = variant.upstream, reports.get(variant.name)
        if upstream is None or report is None:
            continue
        # why the chain broke: the first step that ran (FROM aside) whose own input changed
        ran = [(s.stage, s.text) for s in report.executed_steps if not s.is_from]
        cause = first_cause(upstream, ran) if ran else None
        if cause is not None:
            causes[variant.name] = cause
        if report.exported.status == "written" and variant.cache_to is not None:
            built = _Built(now, report.ran_seconds, (digests or {}).get(variant.name))
            writes.append(functools.partial(_record_written, variant, upstream, built, connect))
    # each record is a few round trips: written at once, not one variant after the other
    notes = [note for written in at_once(lambda write: write(), writes) for note in written]
    return causes, notes


@dataclass(frozen=True)
class _Built:
    """What the build that writes a record measured: when, how long each step that ran took,
    and the image it pushed (its layers' sizes are read from it)."""

    now: datetime
    ran: Mapping[str, float]
    digest: str | None


def _record_written(
    variant: VariantPlan, upstream: Upstream, built: _Built, connect: Connect
) -> list[str]:
    """Writes the new record beside the cache; a note where it could not be."""
    if variant.cache_to is None:  # after_build writes only where the cache was written
        return []
    owner = variant_project(variant).name
    sizes = pushed_sizes(variant.pushed_image, built.digest, connect)
    record = new_record(
        variant.name,
        upstream,
        now=built.now,
        cache_digest=None,
        owner=owner,
        ran=built.ran,
        sizes=sizes,
    )
    try:
        write_record(variant.cache_to.ref, record, connect)
    except RegistryError as error:
        return [
            f"{variant.name}: the record beside its cache could not be written "
            f"({error.message}); the next build cannot say why a step missed"
        ]
    return []


def pushed_sizes(
    image: ImageRef, digest: str | None, connect: Connect = RegistryClient
) -> dict[str, int]:
    """The size of each layer of the image a build pushed (its first platform's), by the step
    that made it; none where it cannot be read: sizes are figures for advice, never a failure."""
    if digest is None:
        return {}
    try:
        with connect(image.registry) as client:
            found = client.manifest(image.repository, digest)
            if found is not None and found.body.get("manifests"):
                first = next(iter(platform_images(found.body).values()), None)
                found = client.manifest(image.repository, first) if first else None
            if found is None or "config" not in found.body:
                return {}
            config = client.blob(
                image.repository, found.body["config"]["digest"], limit=RECORD_LIMIT
            )
            return layer_sizes(json.loads(config), found.body)
    except (RegistryError, ValueError, KeyError, TypeError, RecursionError):
        return {}
