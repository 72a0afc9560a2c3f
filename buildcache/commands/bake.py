"""The bakes of one `buildcache build`: the first bake of every variant, a bake again from the
cache where a push met a registry's bad moment, and --keep-going's bake of the variants that did
not fail. What they leave (`BakeOutcome`) is what the cache report and publishing read.

`docker/bake.py` runs one `docker buildx bake`; `core/bake.py` writes its bake file; this module
decides how many bakes a run takes and what each one's failure means.
"""

from __future__ import annotations

import dataclasses
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console

from buildcache.buildkit.metadata import TargetMetadata, digests
from buildcache.buildkit.report import (
    CacheReport,
    VariantStatus,
    cache_report,
    variant_status,
    with_origins,
)
from buildcache.buildkit.tracker import BuildTracker
from buildcache.core.bake import bake_file_text
from buildcache.core.bases import MissCause, registry_holds
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.publish.result import BuildResult
from buildcache.core.publish.writes import (
    RetryPolicy,
    TagResult,
    is_auth_error,
    is_transient,
    is_unreachable,
    retry_after,
)
from buildcache.core.redact import redactor
from buildcache.errors import BuildFailed
from buildcache.ui.console import labelled, say
from buildcache.ui.live import ProgressMode, ProgressView, progress_view

if TYPE_CHECKING:
    from buildcache.docker.engine import Docker


@dataclass(frozen=True)
class Baker:
    """Bakes a part of the plan at a time: its bake file in a folder of its own, every line of
    progress redacted (secret-looking build args, as BuildKit names steps), then to the raw log
    and through the tracker to the view."""

    client: Docker
    builder: str | None
    folder: Path
    view: ProgressView
    raw: TextIO | None
    redact: Callable[[str], str]

    def __call__(
        self, part: BuildPlan, tracker: BuildTracker, name: str
    ) -> tuple[dict[str, TargetMetadata], BuildFailed | None]:
        from buildcache.docker import bake, engine

        folder = self.folder / name
        folder.mkdir()
        (folder / "docker-bake.json").write_text(bake_file_text(part))
        try:
            found = bake.run_bake(
                self.client,
                bake_file=folder / "docker-bake.json",
                metadata_file=folder / "metadata.json",
                on_line=lambda line: self._line(line, tracker),
                builder=self.builder,
            )
        except BuildFailed as failure:
            if not tracker.steps():  # it failed before its first step: ask the engine why
                engine.explain_failure(
                    self.client,
                    builder_name=self.builder,
                    platforms=sorted({p for v in part.variants for p in v.platforms}),
                    needs_cache_export=any(v.cache_to for v in part.variants),
                )
            return bake.read_metadata(folder / "metadata.json"), failure
        finally:
            tracker.close()
        return found, None

    def _line(self, line: str, tracker: BuildTracker) -> None:
        line = self.redact(line)
        if self.raw is not None:
            self.raw.write(line)
        self.view.handle(tracker.feed_line(line))


@contextmanager
def open_baker(
    plan: BuildPlan,
    console: Console,
    *,
    progress: ProgressMode,
    raw_log: Path | None,
    builder: str | None,
) -> Iterator[Baker]:
    from buildcache.docker import engine

    client = engine.make_client()
    # Checking the engine first costs four docker calls on every build; a build that fails
    # before its first step is asked why instead (Baker), which names what is missing and the fix.
    engine.require_docker_command(client)
    redact = redactor(v.build_args for v in plan.variants)
    with (
        tempfile.TemporaryDirectory(prefix="buildcache-") as folder,
        progress_view(progress, console) as view,
        _raw_log(raw_log) as raw,
    ):
        yield Baker(client, builder, Path(folder), view, raw, redact)


