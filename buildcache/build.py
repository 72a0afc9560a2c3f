"""`buildcache build`: plan -> bake file -> one `docker buildx bake` -> the cache report.

Kept apart from cli.py so the build is a plain function of its inputs; the engine calls are in
engine.py, imported here only, because python-on-whales is slow to import.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.text import Text

from buildcache import engine
from buildcache.bake import bake_file_text
from buildcache.errors import BuildFailed
from buildcache.output import (
    ProgressMode,
    cache_table,
    cache_warnings,
    progress_view,
    publish_table,
)
from buildcache.plan import BuildPlan
from buildcache.progress import BuildTracker, CacheReport, Vertex, cache_report
from buildcache.publish import Publisher, PublishStep, RetryPolicy, TagResult, publish_steps

if TYPE_CHECKING:
    from python_on_whales import DockerClient


@dataclass(kw_only=True)
class BuildResult:
    plan: BuildPlan
    reports: dict[str, CacheReport]
    metadata: dict[str, Any]
    failed: list[Vertex] = field(default_factory=list)
    steps: list[Vertex] = field(default_factory=list)
    published: list[TagResult] = field(default_factory=list)
    error: BuildFailed | None = None

    def digest(self, variant: str) -> str | None:
        value = self.metadata.get(variant, {}).get("containerimage.digest")
        return str(value) if value else None

    def to_json(self) -> dict[str, Any]:
        data = self.plan.to_json()
        for variant in data["variants"]:
            name = variant["name"]
            variant["digest"] = self.digest(name)
            if self.plan.push_by_digest and variant["digest"]:
                # where `buildcache merge` finds this platform's image
                chosen = next(v for v in self.plan.variants if v.name == name)
                image = (chosen.staging_tag or chosen.push_tags[0]).rpartition(":")[0]
                variant["digest_ref"] = f"{image}@{variant['digest']}"
            own = [r for r in self.published if r.variant == name]
            variant["pushed"] = [f"{r.image}:{r.tag}" for r in own if r.status == "done"]
            variant["publish"] = [r.to_json() for r in own]
            report = self.reports.get(name)
            variant["cache"] = report.to_json() if report else None
        data["ok"] = self.error is None
        data["error"] = self.error.message if self.error else None
        return data


def run_build(
    plan: BuildPlan,
    *,
    console: Console,
    progress: ProgressMode,
    docker_host: str | None = None,
    raw_log: Path | None = None,
    policy: RetryPolicy | None = None,
    builder: str | None = None,
) -> BuildResult:
    policy = policy or RetryPolicy()
    client = engine.make_client(docker_host)
    # Checking the engine first costs four docker calls on every build; a build that fails before
    # its first step is asked why instead (below), which names what is missing and the fix.
    engine.require_docker_command(client)
    tracker = BuildTracker(
        [v.name for v in plan.variants], {v.name: v.platforms for v in plan.variants}
    )
    error: BuildFailed | None = None
    metadata: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="buildcache-") as tmp:
        bake_file = Path(tmp) / "docker-bake.json"
        bake_file.write_text(bake_file_text(plan))
        metadata_file = Path(tmp) / "metadata.json"
        with progress_view(progress, console) as view, _raw_log(raw_log) as raw:

            def on_line(line: str) -> None:
                if raw is not None:
                    raw.write(line)
                view.handle(tracker.feed_line(line))

            try:
                metadata = engine.run_bake(
                    client,
                    bake_file=bake_file,
                    metadata_file=metadata_file,
                    on_line=on_line,
                    builder=builder,
                )
            except BuildFailed as failure:
                if not tracker.steps():
                    engine.require_engine(
                        client,
                        needs_cache_export=any(v.cache_to for v in plan.variants),
                        platforms={p for v in plan.variants for p in v.platforms},
                        builder=builder,
                    )
                error = failure
                metadata = engine.read_metadata(metadata_file)
        tracker.decoder.close()
    reports = {
        v.name: cache_report(
            tracker,
            variant=v.name,
            cache_from=[s.split("ref=", 1)[1].split(",", 1)[0] for s in v.cache_from],
            cache_to=v.cache_ref if v.cache_to else None,
            cache_to_mode=_option(v.cache_to[0], "mode") if v.cache_to else None,
            export_skipped_reason="not pushing (--cache-write writes it anyway)",
            metadata=metadata.get(v.name),
            build_failed=error is not None,
        )
        for v in plan.variants
    }
    failed = tracker.failed_steps()
    published: list[TagResult] = []
    if error is not None:
        error = BuildFailed(_failure_message(failed, tracker) or error.message)
    elif plan.push and not plan.push_by_digest:
        published = publish(plan, metadata, client=client, console=console, policy=policy)
        if any(r.status != "done" for r in published):
            error = BuildFailed(
                "the images were built, but not every tag was published (the table above says which)",
                hint="run the same command again: it builds from the cache and copies by digest what is missing",
            )
    return BuildResult(
        plan=plan,
        reports=reports,
        metadata=metadata,
        failed=failed,
        steps=tracker.steps(),
        published=published,
        error=error,
    )


def steps_after_push(plan: BuildPlan, sources: dict[str, list[str]]) -> list[PublishStep]:
    """What publishing copies by digest after the build's own push: every step but those whose
    tags that push already wrote (all of them, where there is only one image)."""
    pushed = {ref for v in plan.variants for ref in v.push_tags}
    return [
        step
        for step in publish_steps(plan.variants, sources, first_done=True)
        if not {f"{step.image}:{tag}" for tag in step.tags} <= pushed
    ]


def publish(
    plan: BuildPlan,
    metadata: dict[str, Any],
    *,
    client: DockerClient,
    console: Console,
    policy: RetryPolicy,
) -> list[TagResult]:
    """After the build's push to the first image: copy by digest to the others, moving tags last."""
    sources = {}
    for variant in plan.variants:
        digest = (metadata.get(variant.name) or {}).get("containerimage.digest")
        if not digest:
            raise BuildFailed(f"buildx reported no digest for {variant.name}; nothing was copied")
        sources[variant.name] = [f"{variant.push_tags[0].rpartition(':')[0]}@{digest}"]
    results = [
        TagResult(v.name, ref.rpartition(":")[0], ref.rpartition(":")[2], "done", None, 1)
        for v in plan.variants
        for ref in v.push_tags
    ]
    publisher = Publisher(
        copy=lambda src, targets: engine.copy_image(client, list(src), list(targets)),
        policy=policy,
        sleep=time.sleep,
        on_event=lambda message: console.print(Text(f"retry: {message}", style="yellow")),
    )
    return results + publisher.run(steps_after_push(plan, sources))


@contextmanager
def _raw_log(path: Path | None) -> Iterator[TextIO | None]:
    if path is None:
        yield None
        return
    with path.open("w", encoding="utf-8") as stream:
        yield stream


def _option(cache_string: str, key: str) -> str | None:
    for part in cache_string.split(","):
        name, _, value = part.partition("=")
        if name == key:
            return value
    return None


def _failure_message(failed: list[Vertex], tracker: BuildTracker) -> str | None:
    if failed:
        vertex = failed[0]
        where = " ".join(p for p in (vertex.variant, vertex.platform) if p)
        step = vertex.step_name if vertex.is_step else vertex.text
        return f"the build failed at {where + ': ' if where else ''}{step}: {vertex.error}"
    other = [line for line in tracker.decoder.other_lines if "ERROR" in line or "error" in line]
    return other[-1] if other else None


def print_report(console: Console, result: BuildResult) -> None:
    if result.reports:
        console.print(cache_table(list(result.reports.values())))
    print_publish(console, result.published)
    for warning in cache_warnings(list(result.reports.values())):
        console.print(Text.assemble(("warning: ", "yellow"), warning))


def print_publish(console: Console, published: list[TagResult]) -> None:
    if published:
        console.print(publish_table(published))
