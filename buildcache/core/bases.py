"""Pure: the base images a variant is built on, the record kept beside its cache, and what follows
from comparing the two: a pin, a prediction before the build, the cause of a miss after it.

A registry cache is only reused while every input of a step is unchanged, and the input that
changes most often, unseen, is the base image: `python:3.12-slim` is republished upstream every
few weeks, and every step after its FROM misses. So each run resolves the bases once (by digest;
bases.py), and the build that writes a cache ref writes a *record* beside it: the base digests,
since when the cache has been on them, and each step's text, arguments and file hashes. The next
run compares: it says before the build what will miss and why, can keep the cache's base
(`[base] refresh = "cache"`, up to `max-age`), and names the cause of a broken chain of reuse.

Why a record of its own, beside the cache tag (`<cache tag>.record`, a small OCI artifact): the
cache is BuildKit's manifest, which takes no annotations of ours; an image's annotations describe
the image, which a branch or cache-only build never pushes, while every build that writes the
cache can write the record next to it. The record names the cache manifest it describes, so a
cache rewritten by a run that wrote no record (an older buildcache, a plain bake) is not trusted.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from buildcache.buildkit.rawjson import parse_time

FILE_LIST_LIMIT = 300  # files a step may read and still have each one's hash recorded
RECORD_TYPE = "application/vnd.buildcache.record.v1+json"
GIT_NOTE = (
    "a COPY or ADD takes the context's .git: every commit changes it; add .git to .dockerignore"
)
# where a RUN's bind mount reads .git on purpose (a version from git), .dockerignore would take it
# from the mount too
GIT_NOTE_MOUNTED = (
    "a COPY or ADD takes the context's .git: every commit changes it; copy only what the step "
    "needs (a RUN --mount reads .git on purpose, and .dockerignore would hide it there too)"
)
Refresh = Literal["always", "cache"]


def short(digest: str | None) -> str:
    return digest[:19] if digest else "?"


@dataclass(frozen=True)
class ResolvedBase:
    """What the registry said of a base, once per run: every variant and platform use it."""

    name: str
    digest: str | None  # the index (or manifest) digest the tag points at
    platforms: Mapping[str, str] = field(default_factory=dict)  # platform -> manifest digest
    error: str | None = None  # why it could not be resolved


@dataclass(frozen=True)
class RecordedBase:
    name: str
    digest: str
    since: datetime  # since when the cache has been built on this digest
    # platform -> manifest digest of that digest's images (none in a record of an older buildcache)
    platforms: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedStep:
    stage: str
    text: str  # as written in the Dockerfile
    args: Mapping[str, str | None] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)  # source path -> hash of its files
    shown: str = ""  # as BuildKit names it (not recorded: found again in the report)
    # each file's own hash (context-relative path -> hash), where the step reads few enough
    # (FILE_LIST_LIMIT): a miss then names the files that changed, not only the source (".")
    each_file: Mapping[str, str] = field(default_factory=dict)
    seconds: float | None = None  # how long it took the last time it ran (not cached)
    size: int | None = None  # the bytes of the layer it made, where a pushed image said
    # the files that had changed since the build before it (where both listed them), the
    # user's first: what made it run again
    changed: tuple[str, ...] = ()
    reads_git: bool = False  # it copies the context's .git (not recorded: this run's files)
    mounts_git: bool = False  # a bind mount of it reads .git (not recorded: this run's files)


@dataclass(frozen=True)
class CacheRecord:
    variant: str
    written: datetime
    cache_digest: str | None  # the cache manifest this record describes
    bases: tuple[RecordedBase, ...]
    steps: tuple[RecordedStep, ...]
    # the project that wrote it (core/cache.Project.name); None: a record of an older buildcache
    owner: str | None = None
    # the random key its secret-looking arguments are hashed under (core/redact.kept_value);
    # None: a record of an older buildcache
    key: str | None = None

    def base(self, name: str) -> RecordedBase | None:
        return next((b for b in self.bases if b.name == name), None)

    def step(self, stage: str, text: str) -> RecordedStep | None:
        """The recorded step of this text in this stage."""
        return next((s for s in self.steps if s.stage == stage and s.text == text), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "record": 1,
            "variant": self.variant,
            "owner": self.owner,
            "key": self.key,
            "written": self.written.isoformat(),
            "cache_digest": self.cache_digest,
            "bases": [
                {
                    "name": b.name,
                    "digest": b.digest,
                    "since": b.since.isoformat(),
                    "platforms": dict(b.platforms),
                }
                for b in self.bases
            ],
            "steps": [
                {
                    "stage": s.stage,
                    "text": s.text,
                    "args": dict(s.args),
                    "files": dict(s.files),
                    "each_file": dict(s.each_file),
                    "seconds": s.seconds,
                    "size": s.size,
                    "changed": list(s.changed),
                }
                for s in self.steps
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CacheRecord | None:
        """None for anything that is not a record this version can read."""
        try:
            return cls._read(data) if data.get("record") == 1 else None
        except (KeyError, TypeError, AttributeError, ValueError):
            return None

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> CacheRecord:
        """A record of version 1; KeyError, TypeError, ... where it is not one."""
        owner, key = data.get("owner"), data.get("key")
        digest = data.get("cache_digest")
        return cls(
            variant=_text(data["variant"]),
            written=_time(data["written"]),
            cache_digest=_text(digest) if digest is not None else None,
            bases=tuple(_recorded_base(b) for b in data.get("bases") or []),
            steps=tuple(_recorded_step(s) for s in data.get("steps") or []),
            owner=_text(owner) if owner is not None else None,
            key=bytes.fromhex(key).hex() if isinstance(key, str) else None,
        )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text(value: object) -> str:
    """A record's string as shown: read from a registry, so a control character (an ANSI
    escape in an owner's or a base's name) is written out (`\\x1b`), never sent to a terminal."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", str(value))


