"""`buildcache build`: plan -> bake file -> one `docker buildx bake` -> cache report -> publish.

The bake pushes every variant to every registry by digest; publishing then writes the tags
through the registry API, the moving tags last (core/publish.py). Every path after the first
push ends in the publish table, and a state that re-running the same command completes.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console

from buildcache.buildkit.metadata import TargetMetadata, digests
from buildcache.buildkit.report import CacheReport, VariantStatus, cache_report, variant_status
from buildcache.buildkit.tracker import BuildTracker
from buildcache.commands.preflight import check_registries
from buildcache.commands.publish import publish, published_before
from buildcache.core.bake import bake_file_text, dry_run_text
from buildcache.core.bases import MissCause
from buildcache.core.config.model import Config
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.publish import (
    PublishInterrupted,
    RetryPolicy,
    TagResult,
    is_auth_error,
    is_transient,
    is_unreachable,
    retry_after,
)
from buildcache.core.redact import redactor
from buildcache.core.result import BuildResult
from buildcache.errors import BuildFailed, PublishStopped, UsageError
from buildcache.ui.ci_sink import CISink
from buildcache.ui.console import labelled, make_console, print_json, say
from buildcache.ui.live import ProgressMode, ProgressView, progress_view
from buildcache.ui.tables import print_report

if TYPE_CHECKING:
    from buildcache.docker.engine import Docker


def _interrupted() -> PublishStopped:
    return PublishStopped(
        "interrupted while publishing: the tag writes under way were finished, no other was started "
        "(the table says which tags are where)",
        hint="run the same command again: it completes the release by digest",
    )


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """How `build` runs and reports, beside its plan."""

    progress: ProgressMode = "auto"
    raw_log: Path | None = None  # BuildKit's rawjson, for a bug report
    min_cache_hit: float | None = None
    as_json: bool = False
    keep_going: bool | None = None  # None: [build] keep-going
    force: bool = False  # rebuild and replace a published release


def build(config: Config, plan: BuildPlan, options: BuildOptions, sink: CISink) -> None:
    """Run the plan, show the report, tell CI; raise what failed (after the report)."""
    raw_log = options.raw_log
    if raw_log is not None and not raw_log.parent.is_dir():
        raise UsageError(f"--raw-log {raw_log}: the folder {raw_log.parent} does not exist")
    console = _console(options.progress)
    for note in plan.notes:
        labelled(console, "note", "yellow", note)
    check_registries(plan, console)  # a registry that cannot take the push: nothing is baked
    resumed = _resumed(config, plan, console, force=options.force)
    keep_going = config.build.keep_going if options.keep_going is None else options.keep_going
    with sink.group(f"docker buildx bake: {', '.join(v.name for v in plan.variants)}"):
        result = run_build(
            plan,
            console=console,
            options=dataclasses.replace(options, keep_going=keep_going),
            policy=retry_policy(config),
            builder=config.builder_name,
            resumed=resumed,
        )
    _show(result, console, sink, as_json=options.as_json)
    _raise_failure(result, options.min_cache_hit)
    say(console, result.headline(), "bold green")


def _resumed(config: Config, plan: BuildPlan, console: Console, *, force: bool) -> dict[str, str]:
    """The variants an earlier run of this release published (not built again), unless --force."""
    if not plan.release or not plan.push or force:
        return {}
    return published_before(plan, console, retry_policy(config))


def _console(progress: ProgressMode) -> Console:
    plain = progress == "plain" or (progress == "auto" and not make_console().is_terminal)
    return make_console(plain=plain)


@contextmanager
def _records(
    plan: BuildPlan, reports: Mapping[str, CacheReport], console: Console
) -> Iterator[Callable[[], Mapping[str, MissCause]]]:
    """Each variant's record written beside its cache while the run publishes (a few round
    trips each, on the cache's registry: nothing to wait for after the tags), and the cause of
    each miss, once the block asks for them. A record that cannot be written is a warning."""
    if not any(v.upstream for v in plan.variants):
        yield dict
        return
    from buildcache.registry import bases

    with ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(bases.after_build, plan, reports, now=datetime.now(UTC))

        def causes() -> Mapping[str, MissCause]:
            found, notes = written.result()
            for note in notes:
                labelled(console, "warning", "yellow", note)
            return found

        yield causes


def _show(result: BuildResult, console: Console, sink: CISink, *, as_json: bool) -> None:
    data = result.to_json()
    # The images are built and published by now: a report that fails to show must not turn that
    # into a failed run, nor keep the JSON, the step outputs and the summary from being written.
    try:
        sink.step_groups(result.steps, [v.name for v in result.plan.variants])
        print_report(console, result)
    except Exception as error:  # any failure of a view: said, and the run goes on
        labelled(console, "warning", "yellow", f"the report could not be shown ({error!r})")
    if as_json:
        print_json(data)
    sink.results(result)
    if isinstance(result.error, PublishStopped):
        labelled(console, "warning", "yellow", result.error.message)
        labelled(console, "hint", "cyan", result.error.hint or "")
        raise KeyboardInterrupt  # exits 130 or 143, as the signal asks (main.py)


def _raise_failure(result: BuildResult, min_cache_hit: float | None) -> None:
    if result.error is not None:
        raise result.error
    if min_cache_hit is not None:
        _check_cache_hits(result.reports.values(), min_cache_hit)


def _check_cache_hits(reports: Iterable[CacheReport], min_cache_hit: float) -> None:
    """--min-cache-hit: a BuildFailed naming each variant below it."""
    low = [r for r in reports if r.hit_ratio < min_cache_hit]
    if low:
        raise BuildFailed(
            "too few steps came from the cache: "
            + "; ".join(f"{r.variant} {r.cached}/{r.total} ({r.hit_ratio:.0%})" for r in low)
            + f", below --min-cache-hit {min_cache_hit:g}"
        )


def run_build(
    plan: BuildPlan,
    *,
    console: Console,
    options: BuildOptions,
    policy: RetryPolicy,
    builder: str | None = None,
    resumed: Mapping[str, str],
) -> BuildResult:
    """One bake of every variant (those an earlier run of this release published aside). With
    --keep-going, when some variants fail, the others are baked again on their own (from the
    build cache: what they had built is reused) and published, and the run still fails."""
    to_build = plan.with_variants([v for v in plan.variants if v.name not in resumed])
    with baking(plan, console, options, builder) as bake:
        baked = bake_all(bake, to_build, policy, console)
        if baked.error is not None and options.keep_going:
            baked = bake_the_others(bake, plan, baked, console)
    baked = baked.with_resumed(resumed)
    built = baked.built_plan(plan)
    keep_going = bool(options.keep_going)
    reports = baked.reports(plan)
    with _records(plan, reports, console) as causes:
        published, error = _publish_built(built, baked, console, policy, keep_going=keep_going)
        found = causes()
    _forget_staging_names(baked.client, to_build, console)
    if error is not None and keep_going:
        error = _with_survivors(error, built, bool(published))
    return baked.result(plan, reports, published, error, found)


def _forget_staging_names(client: Docker, plan: BuildPlan, console: Console) -> None:
    """The names this run's docker-driver pushes left in the engine's image store, taken off
    (another run's are its own to take); one docker refused is a warning, never a failure."""
    from buildcache.docker import engine

    names = [str(name) for v in plan.variants if v.staging_tag for name in v.push_names]
    refused = engine.untag(client, names)
    if refused is not None and "no such image" not in refused.lower():
        labelled(console, "warning", "yellow", f"this run's staging names were left: {refused}")


def _with_survivors(error: BuildFailed, built: BuildPlan, published: bool) -> BuildFailed:
    """--keep-going's failure, naming the variants built (and published) all the same."""
    if not built.variants:
        return error
    done = ", ".join(v.name for v in built.variants)
    return BuildFailed(f"{error.message} ({done} built{' and published' if published else ''})")


def _publish_built(
    built: BuildPlan, baked: Baked, console: Console, policy: RetryPolicy, *, keep_going: bool
) -> tuple[list[TagResult], BuildFailed | None]:
    """The variants built, published where the plan pushes their tags; a failed bake publishes
    nothing, unless --keep-going asked for the variants that built."""
    error = baked.failure()
    if error is not None and not keep_going:
        return [], error
    if not _publishes(built):
        return [], error
    return _publish(built, baked, console, policy, error)


def _publishes(built: BuildPlan) -> bool:
    """Tags to write: variants built, pushed, and not by digest (merge tags those)."""
    return bool(built.variants) and built.push and not built.push_by_digest


def _publish(
    built: BuildPlan,
    baked: Baked,
    console: Console,
    policy: RetryPolicy,
    error: BuildFailed | None,
) -> tuple[list[TagResult], BuildFailed | None]:
    """Every tag of the variants built, on every registry; what went wrong, if nothing had."""
    digests = baked.digests()
    try:
        published = publish(built, digests, console=console, policy=policy, resumed=baked.resumed)
    except PublishInterrupted as stop:
        return stop.results, _interrupted()
    except BuildFailed as refused:  # an image that is not this run's: nothing was tagged
        return [], refused
    if error is not None:
        return published, error
    if any(r.status not in ("done", "kept") for r in published):
        return published, BuildFailed(
            "the images were built, but not every tag was published (the table above says which)",
            hint=_publish_hint(published),
        )
    from buildcache.registry.readback import read_back_published

    return published, read_back_published(published, digests, policy)


def _publish_hint(published: Sequence[TagResult]) -> str:
    again = (
        "run the same command again: it builds from the cache and writes the tags that are missing"
    )
    refused = sorted(
        {
            r.image.registry
            for r in published
            if r.status == "failed" and is_auth_error(r.reason or "")
        }
    )
    if not refused:
        return again
    return (
        f"{', '.join(refused)} refused the credentials: log in with a token that may push "
        f"(buildcache login, or docker login {refused[0]}), then {again}"
    )


def dry_run(plan: BuildPlan) -> None:
    """The bake file and the exact commands, on stdout; the plan's notes on stderr; nothing
    runs."""
    console = make_console()
    for note in plan.notes:
        labelled(console, "note", "yellow", note)
    sys.stdout.write(dry_run_text(plan))


def retry_policy(config: Config) -> RetryPolicy:
    return RetryPolicy(attempts=config.publish.retries + 1, backoff=config.publish.backoff)


def cannot_push_untagged(config: Config) -> bool:
    """buildx's docker driver refuses push-by-digest ("not implemented for docker driver"), so
    its pushes go under buildcache's staging tag (read from buildx's files: no process)."""
    from buildcache.docker import engine

    return engine.builder_driver(config.builder_name, os.environ) == "docker"


# The bakes of one run


@dataclass(frozen=True)
class Bake:
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
def baking(
    plan: BuildPlan, console: Console, options: BuildOptions, builder: str | None
) -> Iterator[Bake]:
    from buildcache.docker import engine

    client = engine.make_client()
    # Checking the engine first costs four docker calls on every build; a build that fails
    # before its first step is asked why instead (Bake), which names what is missing and the fix.
    engine.require_docker_command(client)
    redact = redactor(v.build_args for v in plan.variants)
    with (
        tempfile.TemporaryDirectory(prefix="buildcache-") as folder,
        progress_view(options.progress, console) as view,
        _raw_log(options.raw_log) as raw,
    ):
        yield Bake(client, builder, Path(folder), view, raw, redact)


@dataclass(frozen=True, kw_only=True)
class Baked:
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

    def with_resumed(self, resumed: Mapping[str, str]) -> Baked:
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
        report = cache_report(
            second if second is not None and built else self.first,
            variant=variant.name,
            cache_from=[str(ref) for ref in variant.cache_from],
            cache_to=str(cache_to.ref) if cache_to else None,
            cache_to_mode=cache_to.mode if cache_to else None,
            export_skipped_reason=not_written,
            metadata=self.targets.get(variant.name),
            build_failed=not built,
        )
        # --no-cache: every step runs because it was asked to, not because the cache broke
        return dataclasses.replace(report, no_cache=variant.inputs.no_cache)


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


def bake_all(bake: Bake, plan: BuildPlan, policy: RetryPolicy, console: Console) -> Baked:
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
    return Baked(client=bake.client, first=first, statuses=statuses, targets=targets, error=error)


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


def bake_the_others(bake: Bake, plan: BuildPlan, baked: Baked, console: Console) -> Baked:
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
