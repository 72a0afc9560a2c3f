"""Pure: the tracked vertexes -> the cache report of each variant.

Per variant: the cache refs read (found, missing, failed), the steps that came from the cache and
those that ran, and the cache export (written, skipped, failed). The figures are BuildKit's own
(each step's `cached`, `started`, `completed`, `error`), never guesses from timing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from buildcache.buildkit.metadata import TargetMetadata
from buildcache.buildkit.tracker import CACHE_IMPORT, BuildTracker, Vertex

_IMPORT = re.compile(rf"^{CACHE_IMPORT}(?P<ref>\S+)")
_EXPORT = re.compile(r"^exporting cache to (?P<where>\S+)")


ImportStatus = Literal["found", "missing", "failed"]
# where a cached step came from: the registry cache (its record holds it; the engine may too),
# the engine's own cache only, or not known (a cache found, and no record of what it holds)
Origin = Literal["registry", "local", "unknown"]
ExportStatus = Literal["written", "skipped", "failed"]


@dataclass(frozen=True)
class CacheImport:
    ref: str
    status: ImportStatus
    reason: str | None = None


@dataclass(frozen=True)
class CacheExport:
    ref: str | None
    status: ExportStatus
    reason: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class ExecutedStep:
    name: str
    platform: str | None
    seconds: float | None
    is_from: bool = False
    stage: str | None = None
    text: str = ""  # the instruction as BuildKit names it
    short_name: str = ""  # `name` on one line (the first line of a RUN, `…` where it goes on)
    # the other variants of this run the step is theirs too: BuildKit ran it once for all, so
    # it is no cache hit for any of them
    shared_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class CachedStep:
    name: str
    platform: str | None
    origin: Origin


@dataclass(frozen=True)
class PlatformSteps:
    total: int
    cached: int
    not_run: int = 0  # the build stopped before them

    @property
    def executed(self) -> int:
        return self.total - self.cached - self.not_run


@dataclass(frozen=True, kw_only=True)
class CacheReport:
    variant: str
    imported: tuple[CacheImport, ...]
    exported: CacheExport
    total: int
    cached: int
    executed_steps: tuple[ExecutedStep, ...]
    per_platform: Mapping[str, PlatformSteps]
    first_executed: str | None  # where the chain of reuse broke (FROM steps aside)
    executed_runs: int = 0  # executed steps other than FROM
    runs: int = 0  # steps other than FROM
    not_run: int = 0  # steps the build never reached (it failed or stopped first)
    no_cache: bool = False  # --no-cache: every step ran because it was asked to
    # where the cached steps came from: the registry cache (by its record: it holds them; the
    # engine may too) and the engine's local cache only; None where that is not known (a
    # registry cache found, but no record of what it holds)
    from_registry: int | None = None
    from_local: int | None = None
    cached_steps: tuple[CachedStep, ...] = ()  # each with its origin (with_origins)

    @property
    def executed(self) -> int:
        return self.total - self.cached - self.not_run

    @property
    def hit_ratio(self) -> float:
        return self.cached / self.total if self.total else 1.0

    @property
    def cache_found(self) -> bool:
        return any(i.status == "found" for i in self.imported)

    @property
    def registry_hidden(self) -> bool:
        """The registry cache gave no step while the engine's own cache did: on this engine
        the build looks cached, and a fresh runner would build every step again."""
        return bool(self.imported) and self.from_registry == 0 and bool(self.from_local)

    @property
    def ran_seconds(self) -> dict[str, float]:
        """How long each step that ran took, by its name (the slowest platform's)."""
        took: dict[str, float] = {}
        for step in self.executed_steps:
            if step.seconds is not None and not step.is_from:
                took[step.text] = max(took.get(step.text, 0.0), step.seconds)
        return took

    @property
    def origin_words(self) -> str:
        """Where the cached steps came from, counted apart ("" where that is not known, or
        nothing was cached)."""
        return self.origin_words_on(None)

    def origin_words_on(self, platform: str | None) -> str:
        """`origin_words` of one platform's cached steps (None: of all): a line of one
        platform never holds the other's counts."""
        if self.from_registry is None or self.from_local is None or not self.cached:
            return ""
        registry, local = self.from_registry, self.from_local
        if platform is not None:
            steps = [s for s in self.cached_steps if s.platform == platform]
            registry = sum(1 for s in steps if s.origin == "registry")
            local = len(steps) - registry
        if not registry + local:
            return ""
        return f"{registry} from the registry cache, {local} from the engine's local cache"

    @property
    def registry_filled(self) -> bool:
        """`registry_hidden` on a run that wrote the registry cache (a first build on a warm
        engine): the next fresh runner reads it, so it is a note, not a warning."""
        return self.registry_hidden and self.exported.status == "written"

    @property
    def hidden_registry_words(self) -> str:
        """The words of `registry_hidden` (a warning) and of `registry_filled` (a note)."""
        states = ", ".join(f"{i.ref} {i.status}" for i in self.imported)
        then = (
            "this run wrote it, so a fresh runner reads it next time"
            if self.registry_filled
            else "a fresh runner would build them all again"
        )
        return (
            f"the registry cache gave no step ({states}): the {self.from_local} cached steps "
            f"came from this engine's local cache; {then}"
        )

    @property
    def reuse_broken(self) -> bool:
        """The failure this tool exists to catch: the cache was there, yet most steps ran (not
        where --no-cache asked for it)."""
        broken = self.cache_found and self.runs > 0 and self.executed_runs > self.runs / 2
        return broken and not self.no_cache

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": [
                {"ref": i.ref, "status": i.status, "reason": i.reason} for i in self.imported
            ],
            "steps": {
                "total": self.total,
                "cached": self.cached,
                "executed": self.executed,
                "not_run": self.not_run,
                "from_registry": self.from_registry,
                "from_local": self.from_local,
            },
            "executed_steps": [
                {
                    "name": s.name,
                    "platform": s.platform,
                    "seconds": None if s.seconds is None else round(s.seconds, 3),
                    "shared_with": list(s.shared_with),
                }
                for s in self.executed_steps
            ],
            "cached_steps": [
                {"name": s.name, "platform": s.platform, "origin": s.origin}
                for s in self.cached_steps
            ],
            "exported": {
                "ref": self.exported.ref,
                "status": self.exported.status,
                "reason": self.exported.reason,
            },
            "per_platform": {
                p: {
                    "total": s.total,
                    "cached": s.cached,
                    "executed": s.executed,
                    "not_run": s.not_run,
                }
                for p, s in self.per_platform.items()
            },
            "first_executed_step": self.first_executed,
        }