def _time(text: object) -> datetime:
    """A record's time; ValueError where it is not one (the record is then not read)."""
    parsed = parse_time(text)
    if parsed is None:
        raise ValueError(text)
    return parsed


def _recorded_base(base: Mapping[str, Any]) -> RecordedBase:
    platforms = _strings(base.get("platforms") or {})
    return RecordedBase(_text(base["name"]), _text(base["digest"]), _time(base["since"]), platforms)


def _recorded_step(step: Mapping[str, Any]) -> RecordedStep:
    return RecordedStep(
        stage=_text(step["stage"]),
        text=_text(step["text"]),
        args={_text(k): None if v is None else _text(v) for k, v in step["args"].items()},
        files=_strings(step["files"]),
        each_file=_strings(step.get("each_file") or {}),
        seconds=_seconds(step.get("seconds")),
        size=_size(step.get("size")),
        changed=tuple(_text(path) for path in step.get("changed") or []),
    )


def _size(value: object) -> int | None:
    """A recorded layer size; None where there is none or it is not a count of bytes."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _seconds(value: object) -> float | None:
    """A recorded duration; None where there is none (a record of an older buildcache) or it
    is not a number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _strings(mapping: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in mapping.items()}


@dataclass(frozen=True)
class BaseUse:
    """One base of a variant in this run: what the tag resolves to, what the cache was built on,
    and what the build uses (always a digest, so no platform resolves the tag again)."""

    name: str
    context_key: str  # BuildKit's named context that overrides this FROM reference
    current: ResolvedBase
    use: str | None  # the digest built on; None: unresolved, BuildKit resolves the tag
    since: datetime  # since when the cache has been on `use` (now, for a new one)
    recorded: str | None = None  # the digest the cache was built on
    recorded_since: datetime | None = None  # since when the cache had been on it
    pinned: bool = False  # `use` is the cache's digest, not the tag's current one
    refresh_on: datetime | None = None  # when a pin ends
    final: bool = False  # the target's own base (the image's base.name annotation)
    recorded_platforms: Mapping[str, str] = field(default_factory=dict)  # of `recorded`

    @property
    def moved(self) -> bool:
        """The tag points elsewhere than the cache's base, and at other images: an index pushed
        again over the same platform images (new attestations) has not moved for BuildKit."""
        if not (self.recorded and self.current.digest) or self.recorded == self.current.digest:
            return False
        return not same_images(self.recorded_platforms, self.current.platforms)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.current.digest,
            "platforms": dict(self.current.platforms),
            "error": self.current.error,
            "used": self.use,
            "recorded": self.recorded,
            "moved": self.moved,
            "pinned": self.pinned,
            "since": self.since.isoformat(),
            "refresh_on": self.refresh_on.isoformat() if self.refresh_on else None,
        }


