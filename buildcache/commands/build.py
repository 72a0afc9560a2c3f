"""`buildcache build`: plan -> bake file -> one `docker buildx bake` -> cache report -> publish.

The build pushes the version tags of the first image; publishing then copies by digest to every
other registry, the moving tags last (core/publish.py). Every path after the first push ends in
the publish table, and a state that re-running the same command completes.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from buildcache.buildkit.report import VariantStatus, cache_report, variant_status
from buildcache.buildkit.tracker import BuildTracker, Vertex
from buildcache.commands.publish import publish, published_before
from buildcache.core.bake import bake_file_text, dry_run_text
from buildcache.core.config.model import Config
from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish import PublishInterrupted, RetryPolicy, TagResult, is_transient
from buildcache.core.redact import redactor
from buildcache.core.result import BuildResult
from buildcache.errors import BuildFailed, PublishStopped, UsageError
from buildcache.ui.ci_sink import CISink
from buildcache.ui.console import labelled, make_console, print_json, say
from buildcache.ui.live import ProgressMode, progress_view
from buildcache.ui.tables import print_report


def build(
    config: Config,
    plan: BuildPlan,
    *,
    progress: ProgressMode,
    raw_log: Path | None,
    min_cache_hit: float | None,
    as_json: bool,
    sink: CISink,
    keep_going: bool | None = None,
    force: bool = False,
) -> None:
    """Run the plan, show the report, tell CI; raise what failed (after the report)."""
    if raw_log is not None and not raw_log.parent.is_dir():
        raise UsageError(f"--raw-log {raw_log}: the folder {raw_log.parent} does not exist")
    console = make_console(
        plain=progress == "plain" or (progress == "auto" and not make_console().is_terminal)
    )
    for note in plan.notes:
        labelled(console, "note", "yellow", note)
    resumed = published_before(plan, console) if plan.release and plan.push and not force else {}
    with sink.group(f"docker buildx bake: {', '.join(v.name for v in plan.variants)}"):
        result = run_build(
            plan,
            console=console,
            progress=progress,
            raw_log=raw_log,
            policy=retry_policy(config),
            builder=config.builder_name,
            keep_going=config.build.keep_going if keep_going is None else keep_going,
            resumed=resumed,
        )
    if any(v.upstream for v in plan.variants):
        from buildcache.registry import bases

        result.causes, notes = bases.after_build(plan, result.reports, now=datetime.now(UTC))
        for note in notes:
            labelled(console, "warning", "yellow", note)
    data = result.to_json()
    # The images are built and published by now: a report that fails to show must not turn that
    # into a failed run, nor keep the JSON, the step outputs and the summary from being written.
    try:
        sink.step_groups(result.steps, [v.name for v in plan.variants])
        print_report(console, result)
    except Exception as error:  # any failure of a view: said, and the run goes on
        labelled(console, "warning", "yellow", f"the report could not be shown ({error!r})")
    if as_json:
        print_json(data)
    sink.results(data)
    if isinstance(result.error, PublishStopped):
        labelled(console, "warning", "yellow", result.error.message)
        labelled(console, "hint", "cyan", result.error.hint or "")
        raise KeyboardInterrupt  # exits 130 or 143, as the signal asks (main.py)
    if result.error is not None:
        raise result.error
    if min_cache_hit is not None:
        low = [r for r in result.reports.values() if r.hit_ratio < min_cache_hit]
        if low:
            raise BuildFailed(
                "too few steps came from the cache: "
                + "; ".join(f"{r.variant} {r.cached}/{r.total} ({r.hit_ratio:.0%})" for r in low)
                + f", below --min-cache-hit {min_cache_hit:g}"
            )
    pushed = sum(1 for r in result.published if r.status == "done")
    summary = f"built {len(plan.variants)} variant(s)"
    if pushed:
        summary += f", pushed {pushed} tag(s)"
    elif plan.push_by_digest:
        summary += ", pushed by digest (buildcache merge tags them)"
    say(console, summary, "bold green")


def run_build(
    plan: BuildPlan,
    *,
    console: Console,
    progress: ProgressMode,
    docker_host: str | None = None,
    raw_log: Path | None = None,
    policy: RetryPolicy | None = None,
    builder: str | None = None,
    keep_going: bool = False,
    resumed: Mapping[str, str] | None = None,
) -> BuildResult:
    """One bake of every variant. With `keep_going`, when some variants fail, the others are
    baked again on their own (from the build cache: what they had built is reused) and
    published, and the run still fails."""
    from buildcache.docker import bake as baking  # only for a build that runs
    from buildcache.docker import engine

    policy = policy or RetryPolicy()
    client = engine.make_client(docker_host)
    # Checking the engine first costs four docker calls on every build; a build that fails before
    # its first step is asked why instead (below), which names what is missing and the fix.
    engine.require_docker_command(client)
    # variants an earlier run of this release built and pushed: published from that image
    resumed = dict(resumed or {})
    to_build = dataclasses.replace(
        plan, variants=tuple(v for v in plan.variants if v.name not in resumed)
    )
    first = _tracker(to_build)
    redact = redactor(v.build_args for v in plan.variants)
    second: BuildTracker | None = None
    built_plan = plan  # the variants whose images exist at the end
    with (
        tempfile.TemporaryDirectory(prefix="buildcache-") as tmp,
        progress_view(progress, console) as view,
        _raw_log(raw_log) as raw,
    ):

        def bake(
            part: BuildPlan, tracker: BuildTracker, name: str
        ) -> tuple[dict[str, Any], BuildFailed | None]:
            def on_line(line: str) -> None:
                line = redact(line)  # secret-looking build args, as BuildKit names steps
                if raw is not None:
                    raw.write(line)
                view.handle(tracker.feed_line(line))

            folder = Path(tmp) / name
            folder.mkdir()
            (folder / "docker-bake.json").write_text(bake_file_text(part))
            metadata_file = folder / "metadata.json"
            try:
                found = baking.run_bake(
                    client,
                    bake_file=folder / "docker-bake.json",
                    metadata_file=metadata_file,
                    on_line=on_line,
                    builder=builder,
                )
            except BuildFailed as failure:
                if not tracker.steps():
                    engine.explain_failure(
                        client,
                        builder_name=builder,
                        platforms=sorted({p for v in part.variants for p in v.platforms}),
                        needs_cache_export=any(v.cache_to for v in part.variants),
                    )
                return baking.read_metadata(metadata_file), failure
            finally:
                tracker.close()
            return found, None

        metadata, error = bake(to_build, first, "all") if to_build.variants else ({}, None)
        # A push that failed on a registry's bad moment (429, 5xx, a reset) after every step was
        # done is baked again: from the cache, no step runs twice. Never an auth error.
        rng = random.Random()
        for attempt in range(1, policy.attempts):
            reason = first.export_failure() if error is not None else None
            if reason is None or not is_transient(reason):
                break
            wait = policy.wait(attempt, reason, rng)
            say(
                console,
                f"retry: the push failed after every step was done ({' '.join(reason.split())[:200]});"
                f" baking again from the cache in {wait:.1f}s ({attempt + 1}/{policy.attempts})",
                "yellow",
            )
            time.sleep(wait)
            metadata, error = bake(to_build, _tracker(to_build), f"retry-{attempt}")
        statuses = {v.name: VariantStatus("built") for v in to_build.variants}
        if error is not None:
            statuses = {
                v.name: variant_status(v.name, first, metadata, error.message)
                for v in to_build.variants
            }
        for name, digest in resumed.items():
            statuses[name] = VariantStatus("published before", error=digest)
            metadata[name] = {"containerimage.digest": digest}
        if error is not None:
            built_plan = _only(plan, statuses)
            failed_names = [n for n, status in statuses.items() if status.state == "failed"]
            others = tuple(v for v in to_build.variants if v.name not in failed_names)
            if keep_going and failed_names and others:
                labelled(
                    console,
                    "note",
                    "yellow",
                    f"{', '.join(failed_names)} failed; baking {', '.join(v.name for v in others)} "
                    "again on their own, to publish them (--keep-going)",
                )
                retry = dataclasses.replace(plan, variants=others)
                second = _tracker(retry)
                metadata, second_error = bake(retry, second, "others")
                for variant in others:
                    statuses[variant.name] = (
                        VariantStatus("built")
                        if second_error is None
                        else variant_status(variant.name, second, metadata, second_error.message)
                    )
                built_plan = _only(plan, statuses)
        for name, digest in resumed.items():  # a second bake's metadata knows only its own
            metadata[name] = {"containerimage.digest": digest}
    rebuilt = {v.name for v in built_plan.variants} if second is not None else set()
    reports = {
        v.name: cache_report(
            second if second is not None and v.name in rebuilt else first,
            variant=v.name,
            cache_from=[str(ref) for ref in v.cache_from],
            cache_to=str(v.cache_to.ref) if v.cache_to else None,
            cache_to_mode=v.cache_to.mode if v.cache_to else None,
            export_skipped_reason="not pushing (--cache-write writes it anyway)",
            metadata=metadata.get(v.name),
            build_failed=statuses[v.name].state != "built",
        )
        for v in plan.variants
        if v.name not in resumed
    }
    failed = first.failed_steps()
    published: list[TagResult] = []
    if error is not None:
        error = BuildFailed(_failure_message(failed, first) or error.message)
    # a failed bake publishes nothing, unless --keep-going asked for the variants that built
    publishing = error is None or keep_going
    if publishing and built_plan.variants and built_plan.push and not built_plan.push_by_digest:
        try:
            published = publish(
                built_plan,
                metadata,
                copy_image=lambda sources, targets: engine.copy_image(client, sources, targets),
                console=console,
                policy=policy,
            )
        except PublishInterrupted as stop:
            published = stop.results
            error = PublishStopped(
                "interrupted while publishing: the copies under way were finished, no other was "
                "started (the table says which tags are where)",
                hint="run the same command again: it completes the release by digest",
            )
        if error is None and any(r.status not in ("done", "kept") for r in published):
            error = BuildFailed(
                "the images were built, but not every tag was published (the table above says which)",
                hint="run the same command again: it builds from the cache and copies by digest what is missing",
            )
        elif error is None:
            from buildcache.registry.readback import read_back_published

            error = read_back_published(published, metadata)
    if error is not None and keep_going and built_plan.variants:
        done = ", ".join(v.name for v in built_plan.variants)
        error = BuildFailed(
            f"{error.message} ({done} built{' and published' if published else ''})"
        )
    return BuildResult(
        plan=plan,
        reports=reports,
        statuses=statuses,
        metadata=metadata,
        failed=failed,
        steps=first.steps() + (second.steps() if second is not None else []),
        published=published,
        error=error,
    )


def _tracker(plan: BuildPlan) -> BuildTracker:
    return BuildTracker(
        [v.name for v in plan.variants], {v.name: v.platforms for v in plan.variants}
    )


def _only(plan: BuildPlan, statuses: Mapping[str, VariantStatus]) -> BuildPlan:
    """The plan of the variants that were built."""
    return dataclasses.replace(
        plan,
        variants=tuple(
            v for v in plan.variants if statuses[v.name].state in ("built", "published before")
        ),
    )


@contextmanager
def _raw_log(path: Path | None) -> Iterator[TextIO | None]:
    if path is None:
        yield None
        return
    with path.open("w", encoding="utf-8") as stream:
        yield stream


def _failure_message(failed: list[Vertex], tracker: BuildTracker) -> str | None:
    if failed:
        vertex = failed[0]
        where = " ".join(p for p in (vertex.variant, vertex.platform) if p)
        step = vertex.step_name if vertex.is_step else vertex.text
        return f"the build failed at {where + ': ' if where else ''}{step}: {vertex.error}"
    other = [line for line in tracker.other_lines if "ERROR" in line or "error" in line]
    return other[-1] if other else None


def dry_run(plan: BuildPlan) -> None:
    """The bake file and the exact commands, on stdout; nothing runs."""
    sys.stdout.write(dry_run_text(plan))


def retry_policy(config: Config) -> RetryPolicy:
    return RetryPolicy(attempts=config.publish.retries + 1, backoff=config.publish.backoff)


def cannot_push_untagged(config: Config) -> bool:
    """buildx's docker driver refuses push-by-digest ("not implemented for docker driver")."""
    from buildcache.docker import engine

    client = engine.make_client()
    engine.require_docker_command(client)
    return engine.inspect_engine(client, config.builder_name).driver == "docker"