def _import_status(vertex: Vertex) -> CacheImport:
    ref = _IMPORT.match(vertex.text)
    name = ref.group("ref") if ref else vertex.text
    if not vertex.error:
        return CacheImport(name, "found")
    if _not_there(vertex.error):
        return CacheImport(name, "missing", None)
    return CacheImport(name, "failed", _short_reason(vertex.error, name))


def _not_there(error: str) -> bool:
    """The first build of a variant has no cache yet: normal, not a failure."""
    return error.rstrip().endswith("not found") or "manifest unknown" in error


def _short_reason(error: str, ref: str | None = None) -> str:
    # "failed to configure registry cache importer: <ref>: <reason>" -> "<reason>"
    reason = error
    if ref and f"{ref}: " in reason:
        reason = reason.split(f"{ref}: ", 1)[1]
    return " ".join(reason.split())[:300]


def cache_report(
    tracker: BuildTracker,
    *,
    variant: str,
    cache_from: Sequence[str],
    cache_to: str | None,
    cache_to_mode: str | None,
    export_skipped_reason: str,
    metadata: TargetMetadata | None,
    build_failed: bool,
) -> CacheReport:
    own = [v for v in tracker.vertexes.values() if v.variant == variant]
    imports = {i.ref: i for i in (_import_status(v) for v in own if _IMPORT.match(v.text))}
    if cache_to is None:
        exported = CacheExport(None, "skipped", export_skipped_reason)
    else:
        written = metadata is not None and metadata.cache_written
        exported = _export_status(own, cache_to, cache_to_mode, written, build_failed)
    imported = tuple(imports.get(ref, CacheImport(ref, "missing")) for ref in cache_from)
    return _counted(variant, imported, exported, variant_steps(tracker.steps(), variant))