@dataclass(frozen=True)
class Upstream:
    """What a variant of this run is built from, and what its cache was built from."""

    bases: tuple[BaseUse, ...] = ()
    # this build's inputs, secret-looking values hashed (kept_value) under `key`: the next record
    steps: tuple[RecordedStep, ...] = ()
    key: str | None = None  # the record's key where there was one, else a new one
    record: CacheRecord | None = None
    record_note: str | None = None  # why there is no usable record
    chain_bases: Mapping[str, str] = field(default_factory=dict)  # stage -> its root base
    refresh: Refresh = "always"
    max_age: timedelta = timedelta(days=30)

    def to_json(self) -> dict[str, Any]:
        return {
            "bases": [b.to_json() for b in self.bases],
            "record": {
                "written": self.record.written.isoformat(),
                "cache_digest": self.record.cache_digest,
            }
            if self.record
            else None,
            "record_note": self.record_note,
        }


def context_key(name: str) -> str:
    """The name BuildKit looks up a named context by for `FROM name`: docker's familiar form
    (`python:3.12-slim`, not docker.io/library/...) without `:latest`."""
    familiar = name
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if familiar.startswith(prefix):
            familiar = familiar[len(prefix) :]
            break
    return familiar.removesuffix(":latest")


def decide(
    names: Sequence[str],
    resolved: Mapping[str, ResolvedBase],
    record: CacheRecord | None,
    *,
    refresh: Refresh,
    max_age: timedelta,
    refresh_now: bool,
    now: datetime,
    final_base: str | None,
) -> tuple[BaseUse, ...]:
    """Which digest each base is built on. `refresh = "cache"` keeps the digest the cache was
    built on while it is younger than `max_age` (counted from when the cache took it), unless
    `refresh_now`; otherwise the tag's digest of this run."""
    keeps_pin = refresh == "cache" and not refresh_now
    return tuple(
        _base_use(
            name,
            resolved.get(name) or ResolvedBase(name, None, error="not resolved"),
            record.base(name) if record else None,
            max_age=max_age if keeps_pin else None,
            now=now,
            final=name == final_base,
        )
        for name in names
    )


def _base_use(
    name: str,
    current: ResolvedBase,
    recorded: RecordedBase | None,
    *,
    max_age: timedelta | None,
    now: datetime,
    final: bool,
) -> BaseUse:
    """One base: on the cache's digest while its pin holds (`max_age` None: no pin holds),
    else on the tag's; since when the cache has had it."""
    pin = None
    if (
        recorded is not None
        and max_age is not None
        and _pin_holds(recorded, current, now - max_age)
    ):
        pin = recorded
    use: str | None = pin.digest if pin else current.digest
    since = pin.since if pin else _since(recorded, current, now)
    refresh_on = pin.since + max_age if pin and max_age else None
    return BaseUse(
        name=name,
        context_key=context_key(name),
        current=current,
        use=name.rsplit("@", 1)[1] if "@" in name else use,  # pinned in the Dockerfile already
        since=since,
        recorded=recorded.digest if recorded else None,
        recorded_since=recorded.since if recorded else None,
        recorded_platforms=recorded.platforms if recorded else {},
        pinned=pin is not None,
        refresh_on=refresh_on,
        final=final,
    )


def same_images(before: Mapping[str, str], now: Mapping[str, str]) -> bool:
    """Two indexes of the same platform images (where both are known)."""
    return bool(before) and before == now


def _since(recorded: RecordedBase | None, current: ResolvedBase, now: datetime) -> datetime:
    """Since when the cache has been on the tag's digest (or its images): now, unless it was
    on it already."""
    if recorded is None:
        return now
    same = recorded.digest == current.digest or same_images(recorded.platforms, current.platforms)
    return recorded.since if same else now


def _pin_holds(recorded: RecordedBase, current: ResolvedBase, after: datetime) -> bool:
    """The cache's base stays where the tag moved (not where it failed to resolve) and the
    cache took it after `after`."""
    if current.digest is None or same_images(recorded.platforms, current.platforms):
        return False
    return recorded.digest != current.digest and recorded.since > after


def _age(then: datetime, now: datetime) -> str:
    days = (now - then).days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''} ago"
    hours = int((now - then).total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''} ago" if hours else "less than an hour ago"


def predictions(variant: str, upstream: Upstream, now: datetime) -> list[str]:
    """What the comparison says before the build, one sentence per base that matters."""
    notes = []
    for base in upstream.bases:
        if base.current.error:
            notes.append(
                f"{variant}: the base {base.name} could not be resolved ({base.current.error}); "
                "BuildKit resolves it itself, and no step's miss can be blamed on it"
            )
        elif base.moved:
            notes.append(_moved_note(variant, base, upstream.refresh, now))
    return notes