@dataclass(frozen=True, kw_only=True)
class BakeOutcome:
    """What the bakes of one run left: the first bake's tracker (its steps are the report's,
    whatever a retry did), the --keep-going bake's, each variant's status and buildx metadata,
    and the error of the bake."""

    client: Docker
    first: BuildTracker
    second: BuildTracker | None = None
    statuses: Mapping[str, VariantStatus]
    targets: Mapping[str, TargetMetadata]
    error: BuildFailed | None
    resumed: frozenset[str] = frozenset()

    def with_resumed(self, resumed: Mapping[str, str]) -> BakeOutcome:
        """The variants an earlier run of this release published: that image, as it was."""
        return dataclasses.replace(
            self,
            statuses={
                **self.statuses,
                **{n: VariantStatus("published before", image=d) for n, d in resumed.items()},
            },
            targets={**self.targets, **{n: TargetMetadata(digest=d) for n, d in resumed.items()}},
            resumed=frozenset(resumed),
        )

    def built_plan(self, plan: BuildPlan) -> BuildPlan:
        """The plan of the variants whose images exist now."""
        if self.error is None:
            return plan
        states = ("built", "published before")
        return plan.with_variants(
            [v for v in plan.variants if self.statuses[v.name].state in states]
        )

    def failure(self) -> BuildFailed | None:
        if self.error is None:
            return None
        pushed = self.first.export_failure()
        if pushed is not None:
            return _push_failed(pushed, self.first.export_failed_of())
        message = _failure_message(self.first) or self.error.message
        if self.first.failed_steps():
            return BuildFailed(message)
        # no step of the user's failed: the engine, a push while other steps still ran, a
        # registry gone mid-build; nothing was tagged, and what finished is in the cache
        return BuildFailed(
            message,
            hint=f"{NOTHING_TAGGED}: run the same command again; its finished steps come from "
            "the cache",
        )

    def digests(self) -> dict[str, str | None]:
        return digests(self.targets)

    def reports(self, plan: BuildPlan) -> dict[str, CacheReport]:
        """Each variant's cache report (none for one an earlier run published)."""
        not_written = _not_written(plan)
        return {
            v.name: self._report(v, not_written)
            for v in plan.variants
            if v.name not in self.resumed
        }

    def result(
        self,
        plan: BuildPlan,
        reports: Mapping[str, CacheReport],
        published: list[TagResult],
        error: BuildFailed | None,
        causes: Mapping[str, MissCause],
    ) -> BuildResult:
        return BuildResult(
            plan=plan,
            reports=reports,
            causes=causes,
            statuses=self.statuses,
            targets=self.targets,
            failed=self.first.failed_steps(),
            steps=self.first.steps() + (self.second.steps() if self.second else []),
            published=published,
            error=error,
        )

    def _report(self, variant: VariantPlan, not_written: str) -> CacheReport:
        cache_to = variant.cache_to
        # the bake that built the variant: the second (--keep-going's), where it did
        second, built = self.second, self.statuses[variant.name].state == "built"
        tracker = second if second is not None and built else self.first
        report = cache_report(
            tracker,
            variant=variant.name,
            cache_from=[str(ref) for ref in variant.cache_from],
            cache_to=str(cache_to.ref) if cache_to else None,
            cache_to_mode=cache_to.mode if cache_to else None,
            export_skipped_reason=not_written,
            metadata=self.targets.get(variant.name),
            build_failed=not built,
        )
        held = registry_holds(variant.upstream) if variant.upstream else None
        # --no-cache: every step runs because it was asked to, not because the cache broke
        report = dataclasses.replace(report, no_cache=variant.inputs.no_cache)
        return with_origins(report, tracker, held)


# what a failed bake leaves: buildcache writes tags through the registry API after the bake
NOTHING_TAGGED = (
    "no tag was written on any registry (tags are written once every registry holds the image)"
)


def _push_failed(reason: str, variants: Sequence[str] = ()) -> BuildFailed:
    """The bake's push (of `variants`, where known) failed after every step was done; nothing
    was tagged."""
    login = (
        "log in with a token that may push (buildcache login, or docker login), then "
        if is_auth_error(reason)
        else ""
    )
    return BuildFailed(
        f"the push{' of ' + ', '.join(variants) if variants else ''} failed after every step "
        f"was done: {' '.join(reason.split())}",
        hint=f"{NOTHING_TAGGED}: {login}run the same command again; its steps come from the cache",
    )


def _not_written(plan: BuildPlan) -> str:
    """Why a variant's cache is read and not written: the plan's cache policy says."""
    policy = plan.cache_policy
    if policy is None or policy.mode == "rw":
        return "not pushing (--cache rw writes it anyway)"
    return f"{policy.reason} (--cache rw writes it anyway)"