def with_origins(
    report: CacheReport, tracker: BuildTracker, registry_steps: Collection[tuple[str, str]] | None
) -> CacheReport:
    """The report with where each cached step came from; `registry_steps`: the steps (stage,
    name) the registry cache holds by its record (None: no record)."""
    cached = [s for s in variant_steps(tracker.steps(), report.variant) if s.reused]
    origins = tuple(
        CachedStep(s.step_name, s.platform, _origin(s, report.imported, registry_steps))
        for s in sorted(cached, key=lambda s: (s.platform or "", s.index or 0))
    )
    known = all(step.origin != "unknown" for step in origins)
    from_registry = sum(1 for step in origins if step.origin == "registry")
    return dataclasses.replace(
        report,
        cached_steps=origins,
        from_registry=from_registry if known else None,
        from_local=len(cached) - from_registry if known else None,
    )


def _origin(
    step: Vertex, imported: Sequence[CacheImport], held: Collection[tuple[str, str]] | None
) -> Origin:
    """Where a cached step came from: the engine's own cache where no cache ref was found, else
    the registry cache where its record holds the step (a FROM: the base, which it holds too);
    unknown where a cache was found and no record says what it holds."""
    if not any(i.status == "found" for i in imported):
        return "local"
    if held is None:
        return "unknown"
    in_stage = (step.stage, step.text) in held
    anywhere = step.stage is None and step.text in {name for _, name in held}
    return "registry" if step.is_from or in_stage or anywhere else "local"


def _counted(
    variant: str,
    imported: tuple[CacheImport, ...],
    exported: CacheExport,
    steps: Sequence[Vertex],
) -> CacheReport:
    """The report of a variant's steps: how many came from the cache, which ran, and where
    the chain of reuse broke."""
    executed = sorted((s for s in steps if s.ran), key=lambda s: (s.index or 0, s.platform or ""))
    cached = _count(steps, lambda s: s.reused)
    return CacheReport(
        variant=variant,
        imported=imported,
        exported=exported,
        total=len(steps),
        cached=cached,
        not_run=len(steps) - cached - len(executed),  # the build stopped before them
        executed_steps=tuple(
            ExecutedStep(
                s.step_name,
                s.platform,
                s.seconds,
                s.is_from,
                s.stage,
                s.text,
                s.short_name,
                tuple(name for name in s.variants if name != variant),
            )
            for s in executed
        ),
        per_platform=_per_platform(steps),
        runs=_count(steps, _not_from),
        executed_runs=_count(executed, _not_from),
        first_executed=_first_executed(executed),
    )


def _not_from(step: Vertex) -> bool:
    return not step.is_from


def _count(steps: Sequence[Vertex], which: Callable[[Vertex], bool]) -> int:
    return sum(1 for step in steps if which(step))


def _export_status(
    own: Sequence[Vertex], ref: str, mode: str | None, written: bool, build_failed: bool
) -> CacheExport:
    vertex = next((v for v in own if _EXPORT.match(v.text)), None)
    if vertex is not None and vertex.error:
        return CacheExport(ref, "failed", _short_reason(vertex.error), mode)
    if written or (vertex is not None and vertex.completed is not None):
        return CacheExport(ref, "written", None, mode)
    if build_failed:
        return CacheExport(ref, "skipped", "the build failed before the cache was exported", mode)
    return CacheExport(ref, "failed", "BuildKit did not export it", mode)


def _per_platform(steps: Sequence[Vertex]) -> dict[str, PlatformSteps]:
    per_platform: dict[str, PlatformSteps] = {}
    for step in steps:
        key = step.platform or "-"
        before = per_platform.get(key, PlatformSteps(0, 0))
        per_platform[key] = PlatformSteps(
            before.total + 1,
            before.cached + int(step.reused),
            before.not_run + int(step.never_ran),
        )
    return per_platform


def _first_executed(ordered: Sequence[Vertex]) -> str | None:
    """Where the chain of reuse broke: the first step that ran, FROM steps aside; first by when
    it started (a step starts after those it reads from: BuildKit numbers steps per stage, so
    `runtime 3/4 COPY --from=deps` comes before `deps 4/4 RUN` by number), on the first
    platform."""
    ran = [s for s in ordered if not s.is_from]
    if not ran:
        return None
    first = min(
        ran,
        key=lambda s: (
            s.platform or "",
            s.started is None,
            s.started.timestamp() if s.started else 0.0,
            s.index or 0,
        ),
    )
    return f"[{first.platform}] {first.step_name}" if first.platform else first.step_name