def _moved_note(variant: str, base: BaseUse, refresh: Refresh, now: datetime) -> str:
    was = (
        f"the cache for {variant} was built on {base.name}@{short(base.recorded)} "
        f"(since {_age(base.recorded_since or base.since, now)}); the tag now resolves to "
        f"{short(base.current.digest)}"
    )
    if base.pinned and base.refresh_on:
        return (
            f"{was}: building on the cache's base until {base.refresh_on:%Y-%m-%d} "
            f'([base] refresh = "cache"); --refresh-base takes the new one now'
        )
    expired = " (the pin is older than [base] max-age)" if refresh == "cache" else ""
    return f"{was}: every step after its FROM will run again{expired}"


CauseKind = Literal["base", "instruction", "argument", "files", "unknown"]


@dataclass(frozen=True)
class MissCause:
    kind: CauseKind
    step: str
    detail: str
    changes: tuple[tuple[str, str | None, str | None], ...] = ()  # (what, old, new)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "step": self.step,
            "detail": self.detail,
            "changes": [{"what": w, "old": o, "new": n} for w, o, n in self.changes],
        }


def first_cause(upstream: Upstream, ran: Sequence[tuple[str | None, str]]) -> MissCause | None:
    """Why the chain of reuse broke, of the steps that ran (`ran`: each one's stage and name as
    BuildKit gave them): the first in the Dockerfile's order whose own input changed (a file
    it reads, its text, an argument, its base), not a later one whose cache key changed only
    because of it (a `COPY --from` of a stage that ran again). Where none changed an input of
    its own, the first step's cause. None where there is no record to compare with."""
    order = {(s.stage, s.shown): n for n, s in enumerate(upstream.steps)}
    known = [(stage, " ".join(name.split())) for stage, name in ran]
    ranked = sorted(known, key=lambda step: _position(order, upstream, step))
    causes = [miss_cause_of(upstream, stage, name) for stage, name in ranked]
    own = next((c for c in causes if c is not None and c.kind != "unknown"), None)
    return own or _cached_cause(upstream, ranked[:1], order) or next(iter(causes), None)


def _cached_cause(
    upstream: Upstream,
    first: Sequence[tuple[str | None, str]],
    order: Mapping[tuple[str, str], int],
) -> MissCause | None:
    """Where no step that ran changed an input of its own: an earlier step of the first one's
    stage whose input did change, though the engine had its result already (a file changed
    back to what an earlier build had): its new result is what made the steps after it run."""
    now = _step_now(upstream, *first[0]) if first else None
    if now is None:
        return None
    earlier = [s for s in upstream.steps[: order[(now.stage, now.shown)]] if s.stage == now.stage]
    for step in earlier:
        cause = miss_cause_of(upstream, step.stage, step.shown)
        if cause is not None and cause.kind != "unknown":
            return dataclasses.replace(
                cause, detail=f"{cause.detail} (its result came from the engine's own cache)"
            )
    return None


def _position(
    order: Mapping[tuple[str, str], int], upstream: Upstream, step: tuple[str | None, str]
) -> int:
    """A step's place in the Dockerfile (one the plan did not read: after every other)."""
    stage, name = step
    now = _step_now(upstream, stage, name)
    return order.get((now.stage, now.shown), len(order)) if now else len(order)


def miss_cause_of(upstream: Upstream, stage: str | None, shown: str) -> MissCause | None:
    """The most likely cause of the step (`shown` as BuildKit named it, in `stage`) missing the
    cache, from the record: its instruction changed (whatever the base did: a step the cache
    had built runs first where the base's layers moved), the base moved, an argument it sees
    changed, or the files it reads changed. None where there is no record to compare with."""
    record = upstream.record
    if record is None:
        return None
    wanted = " ".join(shown.split())
    now = _step_now(upstream, stage, wanted)
    label = _label(wanted)
    before = None
    if now is not None:  # the step as the record has it: the same instruction in the same stage
        before = next(
            (s for s in record.steps if s.stage == now.stage and s.text == now.text), None
        )
        if before is None:
            return _text_changed(label, record, upstream, now)
    base_name = upstream.chain_bases.get(now.stage if now else (stage or ""))
    base = next((b for b in upstream.bases if b.name == base_name), None)
    if base is not None and _digest_changed(base):
        return _base_moved(label, base)
    if now is None or before is None:
        return MissCause("unknown", label, "the step is not in the Dockerfile read for the plan")
    return _changed_input(label, before, now)