def bake_all(bake: Baker, plan: BuildPlan, policy: RetryPolicy, console: Console) -> BakeOutcome:
    """The one bake of the plan; a push that failed on a registry's bad moment (429, 5xx, a
    reset) after every step was done is baked again: from the cache, no step runs twice.
    Never an auth error, nor a registry that refused the connection or has no address."""
    first = _tracker(plan)
    targets, error = bake(plan, first, "all") if plan.variants else ({}, None)
    tracker, rng = first, random.Random()
    for attempt in range(1, policy.attempts):
        reason = _worth_another_bake(tracker) if error is not None else None
        if reason is None:
            break
        # BuildKit passes on a registry's words, not its headers: a Retry-After only as text
        wait = policy.wait(attempt, retry_after(reason), rng)
        say(
            console,
            f"retry: the push failed ({' '.join(reason.split())[:200]}); baking again from the "
            f"cache in {wait:.1f}s ({attempt + 1}/{policy.attempts})",
            "yellow",
        )
        time.sleep(wait)
        tracker = _tracker(plan)
        targets, error = bake(plan, tracker, f"retry-{attempt}")
    statuses = _statuses(plan.variants, first, targets, error)
    return BakeOutcome(
        client=bake.client, first=first, statuses=statuses, targets=targets, error=error
    )


def _worth_another_bake(tracker: BuildTracker) -> str | None:
    """Why a failed bake is baked again: its push met a registry's bad moment after every step
    was done, or lost the docker driver's race for the staging name. The docker driver keeps
    what it pushes in the engine's image store, under the staging tag: two bakes of one project
    on one engine at the same moment race to name it there ("image ...: already exists"), and
    the one that lost gets through when baked again."""
    race = re.compile(r'image "[^"]*-image": already exists')
    lost = next((line for line in tracker.other_lines if race.search(line)), None)
    if lost is not None:
        return lost
    reason = tracker.export_failure()
    if reason is None or is_unreachable(reason):  # not coming back in a few seconds
        return None
    return reason if is_transient(reason) or _lost_staging_race(reason) else None


# a registry's 400 on a push under the staging tag: another release of the project pushed the
# same tag at that moment (its manifest replaced the one whose blobs this push referenced); the
# tag is buildcache's own, so baking again (from the cache) settles it
_STAGING_RACE = re.compile(r"failed to push \S+-image\b.*\b400\b", re.IGNORECASE | re.DOTALL)


def _lost_staging_race(reason: str) -> bool:
    return bool(_STAGING_RACE.search(reason))


def bake_the_others(
    bake: Baker, plan: BuildPlan, baked: BakeOutcome, console: Console
) -> BakeOutcome:
    """--keep-going: the variants that did not fail, baked again on their own."""
    failed = [n for n, status in baked.statuses.items() if status.state == "failed"]
    others = tuple(v for v in plan.variants if v.name in baked.statuses and v.name not in failed)
    if not failed or not others:
        return baked
    labelled(
        console,
        "note",
        "yellow",
        f"{', '.join(failed)} failed; baking {', '.join(v.name for v in others)} "
        "again on their own, to publish them (--keep-going)",
    )
    part = plan.with_variants(others)
    second = _tracker(part)
    targets, error = bake(part, second, "others")
    statuses = {**baked.statuses, **_statuses(others, second, targets, error)}
    return dataclasses.replace(baked, second=second, statuses=statuses, targets=targets)


def _statuses(
    variants: Sequence[VariantPlan],
    tracker: BuildTracker,
    targets: Mapping[str, TargetMetadata],
    error: BuildFailed | None,
) -> dict[str, VariantStatus]:
    """How each variant of one bake ended."""
    if error is None:
        return {v.name: VariantStatus("built") for v in variants}
    return {v.name: variant_status(v.name, tracker, targets, error.message) for v in variants}


def _tracker(plan: BuildPlan) -> BuildTracker:
    return BuildTracker(
        [v.name for v in plan.variants], {v.name: v.platforms for v in plan.variants}
    )


@contextmanager
def _raw_log(path: Path | None) -> Iterator[TextIO | None]:
    if path is None:
        yield None
        return
    with path.open("w", encoding="utf-8") as stream:
        yield stream


def _failure_message(tracker: BuildTracker) -> str | None:
    failed = tracker.failed_steps()
    if failed:
        where = " ".join(p for p in (failed[0].variant, failed[0].platform) if p)
        step = failed[0].step_name if failed[0].is_step else failed[0].text
        return f"the build failed at {where + ': ' if where else ''}{step}: {failed[0].error}"
    other = tracker.error_lines()
    return other[-1] if other else None
