"""`buildcache build`: plan -> bake file -> one `docker buildx bake` -> cache report -> publish.

The bake pushes every variant to every registry by digest; publishing then writes the tags
through the registry API, the moving tags last (core/publish/writes.py). Every path after the first
push ends in the publish table, and a state that re-running the same command completes.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from buildcache.buildkit.report import CacheReport
from buildcache.commands.bake import (
    BakeOutcome,
    bake_all,
    bake_the_others,
    open_baker,
)
from buildcache.commands.preflight import check_registries
from buildcache.commands.publish import publish, published_before
from buildcache.core.advise import advise, duration
from buildcache.core.bake import dry_run_text
from buildcache.core.bases import MissCause
from buildcache.core.config.model import Config
from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish.result import BuildResult
from buildcache.core.publish.writes import (
    PublishInterrupted,
    RetryPolicy,
    TagResult,
    is_auth_error,
)
from buildcache.errors import BuildFailed, PublishStopped, UsageError
from buildcache.ui.ci_sink import CISink
from buildcache.ui.console import labelled, make_console, print_json, say
from buildcache.ui.live import ProgressMode
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
    _show(result, console, sink, as_json=options.as_json, quiet=options.progress == "quiet")
    _raise_failure(result, options.min_cache_hit)
    _point_at_advice(result, console)
    say(console, result.headline(), "bold green")


def _point_at_advice(result: BuildResult, console: Console) -> None:
    """One line where `advise` has advice worth more than a few seconds a build."""
    found = [
        advice
        for variant in result.plan.variants
        if variant.upstream is not None and variant.name in result.reports
        for advice in advise(
            variant.name, variant.upstream, result.reports[variant.name].ran_seconds
        )
        if advice.worth_it
    ]
    if found:
        slowest = max(found, key=lambda advice: advice.seconds or 0.0)
        labelled(
            console,
            "hint",
            "cyan",
            f"buildcache advise: {len(found)} change(s) to the Dockerfile would save time, "
            f"up to {duration(slowest.seconds)} a build ({slowest.kind}: {slowest.variant})",
        )


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
    plan: BuildPlan,
    reports: Mapping[str, CacheReport],
    console: Console,
    pushed: Mapping[str, str | None] | None,
) -> Iterator[Callable[[], Mapping[str, MissCause]]]:
    """Each variant's record written beside its cache while the run publishes (a few round
    trips each, on the cache's registry: nothing to wait for after the tags), with the sizes of
    the layers of the image it `pushed` (by digest, before its tags), and the cause of each
    miss, once the block asks for them. A record that cannot be written is a warning."""
    if not any(v.upstream for v in plan.variants):
        yield dict
        return
    from buildcache.registry import bases

    with ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(
            bases.after_build, plan, reports, now=datetime.now(UTC), digests=pushed
        )

        def causes() -> Mapping[str, MissCause]:
            found, notes = written.result()
            for note in notes:
                labelled(console, "warning", "yellow", note)
            return found

        yield causes


def _show(
    result: BuildResult, console: Console, sink: CISink, *, as_json: bool, quiet: bool
) -> None:
    data = result.to_json()
    # The images are built and published by now: a report that fails to show must not turn that
    # into a failed run, nor keep the JSON, the step outputs and the summary from being written.
    try:
        if not quiet:  # --progress quiet: the summary only
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
    with open_baker(
        plan, console, progress=options.progress, raw_log=options.raw_log, builder=builder
    ) as bake:
        baked = bake_all(bake, to_build, policy, console)
        if baked.error is not None and options.keep_going:
            baked = bake_the_others(bake, plan, baked, console)
    baked = baked.with_resumed(resumed)
    built = baked.built_plan(plan)
    keep_going = bool(options.keep_going)
    reports = baked.reports(plan)
    pushed = baked.digests() if plan.push or plan.push_by_digest else None
    with _records(plan, reports, console, pushed) as causes:
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
    built: BuildPlan, baked: BakeOutcome, console: Console, policy: RetryPolicy, *, keep_going: bool
) -> tuple[list[TagResult], BuildFailed | None]:
    """The variants built, published where the plan pushes their tags; a failed bake publishes
    nothing, unless --keep-going asked for the variants that built."""
    error = baked.failure(pushing=built.push)
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
    baked: BakeOutcome,
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