def variant_steps(steps: Sequence[Vertex], variant: str) -> list[Vertex]:
    """The variant's steps, with the ones BuildKit shared with another variant credited to it too.

    In one bake run, a step that is identical in two variants (same instruction, same inputs) is
    one vertex, reported once under whichever variant reached it first. Its number, platform and
    text are the same in both, which is how it is found again here. The report and the CI log's
    groups count with this one function.
    """
    own = [s for s in steps if variant in s.variants]
    own += _shared_steps([s for s in steps if variant not in s.variants], own)
    return sorted(_one_per_step(own), key=lambda s: (s.platform or "", s.index or 0))


def _one_per_step(steps: Sequence[Vertex]) -> list[Vertex]:
    """One vertex per step (platform, number): BuildKit runs a step two variants share once and
    reports it under both names, and reports it again to the other variant as a cached vertex
    of another digest. The one that ran is the variant's step (it ran for this run's build, of
    both: no hit from any cache); the echo is dropped, so a variant's total is its own steps'."""
    chosen: dict[tuple[str | None, str | None, int | None], Vertex] = {}
    for step in steps:
        key = (step.platform, step.stage, step.index)
        if key not in chosen or (step.ran and not chosen[key].ran):
            chosen[key] = step
    return list(chosen.values())


def _shared_steps(others: Sequence[Vertex], own: Sequence[Vertex]) -> list[Vertex]:
    """Other variants' steps that are this one's too: at a number it has no step of its own
    at, in a Dockerfile of as many steps, and shared (see _shared_with)."""
    seen = {(s.platform, s.stage, s.index) for s in own}
    counts = {(s.platform, s.count) for s in own}
    shared = []
    for step in others:
        key = (step.platform, step.stage, step.index)
        if key in seen or (step.platform, step.count) not in counts:
            continue
        if _shared_with(step, own):
            shared.append(step)
            seen.add(key)
    return shared


def _shared_with(step: Vertex, own: Sequence[Vertex]) -> bool:
    # The shared vertex's inputs are the earlier steps: it is the variant's if every step before it
    # that the variant has on that platform is either its own or shared (same text).
    return not any(
        s.platform == step.platform
        and s.stage == step.stage
        and s.index == step.index
        and s.text != step.text
        for s in own
    )


@dataclass(frozen=True)
class VariantStatus:
    """How a variant's build ended: built, failed (where, why, the step's last lines of output), or
    cancelled (BuildKit stopped it when another variant failed)."""

    state: Literal["built", "failed", "cancelled", "published before"]
    step: str | None = None
    error: str | None = None
    log: tuple[str, ...] = ()
    image: str | None = None  # published before: the digest an earlier run of it published

    def to_json(self) -> dict[str, Any]:
        shown = {"state": self.state, "step": self.step, "error": self.error, "log": list(self.log)}
        return {**shown, "image": self.image} if self.image else shown


def variant_status(
    variant: str, tracker: BuildTracker, targets: Mapping[str, TargetMetadata], error: str
) -> VariantStatus:
    """How a variant of a bake that failed (with `error`) ended."""
    if not tracker.failed_steps():
        return _export_status_of(variant, tracker, targets, error)
    failed = [v for v in tracker.failed_steps() if v.variant == variant]
    if failed:
        step = failed[0].step_name if failed[0].is_step else failed[0].text
        where = f"{failed[0].platform} " if failed[0].platform else ""
        return VariantStatus("failed", f"{where}{step}", failed[0].error, tuple(failed[0].logs))
    if _exported(targets.get(variant)):
        return VariantStatus("built")  # it was done and exported before the failure stopped it
    return VariantStatus("cancelled", error="another variant failed, and BuildKit stopped this one")


def _exported(target: TargetMetadata | None) -> bool:
    return target is not None and bool(target.digest)


def _export_status_of(
    variant: str, tracker: BuildTracker, targets: Mapping[str, TargetMetadata], error: str
) -> VariantStatus:
    """A variant of a bake that failed with no step failed: its own export's or push's failure;
    built, where it was exported and only another variant's push failed; else the bake's."""
    own = tracker.export_failure(variant)
    if own is not None:
        return VariantStatus("failed", error=own)
    others = [name for name in tracker.export_failed_of() if name != variant]
    if not others:
        return VariantStatus("failed", error=error)  # the bake failed as a whole
    if _exported(targets.get(variant)):
        return VariantStatus("built")
    return VariantStatus(
        "cancelled",
        error=f"the bake stopped when the push of {', '.join(others)} failed; this one's "
        "image was not reported",
    )