def _text_changed(
    label: str, record: CacheRecord, upstream: Upstream, now: RecordedStep
) -> MissCause:
    """A step whose text the record does not have in its stage: the recorded line it replaced
    (one no step of this run has, at its place in the stage, else the most alike), or new."""
    current = [s for s in upstream.steps if s.stage == now.stage]
    recorded = [s.text for s in record.steps if s.stage == now.stage]
    gone = [text for text in recorded if text not in {s.text for s in current}]
    if not gone:
        return MissCause(
            "instruction", label, "the instruction is new", (("text", None, now.text),)
        )
    place = current.index(now)
    if place < len(recorded) and recorded[place] in gone:
        old = recorded[place]
    else:
        old = max(gone, key=lambda text: difflib.SequenceMatcher(None, text, now.text).ratio())
    return MissCause(
        "instruction",
        label,
        f"its text changed: {_label(old)} -> {_label(now.text)}",
        (("text", old, now.text),),
    )


def registry_holds(upstream: Upstream) -> frozenset[tuple[str, str]] | None:
    """The steps of this run (stage, name as BuildKit gives it) that the registry cache holds, by
    its record: in each stage, the steps whose text, arguments and files are the record's, up
    to the first that is not (every step after it has another cache key), and none in a stage
    whose base moved. None where there is no record: where a hit came from is not known."""
    record = upstream.record
    if record is None:
        return None
    held: set[tuple[str, str]] = set()
    broken = {stage for stage, name in upstream.chain_bases.items() if _moved_base(upstream, name)}
    for step in upstream.steps:
        same = any(
            (r.stage, r.text, r.args, r.files) == (step.stage, step.text, step.args, step.files)
            for r in record.steps
        )
        if step.stage in broken or not same:
            broken.add(step.stage)
            continue
        held.add((step.stage, step.shown))
    return frozenset(held)


def _moved_base(upstream: Upstream, name: str) -> bool:
    return any(b.name == name and _digest_changed(b) for b in upstream.bases)


def _label(step: str) -> str:
    return step if len(step) <= 80 else step[:77] + "..."


def _base_moved(label: str, moved: BaseUse) -> MissCause:
    return MissCause(
        "base",
        label,
        f"the base {moved.name} moved: {short(moved.recorded)} -> {short(moved.use)}",
        ((moved.name, moved.recorded, moved.use),),
    )


def _step_now(upstream: Upstream, stage: str | None, wanted: str) -> RecordedStep | None:
    """This run's step as BuildKit named it: in its stage if that is known, else anywhere."""
    named = [s for s in upstream.steps if s.shown == wanted]
    in_stage = (s for s in named if stage is None or s.stage == stage)
    return next(in_stage, None) or next(iter(named), None)


def _digest_changed(base: BaseUse) -> bool:
    """The cache was built on one base, this run on other images (not a pin of the cache's)."""
    return base.moved and base.use != base.recorded


def _changed_input(label: str, before: RecordedStep, now: RecordedStep) -> MissCause:
    # (name, old, new) of every argument that changed, came or went
    args = tuple((k, before.args.get(k), v) for k, v in now.args.items() if before.args.get(k) != v)
    args += tuple((k, old, None) for k, old in before.args.items() if k not in now.args)
    if args:
        listed = ", ".join(f"{n} {o!r} -> {v!r}" for n, o, v in args)
        return MissCause("argument", label, f"a build argument changed: {listed}", args)
    # (source, old, new) of each source whose hash changed or that is new
    files = tuple(
        (k, before.files.get(k), v) for k, v in now.files.items() if before.files.get(k) != v
    )
    if files:
        return _files_changed(label, files, before, now)
    return MissCause(
        "unknown",
        label,
        "no recorded input changed: the cache may not hold this step (mode=min, or another "
        "build wrote the cache ref)",
    )


def _files_changed(
    label: str,
    files: tuple[tuple[str, str | None, str | None], ...],
    before: RecordedStep,
    now: RecordedStep,
) -> MissCause:
    """The files named where both runs listed them (the user's own first, .git's last), else
    the sources (".") that changed; where the step reads the context's .git, that is said too:
    a new commit alone changes it."""
    paths = _changed_files(before.each_file, now.each_file) or [p for p, _, _ in files]
    named = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    git = f" ({GIT_NOTE})" if now.reads_git else ""  # the note of attach's, for this step
    return MissCause("files", label, f"the files it reads changed: {named}{git}", files)


def _changed_files(before: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """The files that changed, came or went, the most telling first: the user's files before
    .git's (which every commit changes), changed before removed; none where either run listed
    no file (too many files, or a record of an older buildcache)."""
    if not before or not now:
        return []
    changed = sorted(path for path, digest in now.items() if before.get(path) != digest)
    gone = sorted(f"{path} (removed)" for path in before if path not in now)
    # stable: changed, then removed, by name
    return sorted(changed + gone, key=lambda path: path.startswith(".git/"))


def new_record(
    variant: str,
    upstream: Upstream,
    *,
    now: datetime,
    cache_digest: str | None,
    owner: str,
    ran: Mapping[str, float] | None = None,
    sizes: Mapping[str, int] | None = None,
) -> CacheRecord:
    """The record a build that wrote the cache leaves beside it. `ran`: how long each step that
    ran took (by its name as BuildKit gives it); a step from the cache keeps the duration the
    record had of it, from the last build that ran it."""
    return CacheRecord(
        variant=variant,
        owner=owner,
        key=upstream.key,
        written=now,
        cache_digest=cache_digest,
        bases=tuple(
            RecordedBase(b.name, b.use, b.since, _platforms_of_use(b))
            for b in upstream.bases
            if b.use is not None
        ),
        steps=tuple(
            RecordedStep(
                s.stage,
                s.text,
                s.args,
                s.files,
                each_file=s.each_file,
                seconds=_took(s, upstream.record, ran or {}),
                size=_layer_size(s, upstream.record, sizes or {}),
                changed=_since_record(s, upstream.record),
            )
            for s in upstream.steps
        ),
    )


def _layer_size(
    step: RecordedStep, record: CacheRecord | None, sizes: Mapping[str, int]
) -> int | None:
    key = history_key(step.shown or step.text)
    if key in sizes:
        return sizes[key]
    before = record.step(step.stage, step.text) if record else None
    return before.size if before else None


_BUILDKIT_SUFFIX = " # buildkit"
# `RUN |2 A=1 B=2 /bin/sh -c make`: the arguments in scope, then the shell form's shell
_RUN_HISTORY = re.compile(r"^RUN (?:\|(?P<count>\d+) )?(?P<rest>.*)$", re.DOTALL)


def history_key(text: str) -> str:
    """A step's text as an image's history and the Dockerfile can both be read into: a RUN's
    command without its flags, the arguments BuildKit writes before it, or the shell."""
    words = text.split()
    if not words or words[0].upper() != "RUN":
        return " ".join(words)
    rest = words[1:]
    while rest and rest[0].startswith("--"):
        rest.pop(0)
    command = " ".join(rest)
    return "RUN " + command.removeprefix("/bin/sh -c ")


def layer_sizes(config: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, int]:
    """Each step of an image's history that made a layer -> that layer's size (history_key):
    the history's entries that are not empty layers are the manifest's layers, in order."""
    layers = [int(layer.get("size") or 0) for layer in manifest.get("layers") or []]
    made = [h for h in config.get("history") or [] if not h.get("empty_layer")]
    if len(made) != len(layers):
        return {}  # not a history buildcache can read: no sizes rather than wrong ones
    sizes: dict[str, int] = {}
    for entry, size in zip(made, layers, strict=True):
        created = str(entry.get("created_by") or "").removesuffix(_BUILDKIT_SUFFIX)
        found = _RUN_HISTORY.match(created) if created.startswith("RUN ") else None
        if found and found.group("count"):
            # the arguments BuildKit lists before the command: `|2 A=1 B=2`
            created = "RUN " + " ".join(found.group("rest").split()[int(found.group("count")) :])
        sizes[history_key(created)] = size
    return sizes


def _since_record(step: RecordedStep, record: CacheRecord | None) -> tuple[str, ...]:
    """The files of a step that changed since the record (none where it has not the step): a
    step that read the same files keeps the record's list, of the build that last changed them."""
    before = record.step(step.stage, step.text) if record else None
    if before is None:
        return ()
    changed = tuple(_changed_files(before.each_file, step.each_file))
    return changed if changed or before.each_file != step.each_file else before.changed


def _took(step: RecordedStep, record: CacheRecord | None, ran: Mapping[str, float]) -> float | None:
    """How long the step took when it last ran: in this build, else as the record says."""
    if step.shown in ran:
        return round(ran[step.shown], 3)
    before = record.step(step.stage, step.text) if record else None
    return before.seconds if before else None


def _platforms_of_use(base: BaseUse) -> Mapping[str, str]:
    """The platform images of the digest built on, where this run knows them."""
    if base.use == base.current.digest:
        return base.current.platforms
    return base.recorded_platforms if base.use == base.recorded else {}
